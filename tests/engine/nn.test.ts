import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/onnx/builder.js';
import {
  causalMask,
  conv1x1,
  dropout,
  embedding,
  encoderLayer,
  gelu,
  keyPaddingMask,
  layerNorm,
  linear,
  maxPool,
  meanPool,
  mlp,
  multiHeadAttention,
} from '../../src/engine/nn/index.js';
import { openSession, ortTensor } from '../../src/engine/session.js';
import { Rng } from '../../src/util/rng.js';
import { gradCheck } from './gradcheck.js';

const TOL = 1e-5;
const rng = new Rng(5);
const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

describe('layers: gradients match finite differences (float64)', () => {
  it('linear + layerNorm + gelu', async () => {
    const r = await gradCheck((g) =>
      gelu(
        g,
        layerNorm(g, linear(g, g.param('x', [2, 3, 4], { normal: 1 }), 5, { name: 'proj' }), {
          name: 'norm',
        }),
      ),
    );
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('masked multi-head self-attention', async () => {
    const r = await gradCheck((g) => {
      const x = g.param('x', [2, 3, 4], { normal: 1 });
      const valid = g.constant([1, 1, 0, 1, 1, 1], [2, 3], 'bool');
      return multiHeadAttention(g, x, x, { name: 'attn', heads: 2, mask: keyPaddingMask(g, valid) });
    });
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('a whole transformer encoder layer with cross-attention and dropout', async () => {
    const r = await gradCheck(
      (g) => {
        const x = g.param('x', [2, 3, 4], { normal: 1 });
        const context = g.param('context', [2, 2, 4], { normal: 1 });
        return encoderLayer(g, x, {
          name: 'layers.0',
          heads: 2,
          ffnHidden: 8,
          context,
          dropout: 0.2,
          mask: causalMask(g, 3),
          activation: 'gelu',
        });
      },
      { noise: true, maxPerParam: 8 },
    );
    expect(r.unused).toEqual([]);
    expect(r.checked).toBeGreaterThan(100);
    expect(r.worst).toBeLessThan(TOL);
  });

  it('embedding, conv1x1, masked mean pooling, max pooling, mlp', async () => {
    const r = await gradCheck((g) => {
      const ids = g.constant([1, 0, 3, 3], [2, 2], 'int64');
      const tokens = embedding(g, ids, 4, 3, { name: 'emb' });
      const pooled = meanPool(g, tokens, 1, g.constant([1, 0, 1, 1], [2, 2]));
      const map = conv1x1(g, g.param('map', [2, 3, 2, 2], { normal: 1 }), 2, { name: 'conv' });
      const spatial = maxPool(g, g.reshape(map, [0, 0, -1]), 2);
      return mlp(g, g.concat([pooled, spatial], 1), { name: 'head', dims: [4, 2], activation: 'tanh' });
    });
    expect(r.unused).toEqual([]);
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('layers: forward behaviour', () => {
  it('names parameters hierarchically', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 10, 8]);
    encoderLayer(g, x, { name: 'layers.0', heads: 2, ffnHidden: 16 });
    const names = [...g.initializers.values()].filter((i) => i.trainable).map((i) => i.name);
    expect(names).toContain('layers.0.attn.q.weight');
    expect(names).toContain('layers.0.ffn.up.bias');
    expect(names).toContain('layers.0.norm2.weight');
  });

  it('layerNorm normalises the last axis; attention ignores masked keys', async () => {
    const g = new Graph({ float: 'float64', seed: 2 });
    const x = g.input('x', 'float64', ['batch', 3, 4]);
    const valid = g.input('valid', 'bool', ['batch', 3]);
    g.output(layerNorm(g, x, { name: 'norm' }), 'normed');
    g.output(
      multiHeadAttention(g, x, x, { name: 'attn', heads: 2, mask: keyPaddingMask(g, valid) }),
      'attended',
    );
    const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
    const data = randn(12);
    const mask = Uint8Array.from([1, 1, 0]);
    const run = (values: Float64Array) =>
      session.run({ x: ortTensor('float64', values, [1, 3, 4]), valid: ortTensor('bool', mask, [1, 3]) });
    const a = await run(data);
    const row = Array.from((a.normed.data as Float64Array).subarray(0, 4));
    const mean = row.reduce((s, v) => s + v, 0) / 4;
    expect(mean).toBeCloseTo(0, 9);
    // Variance is 1 up to the eps (1e-5) added inside the square root.
    expect(row.reduce((s, v) => s + (v - mean) ** 2, 0) / 4).toBeCloseTo(1, 2);
    // Changing the masked (third) token must not change what the first two tokens attend to.
    const changed = Float64Array.from(data);
    for (let i = 8; i < 12; i++) changed[i] += 5;
    const b = await run(changed);
    const first = (t: typeof a) => Array.from((t.attended.data as Float64Array).subarray(0, 8));
    first(b).forEach((v, i) => expect(v).toBeCloseTo(first(a)[i], 12));
  });

  it('dropout is the identity in inference graphs and rejects bad rates', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    expect(dropout(g, x, 0.5)).toBe(x);
    expect(g.noise).toHaveLength(0);
    expect(() => dropout(g, x, 1)).toThrow(/dropout rate must be in \[0, 1\)/);
  });

  it('reports layer mistakes with the layer name', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 10, 6]);
    expect(() => multiHeadAttention(g, x, x, { name: 'blocks.1.attn', heads: 4 })).toThrow(
      /blocks\.1\.attn: dim 6 is not divisible by 4 heads/,
    );
    const y = g.input('y', 'float32', ['batch', 10, 'feat']);
    expect(() => linear(g, y, 3, { name: 'proj' })).toThrow(/proj: linear needs a fixed feature dimension/);
  });
});
