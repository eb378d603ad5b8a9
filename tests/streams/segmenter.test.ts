import { describe, expect, it } from 'vitest';
import { Segmenter, type SegmentData } from '../../src/streams/segmenter.js';

// Layout: 2x1 pixels at 2 fps (6 bytes per frame, 12 per second) and 4 Hz audio (16 bytes per second).
const layout = { video: { width: 2, height: 1, fps: 2 }, audioRates: [4] };
const options = { maxSkewSeconds: 2, tailMinSeconds: 0.5 };

/** Video bytes whose value is the frame number; audio samples whose value is the sample number. */
function videoBytes(frames: number, first = 0): Uint8Array {
  const out = new Uint8Array(frames * 6);
  for (let f = 0; f < frames; f++) out.fill(first + f, f * 6, (f + 1) * 6);
  return out;
}
function audioBytes(samples: number, first = 0): Uint8Array {
  const f = new Float32Array(samples);
  for (let i = 0; i < samples; i++) f[i] = first + i;
  return new Uint8Array(f.buffer);
}
/** Pushes `bytes` in chunks of `size` and collects the completed seconds. */
function feed(s: Segmenter, channel: number, bytes: Uint8Array, size: number): SegmentData[] {
  const out: SegmentData[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...s.push(channel, bytes.subarray(i, i + size)));
  return out;
}

describe('Segmenter', () => {
  it('cuts exact seconds by byte offset whatever the chunking', () => {
    for (const chunk of [1, 5, 7, 64]) {
      const s = new Segmenter(layout, { ...options, maxSkewSeconds: 10 }); // all video is fed before audio
      const out = [...feed(s, 0, videoBytes(6), chunk), ...feed(s, 1, audioBytes(12), chunk)];
      out.push(...s.end(0), ...s.end(1), ...s.finish());
      expect(out.map((d) => d.second)).toEqual([0, 1, 2]);
      out.forEach((d, k) => {
        expect(d.frames!.map((f) => f[0])).toEqual([2 * k, 2 * k + 1]);
        expect(Array.from(d.audio[0]!)).toEqual([4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);
        expect(d.partial).toBe(false);
      });
    }
  });

  it('waits for every output before emitting a second', () => {
    const s = new Segmenter(layout, options);
    expect(s.push(0, videoBytes(4))).toEqual([]);
    const out = s.push(1, audioBytes(4));
    expect(out).toHaveLength(1);
    expect(s.bufferedSeconds()).toBe(1);
  });

  it('pads a final second of at least tailMinSeconds and flags it partial', () => {
    const s = new Segmenter(layout, options);
    feed(s, 0, videoBytes(3), 64); // 1.5 s of video
    const out = [...feed(s, 1, audioBytes(7), 64), ...s.finish()]; // 1.75 s of audio
    expect(out).toHaveLength(2);
    const tail = out[1];
    expect(tail.partial).toBe(true);
    expect(tail.frames!.map((f) => f[0])).toEqual([2, 2]); // last frame repeated
    expect(Array.from(tail.audio[0]!)).toEqual([4, 5, 6, 0]); // zero padded
  });

  it('drops a final second shorter than tailMinSeconds (e.g. encoder padding)', () => {
    const s = new Segmenter(layout, options);
    feed(s, 0, videoBytes(2), 64);
    const out = [...feed(s, 1, audioBytes(5), 64), ...s.finish()]; // 0.25 s of audio left over
    expect(out.map((d) => d.partial)).toEqual([false]);
  });

  it('gives a modality null for seconds after its output ended', () => {
    const s = new Segmenter(layout, options);
    feed(s, 1, audioBytes(4), 64);
    const out = [...s.end(1), ...feed(s, 0, videoBytes(6), 64), ...s.finish()];
    expect(out.map((d) => d.audio[0] === null)).toEqual([false, true, true]);
    expect(out.every((d) => d.frames !== null)).toBe(true);
  });

  it('bounds memory when one output lags: the lagging second is given up and its late bytes skipped', () => {
    const s = new Segmenter(layout, options);
    const out = feed(s, 0, videoBytes(8), 6); // 4 s of video, no audio yet
    // the leader got maxSkew (2) seconds ahead of second 0, then of second 1
    expect(out.map((d) => d.second)).toEqual([0, 1]);
    expect(out.every((d) => d.audio[0] === null)).toBe(true);
    expect(s.bufferedSeconds()).toBeLessThanOrEqual(options.maxSkewSeconds + 1);
    // audio arrives late: its first two seconds are discarded, second 2 lines up again
    const late = feed(s, 1, audioBytes(16), 64);
    expect(late.map((d) => d.second)).toEqual([2, 3]);
    expect(Array.from(late[0].audio[0]!)).toEqual([8, 9, 10, 11]);
    expect(late[0].frames!.map((f) => f[0])).toEqual([4, 5]);
  });

  it('supports audio-only, video-only and two audio rates', () => {
    const audioOnly = new Segmenter({ video: null, audioRates: [4] }, options);
    const a = [...audioOnly.push(0, audioBytes(8)), ...audioOnly.finish()];
    expect(a.map((d) => d.frames)).toEqual([null, null]);
    const videoOnly = new Segmenter({ video: layout.video, audioRates: [] }, options);
    const v = [...videoOnly.push(0, videoBytes(2)), ...videoOnly.finish()];
    expect(v).toHaveLength(1);
    expect(v[0].audio).toEqual([]);
    const two = new Segmenter({ video: null, audioRates: [4, 8] }, options);
    expect(two.push(0, audioBytes(4))).toEqual([]);
    const d = two.push(1, audioBytes(8));
    expect(d[0].audio.map((x) => x!.length)).toEqual([4, 8]);
  });

  it('hands out frame buffers that do not alias later seconds', () => {
    const s = new Segmenter(layout, options);
    const first = [...s.push(0, videoBytes(2)), ...s.push(1, audioBytes(4))][0];
    const copy = first.frames!.map((f) => Array.from(f));
    s.push(0, videoBytes(2, 50));
    s.push(1, audioBytes(4));
    expect(first.frames!.map((f) => Array.from(f))).toEqual(copy);
  });
});
