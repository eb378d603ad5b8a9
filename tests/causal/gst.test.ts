import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { covarianceOf } from '../../src/causal/covariance.js';
import { GrowShrinkTree, growShrink } from '../../src/causal/gst.js';
import { BicScore, type LocalScore } from '../../src/causal/score.js';
import { randomLinearSem, sampleLinearSem } from '../../src/causal/simulate.js';

/** A score given by a table over parent sets of vertex 0; counts lookups. */
class TableScore implements LocalScore {
  lookups = 0;
  constructor(
    readonly p: number,
    private readonly table: Record<string, number>,
  ) {}
  local(_y: number, parents: readonly number[]): number {
    this.lookups++;
    const key = [...parents].sort((a, b) => a - b).join(',');
    const s = this.table[key];
    if (s === undefined) throw new Error(`no score for {${key}}`);
    return s;
  }
}

const inSet = (xs: number[]) => (x: number) => xs.includes(x);

describe('GrowShrinkTree', () => {
  // The mock local scores of causal-learn's tests/TestGST.py (from py-why/causal-learn#264).
  const table = {
    '': 0,
    '1': 2.0837,
    '2': 4.3568,
    '3': 1.53,
    '1,2': -0.03,
    '1,3': 3.29,
    '2,3': 2.33,
    '1,2,3': -0.25,
  };

  it('follows the best-scoring root branch allowed by the prefix (causal-learn TestGST case)', () => {
    const tree = new GrowShrinkTree(0, new TableScore(4, table));
    // Root branches are 2 (4.3568), 1 (2.0837), 3 (1.53): with {1, 2} allowed, 2 is taken.
    const result = tree.trace(inSet([1, 2]));
    expect(result.parents).toEqual([2]);
    expect(result.score).toBeCloseTo(4.3568, 9);
  });

  it('skips disallowed branches and never offers a passed-over variable deeper', () => {
    const tree = new GrowShrinkTree(0, new TableScore(4, table));
    // 2 is passed over, then 1 taken; node {1} may only grow with 3: {1,3} = 3.29 > 2.0837.
    expect(tree.trace(inSet([1, 3]))).toEqual({ parents: [1, 3], score: 3.29 });
    expect(tree.trace(inSet([3]))).toEqual({ parents: [3], score: 1.53 });
    expect(tree.trace(inSet([]))).toEqual({ parents: [], score: 0 });
    // With everything allowed, {2} cannot grow (both {1,2} and {2,3} are worse).
    expect(tree.trace(inSet([1, 2, 3]))).toEqual({ parents: [2], score: 4.3568 });
  });

  it('shrinks once (dropping the parent whose removal helps most) and replays it', () => {
    // Grow path 1 -> 2 -> 3 reaches {1,2,3} = 8; removing 1 gives {2,3} = 9, then nothing helps.
    const score = new TableScore(4, {
      '': 0,
      '1': 5,
      '2': 1,
      '3': 1,
      '1,2': 6,
      '1,3': 5.5,
      '2,3': 9,
      '1,2,3': 8,
    });
    const tree = new GrowShrinkTree(0, score);
    expect(tree.trace(inSet([1, 2, 3]))).toEqual({ parents: [2, 3], score: 9 });
    const lookups = score.lookups;
    expect(tree.trace(inSet([1, 2, 3]))).toEqual({ parents: [2, 3], score: 9 });
    expect(score.lookups).toBe(lookups);
    // A different prefix reuses the grown root: {1, 2} stops at node {1,2} (6), nothing to shrink.
    expect(tree.trace(inSet([1, 2]))).toEqual({ parents: [1, 2], score: 6 });
  });

  it('keeps ties in ascending variable order', () => {
    const tree = new GrowShrinkTree(0, new TableScore(3, { '': 0, '1': 2, '2': 2, '1,2': 1 }));
    expect(tree.trace(inSet([1, 2])).parents).toEqual([1]);
  });

  it('on a real BIC, chooses as grow-shrink from scratch would: a local optimum within the prefix', () => {
    const rng = new Rng(4);
    const data = sampleLinearSem(randomLinearSem(8, 10, rng), 1000, rng);
    const score = new BicScore(covarianceOf(data), { lambda: 1 });
    for (let v = 0; v < 8; v++) {
      const tree = new GrowShrinkTree(v, score);
      for (let trial = 0; trial < 10; trial++) {
        const prefix = rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7].filter((x) => x !== v)).slice(0, rng.int(0, 8));
        const choice = tree.trace(inSet(prefix));
        // The tree remembers, but chooses exactly as grow-shrink from scratch.
        expect(choice).toEqual(growShrink(score, v, inSet(prefix)));
        const { parents, score: s } = choice;
        expect(parents.every((x) => prefix.includes(x))).toBe(true);
        expect(s).toBe(score.local(v, parents));
        // No single addition from the prefix or removal improves it by much (grow-shrink optimum).
        for (const x of prefix.filter((z) => !parents.includes(z))) {
          expect(score.local(v, [...parents, x])).toBeLessThanOrEqual(s + 1e-9);
        }
        for (const x of parents) {
          expect(
            score.local(
              v,
              parents.filter((z) => z !== x),
            ),
          ).toBeLessThanOrEqual(s + 1e-9);
        }
      }
    }
  });
});
