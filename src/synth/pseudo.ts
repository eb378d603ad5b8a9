// Simulated segment-level pseudo labels in VALOR's layout: a (segments, classes) 0/1 matrix per
// modality, derived from the dense truth with misses, false alarms and boundary jitter, then
// restricted to the clip's annotated weak labels (VALOR's masking rule). They stand in for
// CLIP/CLAP zero-shot labels when training on SynthAV.
import type { Rng } from '../util/rng.js';
import type { ClipTruth } from './truth.js';

export interface PseudoNoise {
  /** Probability that a true positive second is dropped. */
  miss: number;
  /** Probability that a negative second of an annotated class is switched on. */
  falseAlarm: number;
  /** Probability that each edge of a true run moves by one second (in or out). */
  jitter: number;
}

export const DEFAULT_PSEUDO_NOISE: Readonly<PseudoNoise> = { miss: 0.1, falseAlarm: 0.05, jitter: 0.2 };

export function pseudoLabels(
  truth: ClipTruth,
  rng: Rng,
  noise: PseudoNoise,
): { audio: Uint8Array; visual: Uint8Array } {
  return { audio: noisy(truth, truth.audio, rng, noise), visual: noisy(truth, truth.visual, rng, noise) };
}

function noisy(truth: ClipTruth, dense: Uint8Array, rng: Rng, noise: PseudoNoise): Uint8Array {
  const C = truth.classes.length;
  const T = truth.segments;
  const out = new Uint8Array(T * C);
  for (const name of truth.annotated) {
    const c = truth.classes.indexOf(name);
    const column = Array.from({ length: T }, (_, k) => dense[k * C + c]);
    const moved = new Array<number>(T).fill(0);
    for (const [start, end] of runs(column)) {
      const s = Math.max(0, start + edgeShift(rng, noise.jitter));
      const e = Math.min(T, end + edgeShift(rng, noise.jitter));
      for (let k = s; k < Math.max(e, s + 1) && k < T; k++) moved[k] = 1;
    }
    for (let k = 0; k < T; k++) {
      const flip = rng.next();
      out[k * C + c] = moved[k] ? (flip < noise.miss ? 0 : 1) : flip < noise.falseAlarm ? 1 : 0;
    }
  }
  return out;
}

/** 0, or -1 / +1 with probability p. */
function edgeShift(rng: Rng, p: number): number {
  const u = rng.next();
  return u < p / 2 ? -1 : u < p ? 1 : 0;
}

/** Maximal runs of 1s as half-open [start, end). */
export function runs(column: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < column.length; k++) {
    if (!column[k]) continue;
    const start = k;
    while (k < column.length && column[k]) k++;
    out.push([start, k]);
  }
  return out;
}
