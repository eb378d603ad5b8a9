// fromMedia on generated files: per-segment image content and audio energy match the known
// schedule exactly; single-modality sources; tails; backpressure; real-time pacing.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { firstValueFrom, lastValueFrom, map, Subject, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromMedia, type MediaOptions } from '../../src/streams/fromMedia.js';
import type { Segment } from '../../src/types.js';
import {
  childPids,
  lavfiSource,
  makeTestMedia,
  meanRgb,
  rms,
  tempDir,
  type TestMediaSpec,
} from '../helpers/media.js';
import { eventually } from './recorder.js';

const small: MediaOptions = { width: 32, height: 24, fps: 8, sampleRate: 16000 };
const collect = (source: string, options: MediaOptions = {}) =>
  lastValueFrom(fromMedia(source, { ...small, ...options }).pipe(toArray()));

// 6 s: white frames in [1, 2), red in [3, 5); a 440 Hz tone (amplitude 0.5) in [2, 4).
const schedule: TestMediaSpec = {
  seconds: 6,
  video: {
    boxes: [
      { from: 1, to: 2, color: 'white' },
      { from: 3, to: 5, color: 'red' },
    ],
  },
  audio: { channels: 2, tones: [{ from: 2, to: 4 }] },
};
const colourAt = (k: number) => (k === 1 ? 'white' : k === 3 || k === 4 ? 'red' : 'black');
const toneAt = (k: number) => k === 2 || k === 3;

function classify(frame: Uint8Array): string {
  const [r, g, b] = meanRgb(frame);
  if (r > 200 && g > 200 && b > 200) return 'white';
  if (r > 200 && g < 40 && b < 40) return 'red';
  if (r < 20 && g < 20 && b < 20) return 'black';
  return `other(${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)})`;
}

/** Checks every frame and every second of audio against the schedule. */
function expectSchedule(segments: Segment[], offToneMax: number) {
  expect(segments.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
  for (const s of segments) {
    expect([s.t0, s.t1]).toEqual([s.index, s.index + 1]);
    expect(s.frames!.map(classify)).toEqual(Array(8).fill(colourAt(s.index)));
    expect(s.audio).toHaveLength(16000);
    const energy = rms(s.audio!);
    if (toneAt(s.index)) expect(energy).toBeCloseTo(0.5 / Math.SQRT2, 2);
    else expect(energy).toBeLessThan(offToneMax);
  }
}

const tmp = tempDir();
let mkv = '';
let mp4 = '';
beforeAll(async () => {
  [mkv, mp4] = await Promise.all([
    makeTestMedia(tmp.file('schedule.mkv'), schedule, { container: 'mkv' }),
    makeTestMedia(tmp.file('schedule.mp4'), schedule),
  ]);
});
afterAll(() => tmp.remove());

describe('fromMedia on files', () => {
  it('matches the schedule exactly with sample-exact audio (H.264 + PCM in MKV)', async () => {
    const segments = await collect(mkv);
    expectSchedule(segments, 1e-3);
    expect(segments.every((s) => s.frames!.every((f) => f.length === 32 * 24 * 3))).toBe(true);
    expect(segments.some((s) => s.partial || s.discontinuity)).toBe(false);
  });

  it('decodes the same with one decoder thread (decodeThreads, as avvp serve runs)', async () => {
    const segments = await collect(mkv, { decodeThreads: 1 });
    expectSchedule(segments, 1e-3);
    const reference = await collect(mkv);
    expect(segments.map((s) => s.frames!.map((f) => classify(f)).join())).toEqual(
      reference.map((s) => s.frames!.map((f) => classify(f)).join()),
    );
  });

  it('decodeNice lowers the priority of the ffmpeg process (and only of it)', async () => {
    const niceOfChildren = () =>
      execFileSync('ps', ['-o', 'ni=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('ffmpeg'))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    const seen = await firstValueFrom(
      fromMedia(lavfiSource({ seconds: 30 }), { ...small, decodeNice: 7 }).pipe(map(() => niceOfChildren())),
    );
    expect(seen).toEqual([7]);
    expect(os.getPriority()).toBe(0);
  });

  it('centreCrop keeps the aspect ratio and cuts the sides; the default stretches the whole frame', async () => {
    // 320x240: red bands 40 px wide at both sides of a black 240x240 centre
    const source =
      'lavfi:color=c=red:s=320x240:r=8:d=1,drawbox=x=40:y=0:w=240:h=240:color=black:t=fill[out0]';
    const redShare = async (options: MediaOptions) => {
      const [segment] = await collect(source, { ...options, width: 32, height: 32, audio: false });
      return meanRgb(segment.frames![0])[0] / 255;
    };
    expect(await redShare({})).toBeGreaterThan(0.2); // 80 of 320 columns
    expect(await redShare({ centreCrop: true })).toBeLessThan(0.02);
  });

  it('matches the schedule with AAC, drops the encoder-padding tail, and fills a second rate', async () => {
    const segments = await collect(mp4, { sampleRateHi: 48000 });
    expectSchedule(segments, 0.05);
    for (const s of segments) {
      expect(s.sampleRateHi).toBe(48000);
      expect(s.audioHi).toHaveLength(48000);
      expect(rms(s.audioHi!)).toBeCloseTo(rms(s.audio!), 2);
    }
  });

  it('names the stream and anchors the wall clock at the start for files', async () => {
    const before = Date.now();
    const segments = await collect(mkv, { stream: 'cam1' });
    expect(segments.every((s) => s.stream === 'cam1')).toBe(true);
    const start = segments[0].wallclock;
    expect(start).toBeGreaterThanOrEqual(before);
    expect(segments.map((s) => s.wallclock - start)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(segments[0]).toMatchObject({ width: 32, height: 24, fps: 8, sampleRate: 16000 });
  });

  it('gives null audio for a video-only source and null frames for an audio-only one', async () => {
    const [videoOnly, audioOnly] = await Promise.all([
      makeTestMedia(tmp.file('video.mp4'), { ...schedule, audio: false }),
      makeTestMedia(tmp.file('audio.mp4'), { ...schedule, video: false }),
    ]);
    const v = await collect(videoOnly);
    expect(v.map((s) => s.audio)).toEqual(Array(6).fill(null));
    expect(v.map((s) => classify(s.frames![4]))).toEqual([0, 1, 2, 3, 4, 5].map(colourAt));
    const a = await collect(audioOnly);
    expect(a.map((s) => s.frames)).toEqual(Array(6).fill(null));
    expect(a.map((s) => rms(s.audio!) > 0.3)).toEqual([0, 1, 2, 3, 4, 5].map(toneAt));
  });

  it('skips a modality on request and fails clearly when a required one is missing', async () => {
    const segments = await collect(mkv, { audio: false });
    expect(segments.every((s) => s.audio === null && s.frames !== null)).toBe(true);
    const audioOnly = await makeTestMedia(
      tmp.file('only-audio.mkv'),
      { seconds: 2, video: false },
      { container: 'mkv' },
    );
    await expect(collect(audioOnly, { video: true })).rejects.toThrow(/has no video stream \(video: true/);
  });

  it('keeps a final second of >= 0.5 s (padded, partial) and drops a shorter one', async () => {
    const long = await collect(lavfiSource({ seconds: 2.6, audio: { tones: [{ from: 0, to: 3 }] } }));
    expect(long.map((s) => s.partial ?? false)).toEqual([false, false, true]);
    const tail = long[2];
    expect(tail.frames).toHaveLength(8);
    expect(rms(tail.audio!.subarray(0, 9000))).toBeGreaterThan(0.3); // 0.6 s of tone...
    expect(rms(tail.audio!.subarray(10000))).toBe(0); // ...then zero padding
    const short = await collect(lavfiSource({ seconds: 2.3 }));
    expect(short.map((s) => s.index)).toEqual([0, 1]);
  });

  it('backpressure: a slow consumer pauses decoding and nothing is dropped', async () => {
    const consumed = new Subject<void>();
    const received: Segment[] = [];
    let acking = false;
    const source = lavfiSource({ seconds: 40 }); // decodes in a fraction of a second when not paused
    const done = new Promise<void>((resolve, reject) =>
      fromMedia(source, { ...small, consumed, maxPending: 1 }).subscribe({
        next: (s) => {
          received.push(s);
          if (acking) setTimeout(() => consumed.next(), 2); // an asynchronous consumer
        },
        error: reject,
        complete: resolve,
      }),
    );
    await eventually(() => received.length > 0);
    await new Promise((r) => setTimeout(r, 1000));
    // While the first segment is unacknowledged, ffmpeg stays blocked on its pipes: still
    // running (40 s of this input decode in a fraction of a second otherwise), one segment out.
    expect(received).toHaveLength(1);
    expect(await childPids()).toHaveLength(1);
    acking = true;
    consumed.next();
    await done;
    expect(received.map((s) => s.index)).toEqual([...Array(40).keys()]);
    expect(received.some((s) => s.discontinuity)).toBe(false);
  });

  it('realtime: no segment is delivered before its end time', async () => {
    const arrivals: { t1: number; late: number }[] = [];
    await new Promise<void>((resolve, reject) =>
      fromMedia(lavfiSource({ seconds: 2 }), { ...small, realtime: true }).subscribe({
        // wallclock is the start of the segment on the run's clock: it is due one second later
        next: (s) => arrivals.push({ t1: s.t1, late: Date.now() - (s.wallclock + 1000) }),
        error: reject,
        complete: resolve,
      }),
    );
    expect(arrivals.map((a) => a.t1)).toEqual([1, 2]);
    for (const a of arrivals) expect(a.late).toBeGreaterThanOrEqual(-2);
  });
});
