// Linear-Gaussian BIC local score, computed from the covariance matrix.
//
//   score(y | Pa) = -(n/2) (1 + ln s2) - lambda (|Pa| + 1) ln n,   higher is better,
//
// where s2 is the residual variance (divisor n) of the least-squares regression of y on Pa
// with an intercept. -(n/2)(1 + ln s2) is the maximised Gaussian log-likelihood up to a constant,
// so lambda = 0.5 is the textbook BIC. Conventions elsewhere (see docs/grasp.md):
// - causal-learn HEAD (local_score_BIC via the covariance): the same formula, parameter
//   `lambda_value` = our lambda (its default 2 is much sparser than BIC).
// - TETRAD "penalty discount" c in 2 LL - c k ln n: lambda = c / 2.
// - causal-learn 0.1.3.8-0.1.4.4 lambda_old (n ln s2 + lambda_old |Pa| ln n): lambda = lambda_old / 2.
import type { Covariance } from './covariance.js';

/** What the grow-shrink trees need from a score: decomposable, higher is better. */
export interface LocalScore {
  /** Number of variables. */
  readonly p: number;
  local(y: number, parents: readonly number[]): number;
  /**
   * local(y, [...parents, x]) for each x of `candidates`, possibly computed faster together
   * (must give the same numbers).
   */
  localWithEach?(y: number, parents: readonly number[], candidates: readonly number[]): Float64Array;
}

/** Scores of `parents` plus each candidate, batched when the score supports it. */
export function localWithEach(
  score: LocalScore,
  y: number,
  parents: readonly number[],
  candidates: readonly number[],
): Float64Array {
  if (score.localWithEach) return score.localWithEach(y, parents, candidates);
  return Float64Array.from(candidates, (x) => score.local(y, [...parents, x]));
}

export interface BicOptions {
  /** Penalty multiplier; 0.5 = standard BIC, 1 = TETRAD penalty discount 2. */
  lambda: number;
}

// No (variable, parent set) memo here: the grow-shrink trees keep the scores the search reuses,
// and a memo in front of this measured a 3% hit rate and a 2x slower search (docs/grasp.md).

export class BicScore implements LocalScore {
  readonly p: number;
  readonly n: number;
  readonly lambda: number;
  /** Local scores computed so far, for benchmarks and tests. */
  evaluations = 0;
  private readonly cov: Float64Array;
  private readonly logN: number;
  // Scratch space for the Cholesky factor and the forward solves (no allocation per score).
  private readonly factor: Float64Array;
  private readonly solved: Float64Array;
  private readonly column: Float64Array;

  constructor(covariance: Covariance, options: BicOptions) {
    if (!(options.lambda >= 0) || !Number.isFinite(options.lambda)) {
      throw new RangeError(`lambda must be a finite number >= 0, got ${options.lambda}`);
    }
    const p = covariance.p;
    this.p = p;
    this.n = covariance.n;
    this.cov = covariance.values;
    this.lambda = options.lambda;
    this.logN = Math.log(covariance.n);
    this.factor = new Float64Array(p * p);
    this.solved = new Float64Array(p);
    this.column = new Float64Array(p);
  }

  local(y: number, parents: readonly number[]): number {
    this.evaluations++;
    return this.fromVariance(this.residualVariance(y, parents), parents.length);
  }

  /**
   * Factors S_PP once; each candidate x then adds one row to the factor: O(k^2) per candidate
   * instead of O(k^3). The arithmetic is that of local(y, [...parents, x]), in the same order.
   */
  localWithEach(y: number, parents: readonly number[], candidates: readonly number[]): Float64Array {
    const { p, cov, factor: L, solved: z, column: w } = this;
    const k = parents.length;
    const explained = this.factorise(y, parents);
    const syy = cov[y * p + y];
    const out = new Float64Array(candidates.length);
    candidates.forEach((x, c) => {
      let d = cov[x * p + x];
      for (let r = 0; r < k; r++) {
        let s = cov[x * p + parents[r]];
        for (let m = 0; m < r; m++) s -= w[m] * L[r * p + m];
        w[r] = s / L[r * p + r];
        d -= w[r] * w[r];
      }
      const diagonal = Math.sqrt(Math.max(d, Number.MIN_VALUE));
      let s = cov[x * p + y];
      for (let m = 0; m < k; m++) s -= w[m] * z[m];
      const last = s / diagonal;
      out[c] = this.fromVariance(this.floor(syy, explained + last * last), k + 1);
    });
    this.evaluations += candidates.length;
    return out;
  }

  /** Residual variance of y regressed on `parents` (divisor n). */
  residualVariance(y: number, parents: readonly number[]): number {
    return this.floor(this.cov[y * this.p + y], this.factorise(y, parents));
  }

  /** Least-squares coefficients of `parents` (in the given order) in the regression of y. */
  coefficients(y: number, parents: readonly number[]): number[] {
    const { p, factor: L, solved: z } = this;
    this.factorise(y, parents);
    const beta = new Array<number>(parents.length);
    for (let r = parents.length - 1; r >= 0; r--) {
      let s = z[r];
      for (let m = r + 1; m < parents.length; m++) s -= L[m * p + r] * beta[m];
      beta[r] = s / L[r * p + r];
    }
    return beta;
  }

  private fromVariance(s2: number, parentCount: number): number {
    return -0.5 * this.n * (1 + Math.log(s2)) - this.lambda * (parentCount + 1) * this.logN;
  }

  /** Residual floored at a tiny positive fraction of var(y) against rounding. */
  private floor(syy: number, explained: number): number {
    return Math.max(syy - explained, syy * Number.EPSILON);
  }

  /**
   * Cholesky S_PP = L L' into `factor` (row stride p) and forward solve L z = S_Py into `solved`;
   * returns z.z, the variance of y explained by the parents. covarianceOf/covarianceFrom
   * guarantee S is positive definite, so the factorisation exists.
   */
  private factorise(y: number, parents: readonly number[]): number {
    const { p, cov, factor: L, solved: z } = this;
    const k = parents.length;
    let explained = 0;
    for (let r = 0; r < k; r++) {
      const pr = parents[r];
      let d = cov[pr * p + pr];
      for (let c = 0; c < r; c++) {
        let s = cov[pr * p + parents[c]];
        for (let m = 0; m < c; m++) s -= L[r * p + m] * L[c * p + m];
        L[r * p + c] = s / L[c * p + c];
        d -= L[r * p + c] * L[r * p + c];
      }
      L[r * p + r] = Math.sqrt(Math.max(d, Number.MIN_VALUE));
      let s = cov[pr * p + y];
      for (let m = 0; m < r; m++) s -= L[r * p + m] * z[m];
      z[r] = s / L[r * p + r];
      explained += z[r] * z[r];
    }
    return explained;
  }
}
