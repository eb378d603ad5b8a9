// Grow-shrink trees (GST): one per variable, kept for the whole run (all restarts), so that
// the parent set chosen for "v given the variables before it in the order" is computed once
// per reachable parent set instead of by a fresh grow-shrink each time.
//
// A node stands for the parent set on the path from the root. Growing a node scores every
// still-available variable added to that set and keeps, best first, those that beat the node's
// score. Tracing walks from the root to the first branch allowed by the prefix, at each level;
// where no branch is allowed the node is shrunk (greedy backward elimination, done once and
// replayed afterwards). The result approximates the best parent set within the prefix.
import { localWithEach, type LocalScore } from './score.js';

interface GstNode {
  /** Variable added on the edge from the parent node (-1 at the root). */
  add: number;
  growScore: number;
  shrinkScore: number;
  /** Children that improve on growScore, best first; null until grown. */
  branches: GstNode[] | null;
  /** Parents removed by the shrink, in order; null until shrunk. */
  removals: number[] | null;
}

export interface ParentChoice {
  parents: number[];
  score: number;
}

export class GrowShrinkTree {
  private readonly root: GstNode;

  constructor(
    readonly vertex: number,
    private readonly score: LocalScore,
  ) {
    const s = score.local(vertex, []);
    this.root = { add: -1, growScore: s, shrinkScore: s, branches: null, removals: null };
  }

  /** Best parent set (approximately) among the variables for which `allowed` is true. */
  trace(allowed: (x: number) => boolean): ParentChoice {
    const available: number[] = [];
    for (let x = 0; x < this.score.p; x++) if (x !== this.vertex) available.push(x);
    const parents: number[] = [];
    let node = this.root;
    for (;;) {
      if (node.branches === null) this.grow(node, available, parents);
      let next: GstNode | null = null;
      for (const branch of node.branches!) {
        // Variables passed over here are never offered deeper, so each set has one node.
        available.splice(available.indexOf(branch.add), 1);
        if (allowed(branch.add)) {
          next = branch;
          break;
        }
      }
      if (next === null) break;
      parents.push(next.add);
      node = next;
    }
    if (node.removals === null) this.shrink(node, parents);
    else for (const x of node.removals) parents.splice(parents.indexOf(x), 1);
    return { parents, score: node.shrinkScore };
  }

  private grow(node: GstNode, available: readonly number[], parents: number[]): void {
    const scores = localWithEach(this.score, this.vertex, parents, available);
    const children: GstNode[] = [];
    available.forEach((x, k) => {
      if (scores[k] > node.growScore) {
        children.push({
          add: x,
          growScore: scores[k],
          shrinkScore: scores[k],
          branches: null,
          removals: null,
        });
      }
    });
    // Array.prototype.sort is stable: ties keep ascending variable order.
    node.branches = children.sort((a, b) => b.growScore - a.growScore);
  }

  private shrink(node: GstNode, parents: number[]): void {
    const { removals, score } = eliminate(this.score, this.vertex, parents, node.growScore);
    node.removals = removals;
    node.shrinkScore = score;
  }
}

/**
 * The same greedy choice as GrowShrinkTree.trace, computed from scratch with nothing kept:
 * forward selection (best improving addition, ties to the lower index), then backward
 * elimination. The baseline that shows what the trees save.
 */
export function growShrink(score: LocalScore, v: number, allowed: (x: number) => boolean): ParentChoice {
  const parents: number[] = [];
  let current = score.local(v, parents);
  for (;;) {
    const candidates: number[] = [];
    for (let x = 0; x < score.p; x++) if (x !== v && allowed(x) && !parents.includes(x)) candidates.push(x);
    const scores = localWithEach(score, v, parents, candidates);
    let best = -1;
    let bestScore = current;
    candidates.forEach((x, k) => {
      if (scores[k] > bestScore) {
        bestScore = scores[k];
        best = x;
      }
    });
    if (best < 0) break;
    parents.push(best);
    current = bestScore;
  }
  const shrunk = eliminate(score, v, parents, current);
  return { parents, score: shrunk.score };
}

/**
 * Greedy backward elimination from a set scoring `current`: repeatedly drop the parent whose
 * removal improves the score most (strictly). Removes from `parents` in place.
 */
function eliminate(
  score: LocalScore,
  v: number,
  parents: number[],
  current: number,
): { removals: number[]; score: number } {
  const removals: number[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < parents.length; i++) {
      const s = score.local(
        v,
        parents.filter((_, k) => k !== i),
      );
      if (s > current) {
        current = s;
        best = i;
      }
    }
    if (best < 0) return { removals, score: current };
    removals.push(parents[best]);
    parents.splice(best, 1);
  }
}
