// `avvp probe` through the real CLI on generated media.
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningCli, runAvvp } from '../helpers/cli.js';
import { makeTestMedia, pidExists, tempDir } from '../helpers/media.js';

const avvp = (...args: string[]) => runAvvp(['probe', ...args]);

const tmp = tempDir();
let clip = '';
beforeAll(async () => {
  // 3 s: red frames in [1, 2), a tone in [2, 3)
  clip = await makeTestMedia(
    tmp.file('clip.mkv'),
    {
      seconds: 3,
      video: { width: 160, height: 120, fps: 24, boxes: [{ from: 1, to: 2, color: 'red' }] },
      audio: { sampleRate: 44100, channels: 2, tones: [{ from: 2, to: 3, amplitude: 0.5 }] },
    },
    { container: 'mkv' },
  );
});
afterAll(() => tmp.remove());

describe('avvp probe', () => {
  it('--json: one object per segment in the documented shape, then a summary on stderr', async () => {
    const { code, stdout, stderr } = await avvp(clip, '--json');
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const [k, line] of lines.entries()) {
      expect(Object.keys(line)).toEqual(['index', 't0', 't1', 'audio', 'video']);
      expect(line).toMatchObject({ index: k, t0: k, t1: k + 1 });
      expect(Object.keys(line.audio)).toEqual(['samples', 'rms']);
      expect(Object.keys(line.video)).toEqual(['frames', 'meanLuma', 'meanRGB']);
      expect(line.audio.samples).toBe(16000);
      expect(line.video.frames).toBe(8);
    }
    expect(lines.map((l) => l.audio.rms > 0.3)).toEqual([false, false, true]);
    const [r, g, b] = lines[1].video.meanRGB;
    expect(r).toBeGreaterThan(200);
    expect(g + b).toBeLessThan(60);
    expect(lines[1].video.meanLuma).toBeCloseTo(0.299 * r + 0.587 * g + 0.114 * b, 1);
    expect(lines[0].video.meanLuma).toBeLessThan(5);
    expect(stderr).toMatch(/summary: 3 segments/);
    expect(stderr).toMatch(/video: h264 160x120 24 fps/);
    expect(stderr).toMatch(/audio: pcm_s16le 44100 Hz stereo/);
    expect(stderr).toMatch(/reconnects: 0, dropped: 0/);
  });

  it('text output with --seconds, and null for a missing modality', async () => {
    const videoOnly = await makeTestMedia(tmp.file('v.mp4'), { seconds: 3, audio: false });
    const { code, stdout } = await avvp(videoOnly, '--seconds', '2');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#0 \[0, 1\) audio null \| video 8 frames luma \d+\.\d rgb [\d. ]+$/);
    expect(lines[1]).toMatch(/^#1 \[1, 2\)/);
    expect(lines[2]).toBe('summary: 2 segments');
    expect(stdout).toMatch(/audio: none/);
  });

  it('Ctrl-C (SIGINT): stops the source, kills its ffmpeg, prints the summary and exits 0', async () => {
    // An hour-long lavfi source, marked so that its ffmpeg can be found among all processes.
    const marker = `d=3599.${process.pid}`;
    const cli = new RunningCli(['probe', `lavfi:testsrc2=s=64x48:${marker}[out0];sine=${marker}[out1]`]);
    await cli.waitFor(/#1 \[1, 2\)/);
    const ffmpegPids: number[] = [];
    for (const entry of await readdir('/proc')) {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (/^\d+$/.test(entry) && cmdline.includes(marker) && !cmdline.includes('src/cli/main.ts'))
        ffmpegPids.push(Number(entry));
    }
    expect(ffmpegPids).toHaveLength(1);
    cli.signal('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toMatch(/\nsummary: \d+ segments\n {2}format: lavfi\n/);
    expect(cli.stdout).toMatch(/reconnects: 0, dropped: 0\n$/);
    expect(pidExists(ffmpegPids[0])).toBe(false);
  });

  it('bad source and bad flags: clear message and exit code', async () => {
    const missing = await avvp(tmp.file('nope.mp4'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^avvp probe: no such file: '.*nope\.mp4'/);
    const flag = await avvp(clip, '--seconds', 'many');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--seconds must be a number, got 'many'/);
    const none = await avvp();
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/expected one <source>/);
  });
});
