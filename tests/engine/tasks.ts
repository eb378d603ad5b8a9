// Synthetic tasks for the engine's acceptance tests (test helper).
import { Rng } from '../../src/util/rng.js';

/** Two interleaved spirals: points (x, y) and labels 0/1. */
export function spirals(perClass: number, seed: number): { points: Float32Array; labels: Float32Array } {
  const rng = new Rng(seed);
  const points = new Float32Array(perClass * 2 * 2);
  const labels = new Float32Array(perClass * 2);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < perClass; i++) {
      const t = (i + 0.5) / perClass;
      const r = 0.1 + 0.9 * t;
      const angle = 2.5 * Math.PI * t + c * Math.PI;
      const k = c * perClass + i;
      points[2 * k] = r * Math.cos(angle) + rng.normal(0, 0.01);
      points[2 * k + 1] = r * Math.sin(angle) + rng.normal(0, 0.01);
      labels[k] = c;
    }
  }
  return { points, labels };
}

/**
 * Sequences of `length` tokens from a vocabulary of `vocab`; label 1 when token X (=1) occurs
 * somewhere before token Y (=2). Half the sequences are positive.
 */
export function orderTask(
  count: number,
  length: number,
  vocab: number,
  seed: number,
): { ids: BigInt64Array; labels: BigInt64Array } {
  const rng = new Rng(seed);
  const ids = new BigInt64Array(count * length);
  const labels = new BigInt64Array(count);
  for (let n = 0; n < count; n++) {
    const seq = Array.from({ length }, () => rng.int(3, vocab));
    const a = rng.int(0, length);
    let b = rng.int(0, length - 1);
    if (b >= a) b++;
    // Both X and Y appear once; which comes first decides the label.
    seq[a] = 1;
    seq[b] = 2;
    seq.forEach((v, i) => (ids[n * length + i] = BigInt(v)));
    labels[n] = a < b ? 1n : 0n;
  }
  return { ids, labels };
}
