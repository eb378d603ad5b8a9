// Exact score-optimal DAG by dynamic programming over variable subsets (Silander & Myllymaki
// 2006). Exponential (p 2^(p-1) local scores), so limited to small p: it is the reference that
// GRaSP's greedy search is checked and benchmarked against.
import type { LocalScore } from './score.js';

/** Largest p accepted: 16 x 2^15 local scores and tables of that size. */
export const EXACT_MAX_VARIABLES = 16;

export interface ExactResult {
  /** parents[y], ascending. */
  parents: number[][];
  score: number;
}

export function exactBestDag(score: LocalScore): ExactResult {
  const p = score.p;
  if (p > EXACT_MAX_VARIABLES) {
    throw new RangeError(`exact search is limited to ${EXACT_MAX_VARIABLES} variables, got ${p}`);
  }
  const full = (1 << p) - 1;
  const members = (set: number) => {
    const out: number[] = [];
    for (let v = 0; v < p; v++) if (set & (1 << v)) out.push(v);
    return out;
  };
  // best[v][S]: best local score of v with parents within S (S over all p bits, v not in S);
  // choice[v][S]: that parent set.
  const best = Array.from({ length: p }, () => new Float64Array(1 << p));
  const choice = Array.from({ length: p }, () => new Int32Array(1 << p));
  for (let v = 0; v < p; v++) {
    for (let set = 0; set <= full; set++) {
      if (set & (1 << v)) continue;
      let s = score.local(v, members(set));
      let c = set;
      for (let u = 0; u < p; u++) {
        if (!(set & (1 << u))) continue;
        const sub = set & ~(1 << u);
        if (best[v][sub] > s) {
          s = best[v][sub];
          c = choice[v][sub];
        }
      }
      best[v][set] = s;
      choice[v][set] = c;
    }
  }
  // total[W]: best score of a DAG over W; sink[W]: the last variable of an optimal order of W.
  const total = new Float64Array(1 << p);
  const sink = new Int32Array(1 << p);
  for (let set = 1; set <= full; set++) {
    total[set] = -Infinity;
    for (let v = 0; v < p; v++) {
      if (!(set & (1 << v))) continue;
      const rest = set & ~(1 << v);
      const s = total[rest] + best[v][rest];
      if (s > total[set]) {
        total[set] = s;
        sink[set] = v;
      }
    }
  }
  const parents: number[][] = Array.from({ length: p }, () => []);
  for (let set = full; set !== 0;) {
    const v = sink[set];
    set &= ~(1 << v);
    parents[v] = members(choice[v][set]);
  }
  return { parents, score: total[full] };
}
