import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  CausalDataError,
  covarianceFrom,
  covarianceOf,
  dataFromRows,
  type DataMatrix,
} from '../../src/causal/covariance.js';
import { BicScore } from '../../src/causal/score.js';
import { randomLinearSem, sampleLinearSem } from '../../src/causal/simulate.js';

/** Residual variance of y on `xs` with an intercept, by solving the normal equations directly on the data. */
function olsResidualVariance(data: DataMatrix, y: number, xs: number[]): number {
  const { n, p, values } = data;
  const cols = [-1, ...xs]; // -1 is the intercept
  const get = (r: number, c: number) => (c < 0 ? 1 : values[r * p + c]);
  const k = cols.length;
  // Gauss-Jordan on [X'X | X'y].
  const m = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += get(r, cols[i]) * get(r, cols[j]);
      m[i][j] = s;
    }
    let s = 0;
    for (let r = 0; r < n; r++) s += get(r, cols[i]) * get(r, y);
    m[i][k] = s;
  }
  for (let i = 0; i < k; i++) {
    const piv = m[i][i];
    for (let j = 0; j <= k; j++) m[i][j] /= piv;
    for (let r = 0; r < k; r++) {
      if (r === i) continue;
      const f = m[r][i];
      for (let j = 0; j <= k; j++) m[r][j] -= f * m[i][j];
    }
  }
  let rss = 0;
  for (let r = 0; r < n; r++) {
    let fit = 0;
    for (let i = 0; i < k; i++) fit += m[i][k] * get(r, cols[i]);
    rss += (get(r, y) - fit) ** 2;
  }
  return rss / n;
}

function simulated(p = 6, n = 500, seed = 3): DataMatrix {
  const rng = new Rng(seed);
  return sampleLinearSem(randomLinearSem(p, 7, rng), n, rng);
}

describe('BicScore', () => {
  const data = simulated();
  const cov = covarianceOf(data);

  it('matches an independent OLS computation on the raw data', () => {
    const score = new BicScore(cov, { lambda: 0.5 });
    const n = data.n;
    for (const [y, parents] of [
      [0, []],
      [1, [0]],
      [2, [0, 1]],
      [5, [4, 3, 1]],
      [3, [0, 1, 2, 4, 5]],
    ] as [number, number[]][]) {
      const s2 = olsResidualVariance(data, y, parents);
      expect(score.residualVariance(y, parents)).toBeCloseTo(s2, 10);
      const expected = -(n / 2) * (1 + Math.log(s2)) - 0.5 * (parents.length + 1) * Math.log(n);
      expect(score.local(y, parents)).toBeCloseTo(expected, 6);
    }
  });

  it('gives OLS coefficients that reproduce the simulated weights', () => {
    const rng = new Rng(9);
    const sem = randomLinearSem(5, 6, rng);
    const big = sampleLinearSem(sem, 20000, rng);
    const score = new BicScore(covarianceOf(big), { lambda: 1 });
    sem.parents.forEach((ps, y) => {
      const beta = score.coefficients(y, ps);
      ps.forEach((_, k) => expect(Math.abs(beta[k] - sem.weights[y][k])).toBeLessThan(0.05));
    });
  });

  it('is monotone: more parents never raise the residual variance; with lambda 0 never lower the score', () => {
    const score0 = new BicScore(cov, { lambda: 0 });
    const rng = new Rng(5);
    for (let trial = 0; trial < 30; trial++) {
      const y = rng.int(0, 6);
      const others = rng.shuffle([0, 1, 2, 3, 4, 5].filter((v) => v !== y));
      for (let k = 0; k < others.length; k++) {
        const smaller = others.slice(0, k);
        const larger = others.slice(0, k + 1);
        expect(score0.residualVariance(y, larger)).toBeLessThanOrEqual(
          score0.residualVariance(y, smaller) + 1e-12,
        );
        expect(score0.local(y, larger)).toBeGreaterThanOrEqual(score0.local(y, smaller) - 1e-9);
      }
    }
  });

  it('charges lambda * ln n per parameter: the lambda conventions', () => {
    const parents = [0, 2];
    const half = new BicScore(cov, { lambda: 0.5 }).local(4, parents);
    const one = new BicScore(cov, { lambda: 1 }).local(4, parents);
    // 3 parameters (2 coefficients + the variance) times 0.5 ln n more penalty.
    expect(half - one).toBeCloseTo(0.5 * 3 * Math.log(data.n), 9);
  });

  it('does not depend on the order parents are given in, and counts evaluations', () => {
    const score = new BicScore(cov, { lambda: 1 });
    expect(score.local(1, [0, 3, 5])).toBeCloseTo(score.local(1, [5, 0, 3]), 9);
    expect(score.coefficients(1, [5, 0, 3])).toEqual(
      [5, 0, 3]
        .map((x) => score.coefficients(1, [0, 3, 5])[[0, 3, 5].indexOf(x)])
        .map((b) => expect.closeTo(b, 9)),
    );
    expect(score.evaluations).toBe(2);
  });

  it('scores each one-parent extension in a batch exactly as one at a time', () => {
    const score = new BicScore(cov, { lambda: 1 });
    const y = 3;
    for (const parents of [[], [2], [4, 0], [1, 5, 2]]) {
      const candidates = [0, 1, 2, 4, 5].filter((x) => !parents.includes(x));
      const batch = score.localWithEach(y, parents, candidates);
      candidates.forEach((x, i) => expect(batch[i]).toBe(score.local(y, [...parents, x])));
    }
  });

  it('rejects a negative or non-finite lambda', () => {
    expect(() => new BicScore(cov, { lambda: -1 })).toThrow(/lambda/);
    expect(() => new BicScore(cov, { lambda: NaN })).toThrow(/lambda/);
  });
});

describe('covariance checks', () => {
  it('uses divisor n and is symmetric', () => {
    const c = covarianceOf(
      dataFromRows([
        [1, 2],
        [3, 1],
        [5, 6],
      ]),
    );
    expect(c.values[0]).toBeCloseTo(8 / 3, 12);
    expect(c.values[1]).toBeCloseTo(c.values[2], 12);
    expect(c.values[1]).toBeCloseTo((-2 * -1 + 0 * -2 + 2 * 3) / 3, 12);
  });

  it('rejects NaN and infinity, naming the row and variable', () => {
    const rows = [
      [1, 2],
      [3, NaN],
      [0, 1],
      [2, 2],
    ];
    expect(() => covarianceOf(dataFromRows(rows), ['a', 'b'])).toThrow(/row 2, 'b' \(column 2\) is NaN/);
    rows[1][1] = Infinity;
    expect(() => covarianceOf(dataFromRows(rows))).toThrow(/row 2, column 2 is Infinity/);
  });

  it('rejects constant columns', () => {
    const rows = [
      [1, 7],
      [2, 7],
      [4, 7],
      [3, 7],
    ];
    expect(() => covarianceOf(dataFromRows(rows), ['a', 'b'])).toThrow(/'b' \(column 2\) is constant/);
  });

  it('rejects no more samples than variables', () => {
    expect(() =>
      covarianceOf(
        dataFromRows([
          [1, 2, 3],
          [2, 1, 0],
          [0, 0, 1],
        ]),
      ),
    ).toThrow(/3 samples for 3 variables/);
  });

  it('rejects collinear columns such as probabilities summing to 1', () => {
    const rng = new Rng(1);
    const rows = Array.from({ length: 50 }, () => {
      const a = rng.next();
      const b = (1 - a) * rng.next();
      return [a, b, 1 - a - b];
    });
    expect(() => covarianceOf(dataFromRows(rows))).toThrow(CausalDataError);
    expect(() => covarianceOf(dataFromRows(rows))).toThrow(/column 3 is \(almost\) a linear combination/);
  });

  it('rejects ragged rows and bad covariance matrices', () => {
    expect(() => dataFromRows([[1, 2], [3]])).toThrow(/row 1 has 1 values, expected 2/);
    expect(() =>
      covarianceFrom(
        [
          [1, 0.5],
          [0.4, 1],
        ],
        10,
      ),
    ).toThrow(/not symmetric/);
    expect(() =>
      covarianceFrom(
        [
          [1, 0],
          [0, 1],
        ],
        2,
      ),
    ).toThrow(/n must be an integer > p/);
    expect(() =>
      covarianceFrom(
        [
          [1, 1],
          [1, 1],
        ],
        10,
      ),
    ).toThrow(/linear combination/);
    expect(
      covarianceFrom(
        [
          [2, 1],
          [1, 2],
        ],
        10,
      ).values,
    ).toEqual(Float64Array.of(2, 1, 1, 2));
  });
});
