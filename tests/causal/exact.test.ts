import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { covarianceOf } from '../../src/causal/covariance.js';
import { cpdagOf, structuralHammingDistance } from '../../src/causal/cpdag.js';
import { exactBestDag } from '../../src/causal/exact.js';
import { grasp } from '../../src/causal/grasp.js';
import { BicScore } from '../../src/causal/score.js';
import { randomLinearSem, sampleLinearSem } from '../../src/causal/simulate.js';

function bicFor(p: number, edges: number, n: number, seed: number, lambda = 1) {
  const rng = new Rng(seed);
  const data = sampleLinearSem(randomLinearSem(p, edges, rng), n, rng);
  return { data, score: new BicScore(covarianceOf(data), { lambda }) };
}

/** Every order, every parent subset of the predecessors: the optimum by enumeration. */
function bruteForceBest(score: BicScore): number {
  const p = score.p;
  let best = -Infinity;
  const permute = (order: number[], rest: number[]) => {
    if (rest.length === 0) {
      let total = 0;
      order.forEach((v, k) => {
        const before = order.slice(0, k);
        let local = -Infinity;
        for (let mask = 0; mask < 1 << before.length; mask++) {
          local = Math.max(
            local,
            score.local(
              v,
              before.filter((_, b) => (mask >> b) & 1),
            ),
          );
        }
        total += local;
      });
      best = Math.max(best, total);
      return;
    }
    rest.forEach((v, k) =>
      permute(
        [...order, v],
        rest.filter((_, m) => m !== k),
      ),
    );
  };
  permute(
    [],
    Array.from({ length: p }, (_, i) => i),
  );
  return best;
}

describe('exactBestDag', () => {
  it('finds the optimum of brute-force enumeration, and its DAG has that score', () => {
    for (let seed = 0; seed < 3; seed++) {
      const { score } = bicFor(5, 5, 300, seed);
      const exact = exactBestDag(score);
      expect(exact.score).toBeCloseTo(bruteForceBest(score), 6);
      const sum = exact.parents.reduce((s, ps, y) => s + score.local(y, ps), 0);
      expect(sum).toBeCloseTo(exact.score, 6);
      cpdagOf(exact.parents); // acyclic, or this throws
    }
  });

  it('refuses more than 16 variables', () => {
    expect(() => exactBestDag({ p: 17, local: () => 0 })).toThrow(/limited to 16 variables/);
  });
});

describe('grasp against the exact optimum (p = 8, 10 edges, n = 1000)', () => {
  it('never beats it, and reaches it with 5 restarts', () => {
    for (let seed = 0; seed < 5; seed++) {
      const { data, score } = bicFor(8, 10, 1000, 200 + seed);
      const exact = exactBestDag(score);
      const single = grasp(data, { seed, restarts: 1 });
      expect(single.score).toBeLessThanOrEqual(exact.score + 1e-6);
      const result = grasp(data, { seed, restarts: 5 });
      expect(result.score).toBeCloseTo(exact.score, 6);
      expect(structuralHammingDistance(result.cpdag, cpdagOf(exact.parents))).toBe(0);
    }
  });
});
