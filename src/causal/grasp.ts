// GRaSP (Lam, Andrews, Ramsey, UAI 2022): greedy search over variable orders by "tucks", each
// order scored by giving every variable its best parent set among its predecessors (via the
// grow-shrink trees). Described as implemented, with the choices where the reference
// implementations differ, in docs/grasp.md.
import { Rng } from '../util/rng.js';
import {
  covarianceFrom,
  covarianceOf,
  dataFromRows,
  type Covariance,
  type DataMatrix,
} from './covariance.js';
import { adjacencyOf, labelEdges, type Adjacency } from './cpdag.js';
import { GrowShrinkTree, growShrink, type ParentChoice } from './gst.js';
import { BicScore } from './score.js';

/** Data rows, a DataMatrix, or a covariance matrix with its sample count. */
export type GraspInput =
  readonly ArrayLike<number>[] | DataMatrix | { covariance: readonly ArrayLike<number>[]; n: number };

export interface GraspOptions {
  /** BIC penalty multiplier (score.ts): 0.5 = standard BIC, 1 = TETRAD penalty discount 2. Default 1. */
  lambda?: number;
  /** Longest sequence of tucks tried from one order (ties are followed only when depth >= 2). Default 3. */
  depth?: number;
  /** Tucks of uncovered edges are allowed up to this position in a sequence. Default 1. */
  uncoveredDepth?: number;
  /** Non-singular tucks (reversing more than one edge) allowed up to this position. Default 1. */
  nonSingularDepth?: number;
  /** Run the tiers GRaSP0, GRaSP1, GRaSP2 in turn, each to convergence (TETRAD's "ordered"). Default false. */
  ordered?: boolean;
  /** Score changes within +-tolerance are ties; improvements must exceed it. Default 1e-6. */
  tolerance?: number;
  /** Independent random starting orders; the best-scoring result is kept. Default 3. */
  restarts?: number;
  seed?: number;
  /**
   * Keep a grow-shrink tree per variable (default true); false re-runs grow-shrink from scratch
   * for every parent choice (same result, only to measure what the trees save).
   */
  trees?: boolean;
  /** Variable names for the edge list; default x0, x1, ... */
  names?: readonly string[];
  /** Called after each restart with the number done and the best score so far (for progress). */
  onRestart?: (done: number, bestScore: number) => void;
}

/** GRaSP0 / GRaSP1 / GRaSP2 of the paper as (uncoveredDepth, nonSingularDepth) settings. */
export const GRASP_TIERS = {
  grasp0: { uncoveredDepth: 0, nonSingularDepth: 0 },
  grasp1: { uncoveredDepth: 1, nonSingularDepth: 0 },
  grasp2: { uncoveredDepth: 1, nonSingularDepth: 1 },
} as const;

export interface GraspEdge {
  cause: string;
  effect: string;
  /** Indices of cause and effect. */
  from: number;
  to: number;
  /** OLS coefficient of the cause in the regression of the effect on all its parents (data scale). */
  weight: number;
  /** False when the edge is reversible (undirected in the CPDAG). */
  compelled: boolean;
}

export interface GraspResult {
  /** A[i][j] = 1 for i -> j. */
  dag: Adjacency;
  /** As dag, with both A[i][j] and A[j][i] = 1 for an undirected edge. */
  cpdag: Adjacency;
  /** Total BIC score of the DAG (sum of local scores; higher is better). */
  score: number;
  /** DAG edges, in order of effect then cause. */
  edges: GraspEdge[];
  /** The variable order the best DAG was found in. */
  order: number[];
  /** Final score of each restart, in run order. */
  restartScores: number[];
  /** Local scores computed. */
  scoreEvaluations: number;
}

interface SearchLimits {
  depth: number;
  uncoveredDepth: number;
  nonSingularDepth: number;
  tolerance: number;
}

/** Runs GRaSP on data or a covariance matrix. Throws CausalDataError for unusable input. */
export function grasp(input: GraspInput, options: GraspOptions = {}): GraspResult {
  const covariance = toCovariance(input, options.names);
  const names = options.names ?? Array.from({ length: covariance.p }, (_, i) => `x${i}`);
  if (names.length !== covariance.p) {
    throw new RangeError(`${names.length} names for ${covariance.p} variables`);
  }
  const limits: SearchLimits = {
    depth: integerOption('depth', options.depth ?? 3, 1),
    uncoveredDepth: integerOption('uncoveredDepth', options.uncoveredDepth ?? 1, 0),
    nonSingularDepth: integerOption('nonSingularDepth', options.nonSingularDepth ?? 1, 0),
    tolerance: options.tolerance ?? 1e-6,
  };
  if (!(limits.tolerance >= 0)) throw new RangeError(`tolerance must be >= 0, got ${limits.tolerance}`);
  const restarts = integerOption('restarts', options.restarts ?? 3, 1);
  const tiers: SearchLimits[] = options.ordered
    ? [{ ...limits, uncoveredDepth: 0, nonSingularDepth: 0 }, { ...limits, nonSingularDepth: 0 }, limits]
    : [limits];

  const score = new BicScore(covariance, { lambda: options.lambda ?? 1 });
  let choose: ChooseParents = (v, allowed) => growShrink(score, v, allowed);
  if (options.trees !== false) {
    // The trees depend only on the data, so all restarts share them.
    const trees = Array.from({ length: covariance.p }, (_, v) => new GrowShrinkTree(v, score));
    choose = (v, allowed) => trees[v].trace(allowed);
  }
  const seed = options.seed ?? 0;
  // Rng keeps 32 bits of a seed: larger or fractional seeds would silently repeat others.
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`seed must be an integer in [0, 4294967295], got ${seed}`);
  const rng = new Rng(seed);
  let best: { state: OrderState; score: number } | null = null;
  const restartScores: number[] = [];
  for (let r = 0; r < restarts; r++) {
    // Each restart gets its own stream, so restart r does not depend on how long r-1 ran.
    const restartRng = rng.fork();
    const state = new OrderState(
      choose,
      restartRng.shuffle(Array.from({ length: covariance.p }, (_, i) => i)),
    );
    for (const tier of tiers) while (improve(state, tier, restartRng)) continue;
    const total = state.exactTotal();
    restartScores.push(total);
    if (best === null || total > best.score) best = { state, score: total };
    options.onRestart?.(r + 1, best.score);
  }
  return describe(best!.state, best!.score, score, names, restartScores);
}

function integerOption(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function toCovariance(input: GraspInput, names: readonly string[] | undefined): Covariance {
  if (Array.isArray(input)) return covarianceOf(dataFromRows(input as readonly ArrayLike<number>[]), names);
  if ('covariance' in input) return covarianceFrom(input.covariance, input.n, names);
  return covarianceOf(input as DataMatrix, names);
}

/** Best parent set (approximately) of v among the variables `allowed`. */
export type ChooseParents = (v: number, allowed: (x: number) => boolean) => ParentChoice;

/**
 * An order with each variable's parents (chosen among its predecessors) and local score: the
 * search's state and its moves (exported for unit tests of the tuck).
 */
export class OrderState {
  readonly order: number[];
  readonly position: Int32Array;
  readonly parents: number[][];
  readonly local: Float64Array;
  total = 0;

  constructor(
    private readonly choose: ChooseParents,
    order: number[],
  ) {
    const p = order.length;
    this.order = order;
    this.position = new Int32Array(p);
    this.parents = new Array<number[]>(p);
    this.local = new Float64Array(p);
    order.forEach((v, k) => (this.position[v] = k));
    for (let k = 0; k < p; k++) this.total += this.refresh(k);
  }

  /** Re-chooses the parents of the variable at position k; returns the change in its score. */
  private refresh(k: number): number {
    const v = this.order[k];
    const { parents, score } = this.choose(v, (x) => this.position[x] < k);
    const delta = score - this.local[v];
    this.parents[v] = parents;
    this.local[v] = score;
    return delta;
  }

  isCovered(x: number, y: number): boolean {
    const px = this.parents[x];
    const py = this.parents[y];
    return py.length === px.length + 1 && px.every((z) => py.includes(z));
  }

  /**
   * Moves y (position i) and those of its ancestors lying between x (position j) and y to just
   * before x, keeping their relative order; other parents are not re-chosen yet. Returns whether
   * the tuck is singular: no moved ancestor other than y has x as a parent.
   */
  tuck(j: number, i: number): boolean {
    const y = this.order[i];
    const x = this.order[j];
    const ancestor = new Uint8Array(this.order.length);
    const stack = [y];
    ancestor[y] = 1;
    while (stack.length > 0) {
      for (const u of this.parents[stack.pop()!]) {
        if (!ancestor[u]) {
          ancestor[u] = 1;
          stack.push(u);
        }
      }
    }
    const moved: number[] = [];
    const kept: number[] = [x];
    let singular = true;
    for (let k = j + 1; k <= i; k++) {
      const z = this.order[k];
      if (ancestor[z]) {
        moved.push(z);
        if (z !== y && this.parents[z].includes(x)) singular = false;
      } else kept.push(z);
    }
    this.place(j, [...moved, ...kept]);
    return singular;
  }

  /** Re-chooses parents for positions j..i (the only ones a tuck affects); returns the score change. */
  update(j: number, i: number): number {
    let delta = 0;
    for (let k = j; k <= i; k++) delta += this.refresh(k);
    this.total += delta;
    return delta;
  }

  snapshot(j: number, i: number) {
    const segment = this.order.slice(j, i + 1);
    return {
      j,
      segment,
      parents: segment.map((v) => this.parents[v]),
      local: segment.map((v) => this.local[v]),
      total: this.total,
    };
  }

  restore(s: ReturnType<OrderState['snapshot']>): void {
    this.place(s.j, s.segment);
    s.segment.forEach((v, k) => {
      this.parents[v] = s.parents[k];
      this.local[v] = s.local[k];
    });
    this.total = s.total;
  }

  /** The sum of local scores computed afresh (the running total carries rounding from many updates). */
  exactTotal(): number {
    return this.local.reduce((a, b) => a + b, 0);
  }

  /** Identifies the DAG (not the order), for not exploring the same tie twice. */
  signature(): string {
    return this.parents.map((ps) => [...ps].sort((a, b) => a - b).join(',')).join(';');
  }

  private place(j: number, segment: readonly number[]): void {
    segment.forEach((v, k) => {
      this.order[j + k] = v;
      this.position[v] = j + k;
    });
  }
}

/**
 * One pass of depth-limited search from the current order: returns true (leaving the state at
 * the better order) as soon as a sequence of at most `depth` tucks improves the total score by
 * more than the tolerance, whose every intermediate order ties with the start; false (state
 * unchanged) if there is none.
 */
function improve(state: OrderState, limits: SearchLimits, rng: Rng): boolean {
  const start = state.total;
  const visited = new Set([state.signature()]);
  const search = (level: number): boolean => {
    const positions = rng.shuffle(Array.from({ length: state.order.length }, (_, i) => i));
    for (const i of positions) {
      const y = state.order[i];
      for (const x of rng.shuffle([...state.parents[y]])) {
        const covered = state.isCovered(x, y);
        if (!covered && level > limits.uncoveredDepth) continue;
        const j = state.position[x];
        const saved = state.snapshot(j, i);
        const singular = state.tuck(j, i);
        if (singular || level <= limits.nonSingularDepth) {
          state.update(j, i);
          const change = state.total - start;
          if (change > limits.tolerance) return true;
          if (change >= -limits.tolerance && level < limits.depth) {
            const signature = state.signature();
            if (!visited.has(signature)) {
              visited.add(signature);
              if (search(level + 1)) return true;
            }
          }
        }
        state.restore(saved);
      }
    }
    return false;
  };
  return search(1);
}

function describe(
  state: OrderState,
  total: number,
  score: BicScore,
  names: readonly string[],
  restartScores: number[],
): GraspResult {
  const parents = state.parents.map((ps) => [...ps].sort((a, b) => a - b));
  const compelled = new Map(labelEdges(parents).map((e) => [`${e.x},${e.y}`, e.compelled]));
  const edges: GraspEdge[] = parents.flatMap((ps, y) => {
    const beta = score.coefficients(y, ps);
    return ps.map((x, k) => ({
      cause: names[x],
      effect: names[y],
      from: x,
      to: y,
      weight: beta[k],
      compelled: compelled.get(`${x},${y}`)!,
    }));
  });
  const dag = adjacencyOf(parents);
  const cpdag = dag.map((row) => [...row]);
  for (const e of edges) if (!e.compelled) cpdag[e.to][e.from] = 1;
  return {
    dag,
    cpdag,
    score: total,
    edges,
    order: [...state.order],
    restartScores,
    scoreEvaluations: score.evaluations,
  };
}
