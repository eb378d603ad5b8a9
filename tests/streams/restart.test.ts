// Restarts of finite sources (issue 13, item 6): a paced (realtime) file or lavfi graph whose
// ffmpeg stalls is killed by the watchdog and started again with the live backoff, indices
// continuing (a file resumes at the first second it had not delivered); the end of the input still
// ends the stream. The stall is real: the ffmpeg process is stopped with SIGSTOP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaOptions } from '../../src/streams/fromMedia.js';
import { childPids, lavfiSource, makeTestMedia, meanRgb, pidExists, tempDir } from '../helpers/media.js';
import { Recorder, eventually } from './recorder.js';

const fast: MediaOptions = {
  width: 32,
  height: 24,
  fps: 8,
  sampleRate: 16000,
  realtime: true,
  watchdogMs: 800,
  backoff: { initialMs: 100, maxMs: 400, factor: 2, jitter: 0 },
};

/** Stops the one ffmpeg child there is (SIGSTOP) and returns its PID. */
async function stallFfmpeg(): Promise<number> {
  const pids = await childPids();
  expect(pids).toHaveLength(1);
  process.kill(pids[0]!, 'SIGSTOP');
  return pids[0]!;
}

function expectContiguous(indices: number[]) {
  expect(indices).toEqual(Array.from({ length: indices.length }, (_, i) => i));
}

const tmp = tempDir('avvp-restart-');
let mp4 = '';
beforeAll(async () => {
  // White frames in seconds [3, 5), black elsewhere: a resumed file must continue the schedule.
  mp4 = await makeTestMedia(tmp.file('clip.mp4'), {
    seconds: 7,
    video: { boxes: [{ from: 3, to: 5, color: 'white' }] },
    audio: { channels: 1, tones: [] },
  });
});
afterAll(() => tmp.remove());

describe('finite sources killed by the watchdog', () => {
  it('a realtime lavfi graph (the demo loop) restarts with backoff and continuous indices', async () => {
    const rec = new Recorder(lavfiSource({ seconds: 60 }), fast);
    try {
      await rec.until('two segments', () => rec.segments.length >= 2);
      const stalled = await stallFfmpeg();
      await rec.until('down by the watchdog', () =>
        rec.statuses.some((s) => s.state === 'down' && /watchdog/.test(s.reason ?? '')),
      );
      // Counted when the source goes down: the restarted ffmpeg needs a real-time second to deliver.
      const before = rec.segments.length;
      const reconnecting = rec.statuses.find((s) => s.state === 'reconnecting');
      expect(reconnecting?.reason).toMatch(
        /^restart 1 in 0\.1 s \(no data for 0\.8 s \(watchdog killed ffmpeg\)\)$/,
      );
      expect(await eventually(() => !pidExists(stalled), 5000)).toBe(true);
      await rec.until('three segments after the restart', () => rec.segments.length >= before + 3, 15_000);
      expect(rec.error).toBeNull();
      expectContiguous(rec.segments.map((s) => s.index));
      // The first segment of the restarted run is marked (a tail of the killed run may come first).
      const resumed = rec.segments.findIndex((seg) => seg.discontinuity === true);
      expect(resumed).toBeGreaterThanOrEqual(before);
      expect(resumed).toBeLessThanOrEqual(before + 1);
      const up = rec.statuses.filter((s) => s.state === 'up');
      expect(up.at(-1)!.restarts).toBe(1);
      expect(rec.states()).not.toContain('ended');
    } finally {
      rec.stop();
    }
  }, 40_000);

  it('a realtime file resumes where it stopped and then ends', async () => {
    const rec = new Recorder(mp4, fast);
    try {
      await rec.until('two segments', () => rec.segments.length >= 2);
      await stallFfmpeg();
      await rec.until('the end of the file', () => rec.completed, 30_000);
      expect(rec.error).toBeNull();
      const states = rec.states();
      expect(states.slice(-1)).toEqual(['ended']);
      expect(states).toContain('reconnecting');
      // Every second once, in order; the content follows the file's schedule across the restart.
      expectContiguous(rec.segments.map((s) => s.index));
      expect(rec.segments.at(-1)!.index).toBe(6);
      for (const s of rec.segments.filter((seg) => !seg.partial)) {
        const white = s.index === 3 || s.index === 4;
        const mean = meanRgb(s.frames![4]!)[0];
        expect(white ? mean > 200 : mean < 30, `second ${s.index}: mean red ${mean}`).toBe(true);
      }
    } finally {
      rec.stop();
    }
  }, 40_000);

  it('without realtime (offline reading) a stall is still an error', async () => {
    const rec = new Recorder(lavfiSource({ seconds: 60 }), { ...fast, realtime: false, maxPending: 1 });
    try {
      await rec.until('a segment', () => rec.segments.length >= 1);
      await stallFfmpeg();
      await eventually(() => rec.error !== null, 15_000);
      expect(rec.error?.message).toMatch(/no data from .*watchdog/);
      expect(rec.states()).not.toContain('reconnecting');
    } finally {
      rec.stop();
    }
  }, 30_000);
});
