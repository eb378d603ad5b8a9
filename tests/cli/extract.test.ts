// `avvp extract` run as a real process: usage errors, bad inputs, a folder with a good and a broken
// video, and a resumed run.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import extract from '../../src/cli/commands/extract.js';
import { parseNpy } from '../../src/datasets/npy.js';
import { RunningCli, runAvvp } from '../helpers/cli.js';
import { makeTestMedia, tempDir } from '../helpers/media.js';

const avvp = (args: string[]) => runAvvp(['extract', ...args]);

const tmp = tempDir('avvp-cli-extract-');
const videos = path.join(tmp.dir, 'videos');
const broken = path.join(videos, 'vidZZZZZZZZZ_0_10.mp4');

beforeAll(async () => {
  await mkdir(videos);
  await makeTestMedia(path.join(videos, 'vidYYYYYYYYY_0_2.mp4'), {
    seconds: 2,
    audio: { tones: [{ from: 0, to: 1 }] },
  });
  await writeFile(broken, 'not a video');
});
afterAll(() => tmp.remove());

/** Polls until `dir` holds a file (the run is under way) or the process is gone. */
async function firstFile(dir: string, child: { exitCode: number | null }): Promise<void> {
  while (child.exitCode === null) {
    const names = await readdir(dir).catch(() => []);
    if (names.some((n) => n.endsWith('.npy'))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('avvp extract', () => {
  it('prints its usage with --help', async () => {
    const r = await avvp(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: avvp extract \(--input DIR\|FILE/);
    expect(r.stdout).toMatch(/--segments N/);
  });

  it('rejects bad flags with exit code 2 and a message naming the flag', async () => {
    const out = ['--out', path.join(tmp.dir, 'unused')];
    const cases: [string[], RegExp][] = [
      [['--input', videos], /--out is required/],
      [['--input', videos, '--synth', '2', ...out], /either --input or --synth, not both/],
      [['--input', videos, '--jobs', 'many', ...out], /--jobs must be a number, got 'many'/],
      [['--input', videos, '--frobnicate', ...out], /Unknown option '--frobnicate'/],
    ];
    const results = await Promise.all(cases.map(([args]) => avvp(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stderr).toMatch(/Run 'avvp extract --help' for usage/);
    });
    // the remaining flag rules in-process (same command object, no process start each)
    const more: [string[], RegExp][] = [
      [out, /--input or --synth is required/],
      [['--input', videos, '--segments', '0', ...out], /--segments must be >= 1, got 0/],
      [['--input', videos, '--split', 'val', ...out], /--split only applies to --synth/],
      [['--synth', '2', ...out], /--synth needs --split train, val or test/],
      [['--synth', '2', '--split', 'dev', ...out], /got 'dev'/],
      [['--synth', '0', '--split', 'val', ...out], /--synth must be >= 1/],
      [['--synth', '2', '--split', 'val', '--preset', 'extreme', ...out], /--preset must be one of/],
      [['--synth', '2', '--split', 'val', '--segments', '5', ...out], /--segments applies to --input only/],
    ];
    for (const [args, message] of more) {
      const failure = extract.run(args);
      await expect(failure, args.join(' ')).rejects.toThrow(message);
      await expect(failure).rejects.toMatchObject({ exitCode: 2 });
    }
  });

  it('fails with exit code 1 on a missing input, a bad models folder or an --out that is a file', async () => {
    const out = path.join(tmp.dir, 'unused');
    const [missing, models, file] = await Promise.all([
      avvp(['--input', path.join(tmp.dir, 'nowhere'), '--out', out]),
      avvp(['--input', videos, '--out', out, '--models', tmp.dir]),
      avvp(['--input', videos, '--out', broken]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/input '.*nowhere' does not exist/);
    expect(models.code).toBe(1);
    expect(models.stderr).toMatch(/no audio-encoder manifest in/);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/exists and is not a folder/);
  });

  it('extracts the good video, reports the broken one (exit 1), then resumes to exit 0', async () => {
    const out = path.join(tmp.dir, 'features');
    const first = await avvp(['--input', videos, '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/skipped '.*vidZZZZZZZZZ_0_10\.mp4': cannot decode/);
    expect(first.stdout).toMatch(
      /^extracted 1, already complete 0, failed 1 of 2 videos -> .*audio \(10, 296\)/m,
    );
    const audio = parseNpy(await readFile(path.join(out, 'audio', 'vidYYYYYYYY.npy')));
    expect(audio.shape).toEqual([10, 296]);

    await rm(broken);
    const second = await avvp(['--input', videos, '--out', out]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^extracted 0, already complete 1, failed 0 of 1 videos/m);
    await writeFile(broken, 'not a video');
  });

  it('stops on SIGINT with whole files only and says how to resume', async () => {
    const out = path.join(tmp.dir, 'interrupted');
    const cli = new RunningCli(['extract', '--synth', '40', '--split', 'train', '--out', out]);
    await firstFile(path.join(out, 'visual'), cli);
    cli.signal('SIGINT');
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/interrupted; run the same command again to resume/);
    const audio = (await readdir(path.join(out, 'audio'))).sort();
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.length).toBeLessThan(40);
    expect(audio.every((n) => /^[A-Za-z0-9_]{11}\.npy$/.test(n))).toBe(true); // no temp files
    for (const name of audio)
      expect(parseNpy(await readFile(path.join(out, 'audio', name))).shape).toEqual([10, 296]);
    const manifest = JSON.parse(await readFile(path.join(out, 'extract.json'), 'utf8')) as {
      videos: unknown[];
    };
    expect(manifest.videos.length).toBeGreaterThan(0);
  });
});
