// Segments -> Features through injected audio and visual encoders (the runtime backs them with the
// worker pool and the bundled or CLIP/CLAP encoders). Segments are batched first (across streams when
// the input is merged), each modality's encoder is called once per batch, and both run at the same
// time. A modality the segment lacks stays absent in its Features: no fake silence, no black frames.
import type { OperatorFunction } from 'rxjs';
import type { Features, Segment } from '../types.js';
import { batch, type BatchOptions } from './batch.js';

/** One embedding per segment, in order. Receives only segments that have audio. */
export type AudioEncoder = (segments: readonly Segment[]) => Promise<Float32Array[]>;

export interface VisualEncoding {
  visual: Float32Array;
  /** Spatial map, row-major h x w x Dm, for localization. */
  visualMap?: Float32Array;
  mapShape?: [number, number, number];
}

/** One encoding per segment, in order. Receives only segments that have frames. */
export type VisualEncoder = (segments: readonly Segment[]) => Promise<VisualEncoding[]>;

export interface Encoders {
  audio?: AudioEncoder;
  visual?: VisualEncoder;
}

/** A batch function: encodes a batch of segments with both encoders concurrently. */
export function encodeBatch(encoders: Encoders): (segments: Segment[]) => Promise<Features[]> {
  if (!encoders.audio && !encoders.visual) {
    throw new Error('encode: no encoder given; pass an audio encoder, a visual encoder or both');
  }
  return async (segments) => {
    const withAudio = encoders.audio ? segments.filter((s) => s.audio !== null) : [];
    const withFrames = encoders.visual ? segments.filter((s) => s.frames !== null) : [];
    const [audio, visual] = await Promise.all([
      withAudio.length > 0 ? encoders.audio!(withAudio) : [],
      withFrames.length > 0 ? encoders.visual!(withFrames) : [],
    ]);
    checkCount('audio', audio.length, withAudio.length);
    checkCount('visual', visual.length, withFrames.length);
    const audioOf = new Map(withAudio.map((s, i) => [s, audio[i]]));
    const visualOf = new Map(withFrames.map((s, i) => [s, visual[i]]));
    return segments.map((s): Features => {
      const v = visualOf.get(s);
      return {
        stream: s.stream,
        index: s.index,
        t0: s.t0,
        t1: s.t1,
        wallclock: s.wallclock,
        ...(audioOf.has(s) ? { audio: audioOf.get(s) } : {}),
        ...(v ? { visual: v.visual } : {}),
        ...(v?.visualMap ? { visualMap: v.visualMap, mapShape: v.mapShape } : {}),
        ...(s.discontinuity ? { discontinuity: true } : {}),
      };
    });
  };
}

/** Operator: Segment -> Features, batched (defaults of `batch`: up to 8 segments, 10 ms wait). */
export function encode(encoders: Encoders, options: BatchOptions = {}): OperatorFunction<Segment, Features> {
  return batch(encodeBatch(encoders), options);
}

function checkCount(modality: string, got: number, expected: number): void {
  if (got !== expected) {
    throw new Error(
      `encode: the ${modality} encoder returned ${got} embeddings for ${expected} segments; ` +
        'it must return one per segment, in order',
    );
  }
}
