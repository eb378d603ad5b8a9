import { describe, expect, it } from 'vitest';
import { Graph, Tensor } from '../../src/engine/onnx/builder.js';
import { openSession } from '../../src/engine/session.js';
import {
  bce,
  bceWithLogits,
  combineLosses,
  crossEntropy,
  infoNce,
  jsDivergence,
  klDivergence,
  l1,
  mse,
  tripletMargin,
} from '../../src/engine/losses.js';
import { Rng } from '../../src/util/rng.js';
import { gradCheck } from './gradcheck.js';

const rng = new Rng(9);
const rand = (n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => rng.uniform(lo, hi));
const probs = (rows: number, cols: number) => {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = rand(cols, 0.1, 1);
    const s = row.reduce((a, b) => a + b, 0);
    out.push(...row.map((v) => v / s));
  }
  return out;
};

/** Evaluates a scalar loss built on a float64 graph. */
async function value(build: (g: Graph) => Tensor): Promise<number> {
  const g = new Graph({ float: 'float64' });
  g.output(build(g), 'loss');
  const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
  return (await session.run({})).loss.data[0] as number;
}

const t = rand(6, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
const x = rand(6, -3, 3);
const p = rand(6, 0.05, 0.95);
const sig = (v: number) => 1 / (1 + Math.exp(-v));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('loss values match direct computation', () => {
  it('bce on probabilities, with clamping', async () => {
    const want = -mean(p.map((q, i) => t[i] * Math.log(q) + (1 - t[i]) * Math.log(1 - q)));
    expect(await value((g) => bce(g, g.constant(p, [6]), g.constant(t, [6])))).toBeCloseTo(want, 12);
    // A probability of exactly 0 for a positive target is clamped, not -log(0) = Infinity.
    const clamped = await value((g) => bce(g, g.constant([0], [1]), g.constant([1], [1])));
    expect(clamped).toBeCloseTo(-Math.log(1e-7), 6);
  });

  it('bce with logits equals bce of sigmoid and stays finite for large logits', async () => {
    const want = -mean(x.map((v, i) => t[i] * Math.log(sig(v)) + (1 - t[i]) * Math.log(1 - sig(v))));
    expect(await value((g) => bceWithLogits(g, g.constant(x, [6]), g.constant(t, [6])))).toBeCloseTo(
      want,
      12,
    );
    expect(
      await value((g) => bceWithLogits(g, g.constant([800, -800], [2]), g.constant([0, 1], [2]))),
    ).toBeCloseTo(800, 9);
  });

  it('cross-entropy with class ids and with soft targets', async () => {
    const logits = rand(6);
    const ids = [2, 0];
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const rows = [logits.slice(0, 3), logits.slice(3)];
    const want = mean(rows.map((r, i) => lse(r) - r[ids[i]]));
    expect(
      await value((g) => crossEntropy(g, g.constant(logits, [2, 3]), g.constant(ids, [2], 'int64'))),
    ).toBeCloseTo(want, 12);
    const soft = probs(2, 3);
    const wantSoft = mean(rows.map((r, i) => -r.reduce((s, v, k) => s + soft[3 * i + k] * (v - lse(r)), 0)));
    expect(
      await value((g) => crossEntropy(g, g.constant(logits, [2, 3]), g.constant(soft, [2, 3]))),
    ).toBeCloseTo(wantSoft, 12);
  });

  it('mse, l1, KL, JS and triplet margin', async () => {
    const a = rand(6);
    const b = rand(6);
    expect(await value((g) => mse(g, g.constant(a, [6]), g.constant(b, [6])))).toBeCloseTo(
      mean(a.map((v, i) => (v - b[i]) ** 2)),
      12,
    );
    expect(await value((g) => l1(g, g.constant(a, [6]), g.constant(b, [6])))).toBeCloseTo(
      mean(a.map((v, i) => Math.abs(v - b[i]))),
      12,
    );
    const P = probs(2, 3);
    const Q = probs(2, 3);
    const kl = (u: number[], v: number[]) =>
      mean(
        [0, 1].map((r) =>
          [0, 1, 2].reduce((s, k) => s + u[3 * r + k] * Math.log(u[3 * r + k] / v[3 * r + k]), 0),
        ),
      );
    expect(await value((g) => klDivergence(g, g.constant(P, [2, 3]), g.constant(Q, [2, 3])))).toBeCloseTo(
      kl(P, Q),
      6,
    );
    const M = P.map((v, i) => (v + Q[i]) / 2);
    expect(await value((g) => jsDivergence(g, g.constant(P, [2, 3]), g.constant(Q, [2, 3])))).toBeCloseTo(
      (kl(P, M) + kl(Q, M)) / 2,
      6,
    );
    expect(await value((g) => jsDivergence(g, g.constant(P, [2, 3]), g.constant(P, [2, 3])))).toBeCloseTo(
      0,
      9,
    );
    const dist = (u: number[], v: number[]) => Math.sqrt(u.reduce((s, w, i) => s + (w - v[i]) ** 2, 0));
    const [an, po, ne] = [rand(3), rand(3), rand(3)];
    expect(
      await value((g) =>
        tripletMargin(g, g.constant(an, [1, 3]), g.constant(po, [1, 3]), g.constant(ne, [1, 3]), 0.5),
      ),
    ).toBeCloseTo(Math.max(0, dist(an, po) - dist(an, ne) + 0.5), 9);
  });

  it('InfoNCE: low for matching pairs, ln(B) for uninformative ones', async () => {
    // Orthogonal unit rows: each row matches only itself.
    const a = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
    const matched = await value((g) =>
      infoNce(g, g.constant(a, [3, 4]), g.constant(a, [3, 4]), { temperature: 0.01 }),
    );
    expect(matched).toBeLessThan(1e-6);
    const ones = new Array(12).fill(1);
    expect(
      await value((g) =>
        infoNce(g, g.constant(ones, [3, 4]), g.constant(ones, [3, 4]), { temperature: 0.1 }),
      ),
    ).toBeCloseTo(Math.log(3), 12);
  });
});

describe('loss gradients match finite differences (float64)', () => {
  const cases: [string, (g: Graph) => Tensor][] = [
    ['bce', (g) => bce(g, g.sigmoid(g.param('z', [6], { normal: 1 })), g.constant(t, [6]))],
    ['bceWithLogits', (g) => bceWithLogits(g, g.param('z', [6], { normal: 2 }), g.constant(t, [6]))],
    [
      'crossEntropy ids',
      (g) => crossEntropy(g, g.param('z', [2, 3], { normal: 1 }), g.constant([1, 2], [2], 'int64')),
    ],
    [
      'crossEntropy soft',
      (g) => crossEntropy(g, g.param('z', [2, 3], { normal: 1 }), g.constant(probs(2, 3), [2, 3])),
    ],
    ['mse', (g) => mse(g, g.param('z', [4], { normal: 1 }), g.constant(rand(4), [4]))],
    ['l1', (g) => l1(g, g.param('z', [4], { normal: 1 }), g.constant(rand(4), [4]))],
    [
      'infoNce soft targets',
      (g) =>
        infoNce(g, g.param('a', [3, 4], { normal: 1 }), g.param('b', [3, 4], { normal: 1 }), {
          temperature: 0.5,
          targets: g.constant(probs(3, 3), [3, 3]),
        }),
    ],
    [
      'infoNce diagonal',
      (g) =>
        infoNce(g, g.param('a', [3, 4], { normal: 1 }), g.param('b', [3, 4], { normal: 1 }), {
          temperature: 0.2,
        }),
    ],
    [
      'tripletMargin',
      (g) =>
        tripletMargin(
          g,
          g.param('a', [2, 3], { normal: 1 }),
          g.param('p', [2, 3], { normal: 1 }),
          g.param('n', [2, 3], { normal: 1 }),
          2,
        ),
    ],
    [
      'klDivergence',
      (g) =>
        klDivergence(
          g,
          g.softmax(g.param('p', [2, 3], { normal: 1 })),
          g.softmax(g.param('q', [2, 3], { normal: 1 })),
        ),
    ],
    [
      'jsDivergence',
      (g) =>
        jsDivergence(
          g,
          g.softmax(g.param('p', [2, 3], { normal: 1 })),
          g.softmax(g.param('q', [2, 3], { normal: 1 })),
        ),
    ],
    [
      'learnable loss weights',
      (g) => {
        const z = g.param('z', [3], { normal: 1 });
        return combineLosses(
          g,
          { a: mse(g, z, g.constant([1, 2, 3], [3])), b: l1(g, z, g.constant([0, 0, 0], [3])) },
          { learnable: true },
        );
      },
    ],
  ];
  for (const [name, f] of cases) {
    it(name, async () => {
      const r = await gradCheck(f);
      expect(r.unused).toEqual([]);
      expect(r.worst).toBeLessThan(1e-5);
    });
  }
});
