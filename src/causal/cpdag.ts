// DAG -> CPDAG (the Markov equivalence class) by Chickering's edge labelling (Chickering 1995,
// "A transformational characterization of equivalent Bayesian network structures"), which
// gives the same result as v-structures plus Meek's rules R1-R3.
//
// Graphs are adjacency matrices `A[i][j]`: in a DAG A[i][j] = 1 means i -> j; in a CPDAG both
// A[i][j] = A[j][i] = 1 means the undirected edge i - j.

export type Adjacency = number[][];

/** parents[y] lists y's parents -> adjacency matrix. */
export function adjacencyOf(parents: readonly (readonly number[])[]): Adjacency {
  const p = parents.length;
  const a = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  parents.forEach((ps, y) => ps.forEach((x) => (a[x][y] = 1)));
  return a;
}

/** Adjacency matrix of a DAG -> parents lists (ascending). */
export function parentsOf(dag: Adjacency): number[][] {
  return dag.map((_, y) => dag.flatMap((row, x) => (row[y] === 1 ? [x] : [])));
}

/** A topological order of the DAG; throws if it has a directed cycle. */
export function topologicalOrder(parents: readonly (readonly number[])[]): number[] {
  const p = parents.length;
  const state = new Uint8Array(p); // 0 new, 1 on stack, 2 done
  const order: number[] = [];
  const visit = (v: number) => {
    if (state[v] === 2) return;
    if (state[v] === 1) throw new Error(`the graph has a directed cycle through variable ${v}`);
    state[v] = 1;
    for (const u of parents[v]) visit(u);
    state[v] = 2;
    order.push(v);
  };
  for (let v = 0; v < p; v++) visit(v);
  return order;
}

/** Edges x -> y labelled compelled (same in every equivalent DAG) or reversible. */
export function labelEdges(
  parents: readonly (readonly number[])[],
): { x: number; y: number; compelled: boolean }[] {
  const p = parents.length;
  const rank = new Array<number>(p);
  topologicalOrder(parents).forEach((v, i) => (rank[v] = i));
  const isParent = parents.map((ps) => {
    const s = new Uint8Array(p);
    ps.forEach((x) => (s[x] = 1));
    return s;
  });
  // Chickering's edge order: by head ascending in topological order, then tail descending.
  const edges = parents
    .flatMap((ps, y) => ps.map((x) => ({ x, y })))
    .sort((a, b) => rank[a.y] - rank[b.y] || rank[b.x] - rank[a.x]);
  const UNKNOWN = 0;
  const COMPELLED = 1;
  const REVERSIBLE = 2;
  const label = Array.from({ length: p }, () => new Uint8Array(p)); // label[x][y] for x -> y
  const labelInto = (y: number, value: number) => {
    for (const z of parents[y]) if (label[z][y] === UNKNOWN) label[z][y] = value;
  };
  for (const { x, y } of edges) {
    if (label[x][y] !== UNKNOWN) continue;
    let done = false;
    for (const w of parents[x]) {
      if (label[w][x] !== COMPELLED) continue;
      if (!isParent[y][w]) {
        label[x][y] = COMPELLED;
        labelInto(y, COMPELLED);
        done = true;
        break;
      }
      label[w][y] = COMPELLED;
    }
    if (done) continue;
    const vStructure = parents[y].some((z) => z !== x && !isParent[x][z]);
    label[x][y] = vStructure ? COMPELLED : REVERSIBLE;
    labelInto(y, vStructure ? COMPELLED : REVERSIBLE);
  }
  return edges.map(({ x, y }) => ({ x, y, compelled: label[x][y] === COMPELLED }));
}

/** The CPDAG of a DAG given as parents lists. */
export function cpdagOf(parents: readonly (readonly number[])[]): Adjacency {
  const p = parents.length;
  const a = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (const { x, y, compelled } of labelEdges(parents)) {
    a[x][y] = 1;
    if (!compelled) a[y][x] = 1;
  }
  return a;
}

/**
 * Structural Hamming distance between two graphs in the adjacency convention above: the number
 * of variable pairs whose connection differs (missing, extra, or differently oriented edge).
 */
export function structuralHammingDistance(a: Adjacency, b: Adjacency): number {
  if (a.length !== b.length) throw new Error(`graphs differ in size: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      if (a[i][j] !== b[i][j] || a[j][i] !== b[j][i]) d++;
    }
  }
  return d;
}
