import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  adjacencyOf,
  cpdagOf,
  parentsOf,
  structuralHammingDistance,
  topologicalOrder,
} from '../../src/causal/cpdag.js';
import { randomLinearSem } from '../../src/causal/simulate.js';

/** Parents lists from edge pairs over p variables. */
function dag(p: number, edges: [number, number][]): number[][] {
  const parents: number[][] = Array.from({ length: p }, () => []);
  for (const [x, y] of edges) parents[y].push(x);
  return parents;
}

/** Directed edges and undirected pairs of a CPDAG, for readable expectations. */
function describeGraph(a: number[][]): { directed: string[]; undirected: string[] } {
  const directed: string[] = [];
  const undirected: string[] = [];
  a.forEach((row, i) =>
    row.forEach((v, j) => {
      if (v !== 1) return;
      if (a[j][i] === 1) {
        if (i < j) undirected.push(`${i}-${j}`);
      } else directed.push(`${i}>${j}`);
    }),
  );
  return { directed, undirected };
}

/** Brute force: orient the skeleton every way, keep the DAGs with the same v-structures. */
function bruteForceCpdag(parents: number[][]): number[][] {
  const p = parents.length;
  const pairs = parents.flatMap((ps, y) =>
    ps.map((x) => [Math.min(x, y), Math.max(x, y)] as [number, number]),
  );
  const vStructures = (ps: number[][]) => {
    const adjacent = (a: number, b: number) => ps[a].includes(b) || ps[b].includes(a);
    const out = new Set<string>();
    ps.forEach((list, y) =>
      list.forEach((a) => list.forEach((b) => a < b && !adjacent(a, b) && out.add(`${a},${y},${b}`))),
    );
    return [...out].sort().join(';');
  };
  const target = vStructures(parents);
  const union = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let mask = 0; mask < 1 << pairs.length; mask++) {
    const ps = dag(
      p,
      pairs.map(([a, b], k) => ((mask >> k) & 1 ? [b, a] : [a, b])),
    );
    try {
      topologicalOrder(ps);
    } catch {
      continue;
    }
    if (vStructures(ps) !== target) continue;
    ps.forEach((list, y) => list.forEach((x) => (union[x][y] = 1)));
  }
  return union;
}

describe('cpdagOf', () => {
  it('leaves chains and forks undirected', () => {
    expect(
      describeGraph(
        cpdagOf(
          dag(3, [
            [0, 1],
            [1, 2],
          ]),
        ),
      ),
    ).toEqual({ directed: [], undirected: ['0-1', '1-2'] });
    expect(
      describeGraph(
        cpdagOf(
          dag(3, [
            [1, 0],
            [1, 2],
          ]),
        ),
      ),
    ).toEqual({ directed: [], undirected: ['0-1', '1-2'] });
  });

  it('keeps a v-structure directed, but not a shielded one', () => {
    expect(
      describeGraph(
        cpdagOf(
          dag(3, [
            [0, 2],
            [1, 2],
          ]),
        ),
      ),
    ).toEqual({ directed: ['0>2', '1>2'], undirected: [] });
    expect(
      describeGraph(
        cpdagOf(
          dag(3, [
            [0, 2],
            [1, 2],
            [0, 1],
          ]),
        ),
      ).undirected,
    ).toEqual(['0-1', '0-2', '1-2']);
  });

  it('propagates orientations away from a collider (Meek rule 1)', () => {
    // 0 -> 2 <- 1, 2 -> 3: 2 -> 3 is compelled, else 2 <- 3 would make a new v-structure.
    expect(
      describeGraph(
        cpdagOf(
          dag(4, [
            [0, 2],
            [1, 2],
            [2, 3],
          ]),
        ),
      ),
    ).toEqual({
      directed: ['0>2', '1>2', '2>3'],
      undirected: [],
    });
  });

  it('orients to avoid a directed cycle (Meek rule 2)', () => {
    // 3 -> 1 <- 0, 1 -> 2, 0 -> 2: 0 -> 1 -> 2 forces 0 -> 2.
    expect(
      describeGraph(
        cpdagOf(
          dag(4, [
            [3, 1],
            [0, 1],
            [1, 2],
            [0, 2],
          ]),
        ),
      ),
    ).toEqual({
      directed: ['0>1', '0>2', '1>2', '3>1'],
      undirected: [],
    });
  });

  it('applies Meek rule 3', () => {
    // 1 -> 3 <- 2 with 0 adjacent to 1, 2, 3: 0 -> 3 compelled, 0-1 and 0-2 stay undirected.
    expect(
      describeGraph(
        cpdagOf(
          dag(4, [
            [0, 1],
            [0, 2],
            [1, 3],
            [2, 3],
            [0, 3],
          ]),
        ),
      ),
    ).toEqual({
      directed: ['0>3', '1>3', '2>3'],
      undirected: ['0-1', '0-2'],
    });
  });

  it('agrees with brute-force enumeration of the equivalence class on random DAGs', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const p = rng.int(3, 7);
      const edges = rng.int(0, Math.min(10, (p * (p - 1)) / 2) + 1);
      const { parents } = randomLinearSem(p, edges, rng);
      expect(cpdagOf(parents)).toEqual(bruteForceCpdag(parents));
    }
  });

  it('rejects a cyclic graph', () => {
    expect(() =>
      cpdagOf(
        dag(3, [
          [0, 1],
          [1, 2],
          [2, 0],
        ]),
      ),
    ).toThrow(/directed cycle/);
  });
});

describe('graph helpers', () => {
  it('converts between parents lists and adjacency', () => {
    const parents = dag(3, [
      [0, 2],
      [1, 2],
    ]);
    const a = adjacencyOf(parents);
    expect(a).toEqual([
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    expect(parentsOf(a)).toEqual([[], [], [0, 1]]);
  });

  it('counts each differing pair once in the structural Hamming distance', () => {
    const truth = cpdagOf(
      dag(3, [
        [0, 2],
        [1, 2],
      ]),
    );
    expect(structuralHammingDistance(truth, truth)).toBe(0);
    // reversed edge, missing edge, extra edge, undirected instead of directed: 1 each.
    expect(
      structuralHammingDistance(
        truth,
        adjacencyOf(
          dag(3, [
            [2, 0],
            [1, 2],
          ]),
        ),
      ),
    ).toBe(1);
    expect(structuralHammingDistance(truth, adjacencyOf(dag(3, [[0, 2]])))).toBe(1);
    expect(
      structuralHammingDistance(
        truth,
        adjacencyOf(
          dag(3, [
            [0, 2],
            [1, 2],
            [0, 1],
          ]),
        ),
      ),
    ).toBe(1);
    expect(structuralHammingDistance(truth, cpdagOf(dag(3, [[0, 2]])))).toBe(2);
    expect(() => structuralHammingDistance(truth, [[0]])).toThrow(/differ in size/);
  });
});
