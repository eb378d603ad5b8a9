import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { CausalDataError, covarianceOf } from '../../src/causal/covariance.js';
import { cpdagOf, parentsOf, structuralHammingDistance } from '../../src/causal/cpdag.js';
import { grasp, GRASP_TIERS } from '../../src/causal/grasp.js';
import { BicScore } from '../../src/causal/score.js';
import { randomLinearSem, sampleLinearSem, type LinearSem } from '../../src/causal/simulate.js';

function problem(p: number, edges: number, n: number, seed: number) {
  const rng = new Rng(seed);
  const sem = randomLinearSem(p, edges, rng);
  return { sem, data: sampleLinearSem(sem, n, rng) };
}

function totalScore(sem: LinearSem, score: BicScore): number {
  return sem.parents.reduce((s, ps, y) => s + score.local(y, ps), 0);
}

describe('grasp recovery on simulated linear-Gaussian data', () => {
  it('recovers the CPDAG exactly at p = 8 (8 edges, n = 2000)', () => {
    for (let seed = 0; seed < 5; seed++) {
      const { sem, data } = problem(8, 8, 2000, 100 + seed);
      const result = grasp(data, { seed, lambda: 1 });
      expect(structuralHammingDistance(result.cpdag, cpdagOf(sem.parents))).toBe(0);
    }
  });

  it('at p = 20 (28 edges, n = 5000) with 3 restarts: small SHD, and never a worse score than the truth', () => {
    const shds: number[] = [];
    for (let seed = 0; seed < 4; seed++) {
      const { sem, data } = problem(20, 28, 5000, 100 + seed);
      const result = grasp(data, { seed, lambda: 1, restarts: 3 });
      const truth = totalScore(sem, new BicScore(covarianceOf(data), { lambda: 1 }));
      expect(result.score).toBeGreaterThanOrEqual(truth - 1e-6);
      shds.push(structuralHammingDistance(result.cpdag, cpdagOf(sem.parents)));
    }
    expect(Math.max(...shds)).toBeLessThanOrEqual(4);
    expect(shds.reduce((a, b) => a + b, 0) / shds.length).toBeLessThanOrEqual(1.5);
  });

  it('estimates edge weights as OLS coefficients close to the true ones', () => {
    const { sem, data } = problem(8, 8, 20000, 7);
    const result = grasp(data, { seed: 1 });
    expect(structuralHammingDistance(result.cpdag, cpdagOf(sem.parents))).toBe(0);
    // Only where the DAG found gives the effect the true parents (reversible edges may differ).
    const found = parentsOf(result.dag);
    const same = result.edges.filter((e) => found[e.to].join() === sem.parents[e.to].join());
    expect(same.length).toBeGreaterThan(0);
    for (const e of same) {
      const k = sem.parents[e.to].indexOf(e.from);
      expect(Math.abs(e.weight - sem.weights[e.to][k])).toBeLessThan(0.05);
    }
  });
});

describe('grasp result', () => {
  const { data } = problem(10, 14, 1000, 42);

  it('is consistent: score = sum of local scores of the DAG, cpdag of the dag, edges match both', () => {
    const result = grasp(data, { seed: 3, restarts: 2, lambda: 0.5, names: 'abcdefghij'.split('') });
    const score = new BicScore(covarianceOf(data), { lambda: 0.5 });
    const parents = parentsOf(result.dag);
    expect(result.score).toBeCloseTo(
      parents.reduce((s, ps, y) => s + score.local(y, ps), 0),
      6,
    );
    expect(result.cpdag).toEqual(cpdagOf(parents));
    expect(result.edges.length).toBe(parents.flat().length);
    for (const e of result.edges) {
      expect(result.dag[e.from][e.to]).toBe(1);
      expect(e.cause).toBe('abcdefghij'[e.from]);
      expect(result.cpdag[e.to][e.from]).toBe(e.compelled ? 0 : 1);
    }
    expect(result.score).toBe(Math.max(...result.restartScores));
    expect([...result.order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('is deterministic under a seed, and the same from data or from its covariance', () => {
    const a = grasp(data, { seed: 5, restarts: 2 });
    const b = grasp(data, { seed: 5, restarts: 2 });
    expect(b).toEqual(a);
    const cov = covarianceOf(data);
    const matrix = Array.from({ length: 10 }, (_, i) => Array.from(cov.values.slice(i * 10, i * 10 + 10)));
    const c = grasp({ covariance: matrix, n: data.n }, { seed: 5, restarts: 2 });
    expect(c.dag).toEqual(a.dag);
    expect(c.score).toBeCloseTo(a.score, 6);
    const rows = Array.from({ length: data.n }, (_, r) => data.values.slice(r * 10, r * 10 + 10));
    expect(grasp(rows, { seed: 5, restarts: 2 }).dag).toEqual(a.dag);
  });

  it('gives the same result without grow-shrink trees, with more score evaluations', () => {
    const withTrees = grasp(data, { seed: 2 });
    const without = grasp(data, { seed: 2, trees: false });
    expect(without.dag).toEqual(withTrees.dag);
    expect(without.restartScores).toEqual(withTrees.restartScores);
    expect(without.scoreEvaluations).toBeGreaterThan(withTrees.scoreEvaluations);
  });

  it('keeps the best of several restarts: never worse than one start', () => {
    for (let seed = 0; seed < 3; seed++) {
      const one = grasp(data, { seed, restarts: 1 });
      const calls: [number, number][] = [];
      const many = grasp(data, { seed, restarts: 4, onRestart: (done, best) => calls.push([done, best]) });
      expect(calls.map(([done]) => done)).toEqual([1, 2, 3, 4]);
      expect(calls.map(([, best]) => best)).toEqual(
        many.restartScores.map((_, r) => Math.max(...many.restartScores.slice(0, r + 1))),
      );
      expect(many.restartScores[0]).toBe(one.score);
      expect(many.score).toBeGreaterThanOrEqual(one.score);
    }
  });

  it('runs every tier, ordered tiers, and depth 1 (no tie moves)', () => {
    for (const tier of Object.values(GRASP_TIERS)) {
      const r = grasp(data, { seed: 1, ...tier });
      expect(Number.isFinite(r.score)).toBe(true);
    }
    const ordered = grasp(data, { seed: 1, ordered: true });
    const depth1 = grasp(data, { seed: 1, depth: 1 });
    expect(Number.isFinite(ordered.score) && Number.isFinite(depth1.score)).toBe(true);
  });

  it('fits a complete DAG at lambda 0 and the empty graph under a huge penalty', () => {
    expect(grasp(data, { seed: 1, lambda: 0 }).edges.length).toBe(45);
    expect(grasp(data, { seed: 1, lambda: 1000 }).edges.length).toBe(0);
  });

  it('handles the smallest inputs: one variable, two correlated variables', () => {
    expect(grasp([[1], [2], [4]]).dag).toEqual([[0]]);
    const two = grasp([
      [1, 2],
      [2, 1],
      [4, 5],
      [0, 0],
    ]);
    expect(two.cpdag).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(two.edges).toHaveLength(1);
    expect(two.edges[0].compelled).toBe(false);
  });

  it('rejects bad options and unusable data', () => {
    expect(() => grasp(data, { depth: 0 })).toThrow(/depth must be an integer >= 1/);
    expect(() => grasp(data, { restarts: 1.5 })).toThrow(/restarts/);
    expect(() => grasp(data, { tolerance: -1 })).toThrow(/tolerance/);
    expect(() => grasp(data, { seed: -1 })).toThrow(/seed must be an integer in \[0, 4294967295\]/);
    expect(() => grasp(data, { seed: 2 ** 32 })).toThrow(/seed must be an integer/);
    expect(() => grasp(data, { names: ['a'] })).toThrow(/1 names for 10 variables/);
    expect(() =>
      grasp([
        [1, 2],
        [2, 4],
        [3, 6],
        [4, 8],
      ]),
    ).toThrow(CausalDataError);
    expect(() => grasp([])).toThrow(/no variables/);
  });
});
