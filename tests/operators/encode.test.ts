import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { encode, encodeBatch, type AudioEncoder, type VisualEncoder } from '../../src/operators/encode.js';
import type { Segment } from '../../src/types.js';

function segment(stream: string, index: number, has: { audio?: boolean; video?: boolean } = {}): Segment {
  const sampleRate = 16;
  return {
    stream,
    index,
    t0: index,
    t1: index + 1,
    wallclock: 1000 * index,
    audio: has.audio === false ? null : new Float32Array(sampleRate).fill(index / 10),
    frames: has.video === false ? null : [new Uint8Array(2 * 2 * 3).fill(index)],
    sampleRate,
    width: 2,
    height: 2,
    fps: 1,
  };
}

/** Real (if tiny) encoders: mean PCM level, mean pixel value. Each records its batch sizes. */
function encoders() {
  const calls = { audio: [] as number[], visual: [] as number[] };
  const audio: AudioEncoder = async (segments) => {
    calls.audio.push(segments.length);
    return segments.map((s) => Float32Array.of(s.audio!.reduce((a, b) => a + b, 0) / s.audio!.length));
  };
  const visual: VisualEncoder = async (segments) => {
    calls.visual.push(segments.length);
    return segments.map((s) => ({
      visual: Float32Array.of(s.frames![0].reduce((a, b) => a + b, 0) / s.frames![0].length),
      visualMap: new Float32Array(4).fill(s.index),
      mapShape: [2, 2, 1] as [number, number, number],
    }));
  };
  return { calls, audio, visual };
}

describe('encode', () => {
  it('turns segments into features with both modalities, in order, in batches', async () => {
    const { calls, audio, visual } = encoders();
    const input = [segment('a', 0), segment('b', 0), segment('a', 1), segment('b', 1), segment('a', 2)];
    const out = await lastValueFrom(from(input).pipe(encode({ audio, visual }, { maxBatch: 2 }), toArray()));
    expect(out.map((f) => `${f.stream}:${f.index}`)).toEqual(['a:0', 'b:0', 'a:1', 'b:1', 'a:2']);
    expect(out[2]).toMatchObject({
      stream: 'a',
      index: 1,
      t0: 1,
      t1: 2,
      wallclock: 1000,
      mapShape: [2, 2, 1],
    });
    expect(out[2].audio![0]).toBeCloseTo(0.1);
    expect(out[2].visual![0]).toBe(1);
    expect(Array.from(out[2].visualMap!)).toEqual([1, 1, 1, 1]);
    expect(calls.audio).toEqual([2, 2, 1]);
    expect(calls.visual).toEqual([2, 2, 1]);
  });

  it('leaves a missing modality absent and only sends encoders the segments that have it', async () => {
    const { calls, audio, visual } = encoders();
    const run = encodeBatch({ audio, visual });
    const out = await run([segment('mute', 0, { audio: false }), segment('dark', 0, { video: false })]);
    expect(out[0].audio).toBeUndefined();
    expect(out[0].visual).toBeDefined();
    expect(out[1].audio).toBeDefined();
    expect(out[1].visual).toBeUndefined();
    expect(calls).toEqual({ audio: [1], visual: [1] });
  });

  it('works with a single encoder and carries the discontinuity flag', async () => {
    const { audio } = encoders();
    const seg = { ...segment('cam', 3), discontinuity: true };
    const [f] = await encodeBatch({ audio })([seg]);
    expect(f.visual).toBeUndefined();
    expect(f.discontinuity).toBe(true);
  });

  it('rejects no encoders and encoders that return the wrong number of embeddings', async () => {
    expect(() => encodeBatch({})).toThrow(/no encoder given/);
    const short: AudioEncoder = async () => [];
    await expect(encodeBatch({ audio: short })([segment('cam', 0)])).rejects.toThrow(
      /audio encoder returned 0 embeddings for 1 segments/,
    );
    const failing: VisualEncoder = async () => {
      throw new Error('visual model failed');
    };
    await expect(
      lastValueFrom(from([segment('cam', 0)]).pipe(encode({ visual: failing }), toArray())),
    ).rejects.toThrow('visual model failed');
  });
});
