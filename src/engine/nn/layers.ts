// Basic layers over the graph builder. Each layer is a function that takes the Graph, its
// input and options, creates its parameters under `name` (so names nest: 'layers.0.ffn.up.weight')
// and returns its output tensor. Layers work on the last axis and accept any leading dims.

import { Graph, Tensor } from '../onnx/builder.js';

export type Activation = 'relu' | 'gelu' | 'tanh' | 'sigmoid' | 'none';

function featureDim(g: Graph, x: Tensor, layer: string): number {
  const d = x.shape[x.rank - 1];
  if (typeof d !== 'number')
    throw new Error(`${g.scopePath()}: ${layer} needs a fixed feature dimension, got [${x.shape}]`);
  return d;
}

/** y = x W + b with W [in, out] (Glorot-uniform init), b zeros. */
export function linear(g: Graph, x: Tensor, out: number, opts: { name: string; bias?: boolean }): Tensor {
  return g.scope(opts.name, () => {
    const inDim = featureDim(g, x, 'linear');
    const w = g.param('weight', [inDim, out], { uniform: Math.sqrt(6 / (inDim + out)) });
    const y = g.matmul(x, w);
    return opts.bias === false ? y : g.add(y, g.param('bias', [out], 'zeros'));
  });
}

/** Normalises the last axis to zero mean, unit variance, then scales and shifts. */
export function layerNorm(g: Graph, x: Tensor, opts: { name: string; eps?: number }): Tensor {
  return g.scope(opts.name, () => {
    const d = featureDim(g, x, 'layerNorm');
    const centred = g.sub(x, g.reduceMean(x, [-1], true));
    const variance = g.reduceMean(g.mul(centred, centred), [-1], true);
    const normed = g.div(centred, g.sqrt(g.add(variance, opts.eps ?? 1e-5)));
    return g.add(g.mul(normed, g.param('weight', [d], 'ones')), g.param('bias', [d], 'zeros'));
  });
}

/** GELU, tanh approximation (composed of ops that run in float32 and float64). */
export function gelu(g: Graph, x: Tensor): Tensor {
  const inner = g.mul(g.add(x, g.mul(g.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return g.mul(g.mul(x, 0.5), g.add(g.tanh(inner), 1));
}

export function activation(g: Graph, x: Tensor, kind: Activation): Tensor {
  switch (kind) {
    case 'relu':
      return g.relu(x);
    case 'gelu':
      return gelu(g, x);
    case 'tanh':
      return g.tanh(x);
    case 'sigmoid':
      return g.sigmoid(x);
    case 'none':
      return x;
  }
}

/**
 * Inverted dropout, active only in training graphs. The mask comes from a noise input that the
 * trainer fills from its seeded Rng, so runs (and resumed runs) are reproducible.
 */
export function dropout(g: Graph, x: Tensor, rate: number): Tensor {
  if (rate < 0 || rate >= 1) throw new Error(`${g.scopePath()}: dropout rate must be in [0, 1), got ${rate}`);
  if (!g.training || rate === 0) return x;
  const noise = g.noiseInput(x.shape);
  return g.where(g.less(noise, rate), 0, g.mul(x, 1 / (1 - rate)));
}

export interface MlpOptions {
  name: string;
  /** Hidden and output sizes, e.g. [64, 64, 2]. */
  dims: number[];
  activation?: Activation;
  dropout?: number;
}

/** Stack of linear layers with an activation (and dropout) between them, none after the last. */
export function mlp(g: Graph, x: Tensor, opts: MlpOptions): Tensor {
  return g.scope(opts.name, () => {
    let h = x;
    opts.dims.forEach((d, i) => {
      h = linear(g, h, d, { name: `layers.${i}` });
      if (i < opts.dims.length - 1)
        h = dropout(g, activation(g, h, opts.activation ?? 'relu'), opts.dropout ?? 0);
    });
    return h;
  });
}

/** Rows of a [vocab, dim] table for int64 ids of any shape -> [...ids.shape, dim]. */
export function embedding(g: Graph, ids: Tensor, vocab: number, dim: number, opts: { name: string }): Tensor {
  return g.scope(opts.name, () => g.gather(g.param('weight', [vocab, dim], { normal: 0.02 }), ids));
}

/** 1x1 convolution over a [batch, channels, h, w] map -> [batch, out, h, w]. */
export function conv1x1(g: Graph, x: Tensor, out: number, opts: { name: string }): Tensor {
  if (x.rank !== 4)
    throw new Error(`${g.scopePath()}: conv1x1 expects [batch, channels, h, w], got [${x.shape}]`);
  const channelsLast = g.transpose(x, [0, 2, 3, 1]);
  return g.transpose(linear(g, channelsLast, out, opts), [0, 3, 1, 2]);
}

/** Mean over `axis`; with a {0,1} float `mask` of x's shape without the feature axis, a masked mean. */
export function meanPool(g: Graph, x: Tensor, axis: number, mask?: Tensor): Tensor {
  if (!mask) return g.reduceMean(x, [axis]);
  const m = g.unsqueeze(mask, [-1]);
  const total = g.reduceSum(g.mul(x, m), [axis]);
  return g.div(total, g.add(g.reduceSum(m, [axis]), 1e-9));
}

export function maxPool(g: Graph, x: Tensor, axis: number): Tensor {
  return g.reduceMax(x, [axis]);
}
