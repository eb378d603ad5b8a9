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

  constructor(covariance: Covariance, options: BicOptions) {
    if (!(options.lambda >= 0) || !Number.isFinite(options.lambda)) {
      throw new RangeError(`lambda must be a finite number >= 0, got ${options.lambda}`);
    }
    this.p = covariance.p;
    this.n = covariance.n;
    this.cov = covariance.values;
    this.lambda = options.lambda;
    this.logN = Math.log(covariance.n);
  }

  local(y: number, parents: readonly number[]): number {
    this.evaluations++;
    const s2 = this.regress(y, parents).variance;
    return -0.5 * this.n * (1 + Math.log(s2)) - this.lambda * (parents.length + 1) * this.logN;
  }

  /** Residual variance of y regressed on `parents` (divisor n). */
  residualVariance(y: number, parents: readonly number[]): number {
    return this.regress(y, parents).variance;
  }

  /** Least-squares coefficients of `parents` (in the given order) in the regression of y. */
  coefficients(y: number, parents: readonly number[]): number[] {
    return this.regress(y, parents).beta;
  }

  /**
   * Solves S_PP beta = S_Py by Cholesky. covarianceOf/covarianceFrom guarantee S is positive
   * definite, so the factorisation exists; the residual is floored at a tiny positive fraction
   * of var(y) against rounding.
   */
  private regress(y: number, parents: readonly number[]): { variance: number; beta: number[] } {
    const { p, cov } = this;
    const k = parents.length;
    const syy = cov[y * p + y];
    if (k === 0) return { variance: syy, beta: [] };
    const L = new Float64Array(k * k);
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) {
        let s = cov[parents[r] * p + parents[c]];
        for (let m = 0; m < c; m++) s -= L[r * k + m] * L[c * k + m];
        L[r * k + c] = r === c ? Math.sqrt(Math.max(s, Number.MIN_VALUE)) : s / L[c * k + c];
      }
    }
    // Forward solve L w = S_Py; explained variance is w.w.
    const w = new Float64Array(k);
    let explained = 0;
    for (let r = 0; r < k; r++) {
      let s = cov[parents[r] * p + y];
      for (let m = 0; m < r; m++) s -= L[r * k + m] * w[m];
      w[r] = s / L[r * k + r];
      explained += w[r] * w[r];
    }
    // Back solve L' beta = w.
    const beta = new Array<number>(k);
    for (let r = k - 1; r >= 0; r--) {
      let s = w[r];
      for (let m = r + 1; m < k; m++) s -= L[m * k + r] * beta[m];
      beta[r] = s / L[r * k + r];
    }
    return { variance: Math.max(syy - explained, syy * Number.EPSILON), beta };
  }
}
