// Shared pieces of the encoder tests: real onnxruntime sessions on freshly built graphs, segments
// made from PCM or frames, and signal/image generators.
import {
  buildDspAudioEncoder,
  buildDspVisualEncoder,
  dspAudioEncoder,
  dspVisualEncoder,
  sessionRunner,
} from '../../../src/models/encoders/index.js';
import { openSession } from '../../../src/engine/session.js';
import type { Segment } from '../../../src/types.js';
import { Rng } from '../../../src/util/rng.js';

export async function audioEncoder() {
  const { session } = await openSession(buildDspAudioEncoder(), { providers: ['cpu'], intraOpThreads: 1 });
  return { encode: dspAudioEncoder(sessionRunner(session)), session };
}

export async function visualEncoder() {
  const { session } = await openSession(buildDspVisualEncoder(), { providers: ['cpu'], intraOpThreads: 1 });
  return { encode: dspVisualEncoder(sessionRunner(session)), session };
}

export function segment(
  parts: { audio?: Float32Array | null; frames?: Uint8Array[] | null; index?: number } = {},
): Segment {
  const index = parts.index ?? 0;
  return {
    stream: 'test',
    index,
    t0: index,
    t1: index + 1,
    wallclock: index * 1000,
    audio: parts.audio ?? null,
    frames: parts.frames ?? null,
    sampleRate: 16000,
    width: 224,
    height: 224,
    fps: 8,
  };
}

/** One second at 16 kHz: sum of sines (Hz, amplitude) plus white noise of std `noise`. */
export function tones(partials: [number, number][], noise: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: 16000 }, (_, i) => {
    let x = noise * rng.normal();
    for (const [f, a] of partials) x += a * Math.sin((2 * Math.PI * f * i) / 16000 + f);
    return x;
  });
}

/** White noise whose amplitude follows 1 + depth sin(2 pi rate t). */
export function modulatedNoise(rate: number, depth: number, seed = 2): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from(
    { length: 16000 },
    (_, i) => 0.1 * (1 + depth * Math.sin((2 * Math.PI * rate * i) / 16000)) * rng.normal(),
  );
}

/** Decaying noise bursts (clicks) every `period` samples over a faint noise floor. */
export function clicks(period: number, seed = 3): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: 16000 }, (_, i) => {
    const since = i % period;
    return (0.001 + 0.5 * Math.exp(-since / 40)) * rng.normal();
  });
}

/** A 224x224 RGB24 frame filled with `rgb`, with optional rectangles [x0, y0, x1, y1, rgb] drawn on it. */
export function frame(
  rgb: [number, number, number],
  rects: [number, number, number, number, [number, number, number]][] = [],
): Uint8Array {
  const f = new Uint8Array(224 * 224 * 3);
  const fill = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number]) => {
    for (let y = Math.max(0, y0); y < Math.min(224, y1); y++)
      for (let x = Math.max(0, x0); x < Math.min(224, x1); x++) f.set(c, (y * 224 + x) * 3);
  };
  fill(0, 0, 224, 224, rgb);
  for (const [x0, y0, x1, y1, c] of rects) fill(x0, y0, x1, y1, c);
  return f;
}

/** Eight frames of seeded random texture (values in [lo, hi)). */
export function noiseFrames(seed: number, lo = 0, hi = 256): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: 8 }, () => Uint8Array.from({ length: 224 * 224 * 3 }, () => rng.int(lo, hi)));
}

/** Largest |a - b| / (abs + rel |b|) over all entries; <= 1 means within tolerance. */
export function worstError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  abs: number,
  rel: number,
): { ratio: number; at: number } {
  let worst = { ratio: 0, at: -1 };
  for (let i = 0; i < expected.length; i++) {
    const ratio = Math.abs(actual[i] - expected[i]) / (abs + rel * Math.abs(expected[i]));
    if (!(ratio <= worst.ratio)) worst = { ratio, at: i };
  }
  return worst;
}
