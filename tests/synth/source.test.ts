// synthSource: the same Segment stream as fromMedia, clip after clip, endless or bounded,
// optionally paced in real time (checked in virtual time).
import { lastValueFrom, Subject, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Segment } from '../../src/types.js';
import { synthClip } from '../../src/synth/clip.js';
import { synthSource } from '../../src/synth/source.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('synthSource', () => {
  it('plays clips back to back as one-second Segments with continuing indices', async () => {
    const options = { seed: 12, duration: 3, sampleRateHi: 48000 };
    const segments = await lastValueFrom(
      synthSource({ ...options, clips: 2, stream: 'cam1' }).pipe(toArray()),
    );
    expect(segments.map((s) => [s.index, s.t0, s.t1])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i, i + 1]));
    for (const s of segments) {
      expect(s).toMatchObject({
        stream: 'cam1',
        sampleRate: 16000,
        sampleRateHi: 48000,
        width: 224,
        height: 224,
        fps: 8,
      });
      expect(s.audio).toHaveLength(16000);
      expect(s.audioHi).toHaveLength(48000);
      expect(s.frames).toHaveLength(8);
      for (const f of s.frames!) expect(f).toHaveLength(224 * 224 * 3);
      expect(s.wallclock - segments[0].wallclock).toBe(s.index * 1000);
    }
    // the second clip's first second is clip 1, second 0 of the library
    const expected: Segment = synthClip(options, 1).segment(0);
    const bytes = (x: Float32Array | Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(segments[3].audio!).equals(bytes(expected.audio!))).toBe(true);
    expected.frames!.forEach((f, j) => expect(bytes(segments[3].frames![j]).equals(bytes(f))).toBe(true));
  });

  it('is endless by default and stops when unsubscribed', async () => {
    const segments = await lastValueFrom(synthSource({ seed: 1, duration: 2 }).pipe(take(5), toArray()));
    expect(segments.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('in real time delivers segment k once k + 1 seconds have passed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const seen: number[] = [];
    const sub = synthSource({ seed: 2, duration: 2, realtime: true }).subscribe((s) => seen.push(s.index));
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([0]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(seen).toEqual([0, 1, 2]);
    sub.unsubscribe();
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('with `consumed`, waits for each acknowledgement before generating more', async () => {
    const done = new Subject<void>();
    const seen: number[] = [];
    const sub = synthSource({ seed: 3, duration: 2, consumed: done, maxPending: 2 }).subscribe((s) =>
      seen.push(s.index),
    );
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    await turns(20);
    expect(seen).toEqual([0, 1]);
    done.next();
    await turns(20);
    expect(seen).toEqual([0, 1, 2]);
    sub.unsubscribe();
  });

  it('rejects bad options when called, not later', () => {
    expect(() => synthSource({ seed: 1, clips: -1 })).toThrow(/clips must be a non-negative integer/);
    expect(() => synthSource({ seed: 1, clips: 1.5 })).toThrow(/clips must be a non-negative integer/);
    expect(() => synthSource({ seed: -3 })).toThrow(/'seed' must be an integer/);
    expect(() => synthSource({ seed: 1, maxPending: 0 })).toThrow(/maxPending must be a positive integer/);
    expect(() => synthSource({ seed: 1, firstClip: -2 })).toThrow(/firstClip must be a non-negative integer/);
  });
});
