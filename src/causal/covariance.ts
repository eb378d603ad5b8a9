// Data checks and the covariance matrix the linear-Gaussian BIC score is computed from.
// GRaSP only ever needs the covariance (and n), so data are read once and then dropped.

/** n samples x p variables, row-major. */
export interface DataMatrix {
  n: number;
  p: number;
  values: Float64Array;
}

/** A p x p covariance (row-major, ddof 0) with the sample count it was estimated from. */
export interface Covariance {
  p: number;
  n: number;
  values: Float64Array;
}

/** Input the library cannot use; the message names the variable and says what to do. */
export class CausalDataError extends Error {}

/**
 * Below this fraction of its variance left unexplained by earlier columns, a column counts as a
 * linear combination of them (covariance numerically singular).
 */
export const COLLINEARITY_TOLERANCE = 1e-10;

/** Rows (arrays of equal length) to a DataMatrix, checking shape and finiteness. */
export function dataFromRows(rows: readonly ArrayLike<number>[]): DataMatrix {
  const n = rows.length;
  const p = n > 0 ? rows[0].length : 0;
  const values = new Float64Array(n * p);
  rows.forEach((row, r) => {
    if (row.length !== p) throw new CausalDataError(`row ${r} has ${row.length} values, expected ${p}`);
    for (let c = 0; c < p; c++) values[r * p + c] = row[c];
  });
  return { n, p, values };
}

function variableName(names: readonly string[] | undefined, c: number): string {
  return names?.[c] !== undefined ? `'${names[c]}' (column ${c + 1})` : `column ${c + 1}`;
}

/**
 * Covariance with divisor n (as causal-learn's BIC). Rejects, with a message naming the variable:
 * no variables, n <= p, non-finite values, constant columns, and columns that are (almost) linear
 * combinations of others, since the Gaussian likelihood is degenerate for all of these.
 */
export function covarianceOf(data: DataMatrix, names?: readonly string[]): Covariance {
  const { n, p, values } = data;
  if (p === 0) throw new CausalDataError('the data have no variables (columns)');
  if (n <= p) {
    throw new CausalDataError(
      `${n} samples for ${p} variables: GRaSP's Gaussian score needs more samples than variables ` +
        '(the covariance matrix is singular otherwise); add samples or drop variables',
    );
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const r = Math.floor(i / p);
      throw new CausalDataError(
        `row ${r + 1}, ${variableName(names, i % p)} is ${values[i]}: missing or non-finite values are not ` +
          'supported; drop or impute those rows first',
      );
    }
  }
  const mean = new Float64Array(p);
  for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) mean[c] += values[r * p + c];
  for (let c = 0; c < p; c++) mean[c] /= n;
  const cov = new Float64Array(p * p);
  const centred = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < p; c++) centred[c] = values[r * p + c] - mean[c];
    for (let a = 0; a < p; a++) {
      const xa = centred[a];
      for (let b = a; b < p; b++) cov[a * p + b] += xa * centred[b];
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) {
      cov[a * p + b] /= n;
      cov[b * p + a] = cov[a * p + b];
    }
  }
  const result = { p, n, values: cov };
  checkNonSingular(result, names);
  return result;
}

/**
 * Validates a covariance given directly (square, symmetric, finite, n > p, non-singular).
 */
export function covarianceFrom(matrix: readonly ArrayLike<number>[], n: number, names?: readonly string[]) {
  const p = matrix.length;
  if (p === 0) throw new CausalDataError('the covariance matrix is empty');
  if (!Number.isInteger(n) || n <= p) {
    throw new CausalDataError(`the sample count n must be an integer > p = ${p}, got ${n}`);
  }
  const values = new Float64Array(p * p);
  matrix.forEach((row, a) => {
    if (row.length !== p)
      throw new CausalDataError(`covariance row ${a + 1} has ${row.length} values, not ${p}`);
    for (let b = 0; b < p; b++) {
      if (!Number.isFinite(row[b]))
        throw new CausalDataError(`covariance entry (${a + 1}, ${b + 1}) is ${row[b]}`);
      values[a * p + b] = row[b];
    }
  });
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < a; b++) {
      const x = values[a * p + b];
      const y = values[b * p + a];
      if (Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))) {
        throw new CausalDataError(`the covariance matrix is not symmetric at (${a + 1}, ${b + 1})`);
      }
    }
  }
  const result = { p, n, values };
  checkNonSingular(result, names);
  return result;
}

/**
 * Cholesky of the correlation matrix; the first column whose unexplained variance fraction falls
 * below COLLINEARITY_TOLERANCE is reported (constant columns are caught before).
 */
function checkNonSingular(cov: Covariance, names: readonly string[] | undefined): void {
  const { p, values } = cov;
  for (let c = 0; c < p; c++) {
    if (!(values[c * p + c] > 0)) {
      throw new CausalDataError(
        `${variableName(names, c)} is constant (variance 0): it carries no information for causal ` +
          'discovery; drop it',
      );
    }
  }
  const L = new Float64Array(p * p);
  const corr = (a: number, b: number) => values[a * p + b] / Math.sqrt(values[a * p + a] * values[b * p + b]);
  for (let c = 0; c < p; c++) {
    for (let r = c; r < p; r++) {
      let s = corr(r, c);
      for (let k = 0; k < c; k++) s -= L[r * p + k] * L[c * p + k];
      if (r === c) {
        if (s < COLLINEARITY_TOLERANCE) {
          throw new CausalDataError(
            `${variableName(names, c)} is (almost) a linear combination of earlier columns ` +
              `(unexplained variance fraction ${s.toExponential(2)}), e.g. probabilities that sum to 1 ` +
              'or a duplicated column; the Gaussian score is degenerate: drop one of the dependent columns',
          );
        }
        L[c * p + c] = Math.sqrt(s);
      } else L[r * p + c] = s / L[c * p + c];
    }
  }
}
