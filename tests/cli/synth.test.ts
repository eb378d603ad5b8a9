// `avvp synth` through the real CLI: outputs, byte-identical reruns (MP4 included), progress, and
// every bad flag answered with a message that names it.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAvvp } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('synth-cli-');

const avvp = (args: string[], env?: NodeJS.ProcessEnv) => runAvvp(['synth', ...args], { env });

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

let dir: string;
beforeAll(async () => {
  dir = await tmp();
});

describe('avvp synth', () => {
  it('writes a split with MP4s, and the same seed rewrites it byte for byte', async () => {
    const args = [
      '--clips',
      '2',
      '--split',
      'test',
      '--seed',
      '77',
      '--duration',
      '3',
      '--mp4',
      '--preset',
      'hard',
    ];
    const [a, b] = await Promise.all([
      avvp([...args, '--out', path.join(dir, 'a')]),
      avvp([...args, '--out', path.join(dir, 'b')]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stdout).toBe(`wrote 2 test clips to ${path.join(dir, 'a')}\n`);
    expect(a.stderr).toMatch(/synth test .*2 clips\/2 clips 100\.0%/);
    const files = await listFiles(path.join(dir, 'a'));
    expect(files.filter((f) => f.endsWith('.mp4'))).toHaveLength(2);
    expect(files).toEqual(
      expect.arrayContaining(['AVVP_test_pd.csv', 'AVVP_eval_audio.csv', 'synth_boxes_test.json']),
    );
    expect(await listFiles(path.join(dir, 'b'))).toEqual(files);
    for (const f of files) {
      const same = (await readFile(path.join(dir, 'a', f))).equals(await readFile(path.join(dir, 'b', f)));
      expect(same, f).toBe(true);
    }
  });

  it('answers bad flags with a message naming the flag and exit code 2', async () => {
    const out = path.join(dir, 'bad');
    const notFolder = path.join(dir, 'file.txt');
    await writeFile(notFolder, 'x');
    const badJson = path.join(dir, 'bad.json');
    await writeFile(badJson, '{"from":');
    const badRule = path.join(dir, 'rule.json');
    await writeFile(
      badRule,
      JSON.stringify([{ from: 'Car', when: 'visual', to: 'Unicorn', then: 'audio', p: 0.5 }]),
    );
    const cases: [string[], RegExp][] = [
      [['--out', out], /--clips is required/],
      [['--clips', '3'], /--out is required/],
      [['--clips', '0', '--out', out], /--clips must be >= 1/],
      [['--clips', 'many', '--out', out], /--clips must be a number, got 'many'/],
      [['--clips', '1', '--out', out, '--split', 'dev'], /--split must be train, val or test, got 'dev'/],
      [['--clips', '1', '--out', out, '--preset', 'brutal'], /--preset must be one of easy, default, hard/],
      [['--clips', '1', '--out', out, '--seed=-4'], /--seed must be >= 0/],
      [['--clips', '1', '--out', out, '--seed', '4294967296'], /--seed must be <= 4294967295/],
      [['--clips', '1', '--out', out, '--off-boundary', '1.5'], /--off-boundary must be <= 1/],
      [['--clips', '1', '--out', out, '--sample-rate-hi', '44.1'], /--sample-rate-hi must be an integer/],
      [['--clips', '1', '--out', out, '--pseudo-noise', '0.1,0.2'], /--pseudo-noise needs three/],
      [['--clips', '1', '--out', out, '--colour'], /Unknown option '--colour'/],
      [['--clips', '1', '--out', notFolder], /--out '.*file\.txt' exists and is not a folder/],
      [
        ['--clips', '1', '--out', out, '--interactions', path.join(dir, 'nope.json')],
        /--interactions: cannot read .*ENOENT/,
      ],
      [
        ['--clips', '1', '--out', out, '--interactions', badJson],
        /--interactions: .*bad\.json' is not valid JSON/,
      ],
      [['--clips', '1', '--out', out, '--interactions', badRule], /entry 0: 'to' must be one of/],
    ];
    const results = await Promise.all(cases.map(([args]) => avvp(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(2);
      expect(r.stderr, cases[i][0].join(' ')).toMatch(cases[i][1]);
      expect(r.stderr).toMatch(/Run 'avvp synth --help' for usage/);
    });
    expect((await listFiles(dir)).some((f) => f.startsWith(`bad${path.sep}`))).toBe(false);
  });

  it('fails with exit code 1 and a clear message when ffmpeg is missing for --mp4', async () => {
    const out = path.join(dir, 'noffmpeg');
    const r = await avvp(['--clips', '1', '--out', out, '--mp4'], {
      ...process.env,
      FFMPEG_PATH: path.join(dir, 'nope'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/avvp synth: FFMPEG_PATH is set to '.*nope', which is not an executable file/);
    expect(await readdir(dir)).not.toContain('noffmpeg');
  });

  it('refuses to merge into a malformed LLP dense file already in the folder (exit 1, file and line)', async () => {
    const out = path.join(dir, 'malformed');
    await mkdir(out);
    await writeFile(
      path.join(out, 'AVVP_eval_visual.csv'),
      'filename\tonset\toffset\tevent_labels\nx_0_10\t0\n',
    );
    const r = await avvp(['--clips', '1', '--split', 'val', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/avvp synth: .*AVVP_eval_visual\.csv:2: expected 4 fields, found 2/);
  });

  it('prints its usage with --help', async () => {
    const r = await avvp(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: avvp synth --clips N --out DIR/);
  });
});
