// Random linear-Gaussian structural equation models, for recovery tests and benchmarks:
// Erdos-Renyi DAG over a random order, weights +-U(0.3, 1), unit-variance Gaussian noise
// (the setting of the measurements in docs/grasp.md).
import type { Rng } from '../util/rng.js';
import type { DataMatrix } from './covariance.js';

export interface LinearSem {
  /** parents[y] lists y's parents (ascending). */
  parents: number[][];
  /** weights[y][k] is the coefficient of parents[y][k] in y's equation. */
  weights: number[][];
}

/** A random DAG over p variables with `edges` edges (at most p(p-1)/2), random weights. */
export function randomLinearSem(p: number, edges: number, rng: Rng): LinearSem {
  const maxEdges = (p * (p - 1)) / 2;
  if (!Number.isInteger(edges) || edges < 0 || edges > maxEdges) {
    throw new RangeError(`edges must be an integer in [0, ${maxEdges}], got ${edges}`);
  }
  const order = rng.shuffle(Array.from({ length: p }, (_, i) => i));
  const pairs: [number, number][] = [];
  for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) pairs.push([order[a], order[b]]);
  const chosen = rng.shuffle(pairs).slice(0, edges);
  const parents: number[][] = Array.from({ length: p }, () => []);
  for (const [x, y] of chosen) parents[y].push(x);
  parents.forEach((ps) => ps.sort((a, b) => a - b));
  const weights = parents.map((ps) => ps.map(() => (rng.bool() ? 1 : -1) * rng.uniform(0.3, 1)));
  return { parents, weights };
}

/** n samples from the SEM (each variable = weighted parents + N(0, 1) noise). */
export function sampleLinearSem(sem: LinearSem, n: number, rng: Rng): DataMatrix {
  const p = sem.parents.length;
  const order: number[] = [];
  const done = new Uint8Array(p);
  const visit = (v: number) => {
    if (done[v]) return;
    done[v] = 1;
    sem.parents[v].forEach(visit);
    order.push(v);
  };
  for (let v = 0; v < p; v++) visit(v);
  const values = new Float64Array(n * p);
  for (let r = 0; r < n; r++) {
    const row = r * p;
    for (const v of order) {
      let x = rng.normal();
      sem.parents[v].forEach((u, k) => (x += sem.weights[v][k] * values[row + u]));
      values[row + v] = x;
    }
  }
  return { n, p, values };
}
