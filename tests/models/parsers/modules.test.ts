// LINK's modules against the plain-TS references (float64, random weights and inputs), the
// dynamic lambda at its branch points, finite-difference gradient checks of every LINK piece,
// and the builder's weight sharing that the backbone relies on.
import { describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import { Graph, Tensor } from '../../../src/engine/onnx/builder.js';
import { linear } from '../../../src/engine/nn/index.js';
import {
  adaptiveInteraction,
  avssTarget,
  dynamicLambda,
  plsim,
  segmentedSimilarityLoss,
  tsam,
} from '../../../src/models/parsers/index.js';
import { openSession, ortTensor } from '../../../src/engine/session.js';
import { Rng } from '../../../src/util/rng.js';
import { gradCheck } from '../../engine/gradcheck.js';
import { avssTargetRef, interactionRef, lambdaRef, plsimRef, rows, tsamRef, type M } from './reference.js';

const B = 2;
const T = 4;
const H = 3;

function randomArray(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** Runs a float64 graph after giving every parameter random values (biases included). */
async function run(
  g: Graph,
  outputs: Record<string, Tensor>,
  feeds: Record<string, ort.Tensor>,
  rng: Rng,
): Promise<{ out: Record<string, Float64Array>; param: (name: string, cols?: number) => M }> {
  for (const init of g.initializers.values())
    if (init.trainable) init.data = randomArray(rng, init.data.length);
  for (const [name, t] of Object.entries(outputs)) g.output(t, name);
  const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
  const result = await session.run(feeds);
  const out = Object.fromEntries(Object.keys(outputs).map((k) => [k, result[k].data as Float64Array]));
  const param = (name: string, cols?: number) => {
    const init = g.initializers.get(name);
    if (!init) throw new Error(`no parameter ${name}`);
    return rows(init.data as Float64Array, cols ?? init.shape[init.shape.length - 1]);
  };
  return { out, param };
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol * Math.max(1, Math.abs(expected[i])));
  }
}

const sample = (data: Float64Array, b: number, t: number, h: number) =>
  rows(data.subarray(b * t * h, (b + 1) * t * h), h);

describe('LINK modules against plain-TS references', () => {
  it('TSAM: temporal weights from per-segment avg/max pooling, spatial weights from time pooling', async () => {
    const rng = new Rng(1);
    const g = new Graph({ float: 'float64', seed: 1 });
    const x = g.input('x', 'float64', ['batch', T, H]);
    const data = randomArray(rng, B * T * H);
    const { out, param } = await run(
      g,
      { y: tsam(g, x, { name: 'tsam', reduction: 2 }) },
      { x: ortTensor('float64', data, [B, T, H]) },
      rng,
    );
    const weights = {
      w0: param('tsam.temporal.layers.0.weight'),
      b0: param('tsam.temporal.layers.0.bias')[0],
      w1: param('tsam.temporal.layers.1.weight'),
      b1: param('tsam.temporal.layers.1.bias')[0],
      ws: param('tsam.spatial.weight'),
      bs: param('tsam.spatial.bias')[0],
      tau: param('tsam.tau', 1)[0][0],
    };
    expect(weights.w0.length).toBe(T); // the temporal MLP runs over the segment axis
    const expected = [0, 1].flatMap((b) => tsamRef(sample(data, b, T, H), weights).flat());
    expectClose(out.y, expected);
  });

  it('adaptive interaction: f + alpha softmax(f g^T / sqrt(H)) (beta g), both directions from the inputs', async () => {
    const rng = new Rng(2);
    const g = new Graph({ float: 'float64', seed: 2 });
    const a = g.input('a', 'float64', ['batch', T, H]);
    const v = g.input('v', 'float64', ['batch', T, H]);
    const y = adaptiveInteraction(g, a, v, { name: 'inter' });
    const ad = randomArray(rng, B * T * H);
    const vd = randomArray(rng, B * T * H);
    const feeds = { a: ortTensor('float64', ad, [B, T, H]), v: ortTensor('float64', vd, [B, T, H]) };
    const { out } = await run(g, { ya: y.audio, yv: y.visual }, feeds, rng);
    const scalar = (name: string) => (g.initializers.get(`inter.${name}`)!.data as Float64Array)[0];
    // onnxruntime's float64 Softmax agrees with Math.exp to about 1e-8, not to the last bit
    const tol = 1e-7;
    for (let b = 0; b < B; b++) {
      const [sa, sv] = [sample(ad, b, T, H), sample(vd, b, T, H)];
      expectClose(
        out.ya.subarray(b * T * H, (b + 1) * T * H),
        interactionRef(sa, sv, scalar('alpha_audio'), scalar('beta_audio')).flat(),
        tol,
      );
      expectClose(
        out.yv.subarray(b * T * H, (b + 1) * T * H),
        interactionRef(sv, sa, scalar('alpha_visual'), scalar('beta_visual')).flat(),
        tol,
      );
    }
  });

  it('PLSIM: F = f * gamma1 + gamma2 + f from the class-embedding mean of the weighted classes', async () => {
    const rng = new Rng(3);
    const C = 5;
    const E = 2;
    const g = new Graph({ float: 'float64', seed: 3 });
    const f = g.input('f', 'float64', ['batch', T, H]);
    const p = g.input('p', 'float64', ['batch', T, C]);
    const fd = randomArray(rng, B * T * H);
    const pd = Float64Array.from({ length: B * T * C }, (_, i) => (i % 3 === 0 ? 1 : i % 7 === 0 ? 0.4 : 0));
    const feeds = { f: ortTensor('float64', fd, [B, T, H]), p: ortTensor('float64', pd, [B, T, C]) };
    const { out, param } = await run(g, { y: plsim(g, f, p, { name: 'pl', embedding: E }) }, feeds, rng);
    const gamma = (k: string): [M, number[], M, number[]] => [
      param(`pl.${k}.layers.0.weight`),
      param(`pl.${k}.layers.0.bias`)[0],
      param(`pl.${k}.layers.1.weight`),
      param(`pl.${k}.layers.1.bias`)[0],
    ];
    const w = { table: param('pl.class_embedding'), g1: gamma('gamma1'), g2: gamma('gamma2') };
    const expected = [0, 1].flatMap((b) => plsimRef(sample(fd, b, T, H), sample(pd, b, T, C), w).flat());
    expectClose(out.y, expected);
  });

  it('lambda(s, mu) at and around its branch points', async () => {
    const s = [-1, -0.2, -0.19999, -0.1, -1e-9, 0, 0.3, 1];
    for (const mu of [0.3, 1, 2.5]) {
      const g = new Graph({ float: 'float64' });
      const st = g.input('s', 'float64', [s.length]);
      const lambda = dynamicLambda(g, st, g.scalar(mu));
      g.output(lambda, 'lambda');
      const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
      const res = await session.run({ s: ortTensor('float64', Float64Array.from(s), [s.length]) });
      expectClose(
        res.lambda.data as Float64Array,
        s.map((x) => lambdaRef(x, mu)),
        1e-12,
      );
    }
    const k = Math.exp(0.7);
    expect([lambdaRef(-0.2, 0.3), lambdaRef(-0.1, 0.3), lambdaRef(0, 0.3), lambdaRef(1, 0.3)]).toEqual([
      1,
      k,
      k,
      1,
    ]);
  });

  it("AVSS target: LEAP's C / (1 + C) + 0.01 with C = Pa Pv^T / m", async () => {
    const C = 4;
    const g = new Graph({ float: 'float64' });
    const pa = g.input('pa', 'float64', ['batch', T, C]);
    const pv = g.input('pv', 'float64', ['batch', T, C]);
    g.output(avssTarget(g, pa, pv), 'target');
    const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
    const a = Float64Array.from({ length: B * T * C }, (_, i) => (i < T * C ? +(i % 3 === 0) : 0)); // sample 1: no labels
    const v = Float64Array.from({ length: B * T * C }, (_, i) => +(i % 2 === 0));
    const res = await session.run({
      pa: ortTensor('float64', a, [B, T, C]),
      pv: ortTensor('float64', v, [B, T, C]),
    });
    const expected = [0, 1].flatMap((b) => avssTargetRef(sample(a, b, T, C), sample(v, b, T, C)).flat());
    expectClose(res.target.data as Float64Array, expected, 1e-12);
    expect(Array.from(res.target.data as Float64Array).slice(T * T)).toEqual(new Array(T * T).fill(0.01));
  });
});

describe('gradients of the LINK pieces (float64 finite differences)', () => {
  const TOL = 1e-5;
  const input = (g: Graph, name: string, c = H) => g.param(name, [B, T, c], { normal: 1 });

  it('TSAM', async () => {
    const r = await gradCheck((g) => tsam(g, input(g, 'x'), { name: 'tsam', reduction: 2 }));
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('adaptive interaction (alpha and beta included)', async () => {
    const r = await gradCheck((g) => {
      const y = adaptiveInteraction(g, input(g, 'a'), input(g, 'v'), { name: 'inter' });
      return g.concat([y.audio, y.visual], 2);
    });
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('PLSIM (class-embedding table and both gamma MLPs)', async () => {
    const r = await gradCheck((g) => {
      const p = g.constant(
        Array.from({ length: B * T * 5 }, (_, i) => (i % 4 === 0 ? 1 : 0.2)),
        [B, T, 5],
      );
      return plsim(g, input(g, 'f'), p, { name: 'pl', embedding: 2 });
    });
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  const sloss = (g: Graph, features: 'param' | 'constant', detachLambda: boolean) => {
    const pa = g.constant(
      Array.from({ length: B * T * 3 }, (_, i) => +(i % 2 === 0)),
      [B, T, 3],
    );
    const pv = g.constant(
      Array.from({ length: B * T * 3 }, (_, i) => +(i % 3 === 0)),
      [B, T, 3],
    );
    const rng = new Rng(5);
    const f = (name: string) =>
      features === 'param' ? input(g, name) : g.constant(randomArray(rng, B * T * H), [B, T, H]);
    return segmentedSimilarityLoss(g, f('a'), f('v'), avssTarget(g, pa, pv), { name: 'sloss', detachLambda })
      .loss;
  };

  it('S-LOSS with lambda differentiated in s: gradients to the features and to mu', async () => {
    const r = await gradCheck((g) => sloss(g, 'param', false));
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('S-LOSS as trained (lambda detached from s): the gradient to mu', async () => {
    const r = await gradCheck((g) => sloss(g, 'constant', true));
    expect(r.checked).toBe(1);
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('Graph.reuse (weight sharing)', () => {
  it('returns the same parameter for the same name, and refuses another shape', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const first = g.reuse(() => linear(g, x, 4, { name: 'shared' }));
    const second = g.reuse(() => linear(g, x, 4, { name: 'shared' }));
    expect(first.name).not.toBe(second.name);
    expect([...g.initializers.keys()].filter((k) => k.startsWith('shared.'))).toEqual([
      'shared.weight',
      'shared.bias',
    ]);
    expect(() => g.reuse(() => linear(g, x, 5, { name: 'shared' }))).toThrow(
      /shared parameter 'shared.weight' is \[3,4\], requested \[3,5\]/,
    );
    expect(() => linear(g, x, 4, { name: 'shared' })).toThrow(/already used/);
  });
});
