// Multi-head attention, the position-wise feed-forward block and a transformer encoder layer.
// Masks are bool tensors broadcastable to [batch, heads, queries, keys]; true = may attend.

import { Graph, Tensor } from '../onnx/builder.js';
import { Activation, activation, dropout, layerNorm, linear } from './layers.js';

export interface AttentionOptions {
  name: string;
  heads: number;
  /** bool, broadcastable to [batch, heads, queries, keys]; see keyPaddingMask/causalMask. */
  mask?: Tensor;
  dropout?: number;
}

/** Splits [B, T, D] into [B, heads, T, D/heads]. */
function splitHeads(g: Graph, x: Tensor, heads: number, dim: number): Tensor {
  return g.transpose(g.reshape(x, [0, 0, heads, dim / heads]), [0, 2, 1, 3]);
}

/**
 * Scaled dot-product attention of `query` [B, Tq, D] over `context` [B, Tk, D] (pass the same
 * tensor for self-attention). Returns [B, Tq, D].
 */
export function multiHeadAttention(g: Graph, query: Tensor, context: Tensor, opts: AttentionOptions): Tensor {
  return g.scope(opts.name, () => {
    const d = query.shape[2];
    if (query.rank !== 3 || context.rank !== 3 || typeof d !== 'number') {
      throw new Error(
        `${g.scopePath()}: attention expects [batch, time, dim] inputs, got [${query.shape}] and [${context.shape}]`,
      );
    }
    if (d % opts.heads !== 0)
      throw new Error(`${g.scopePath()}: dim ${d} is not divisible by ${opts.heads} heads`);
    const q = splitHeads(g, linear(g, query, d, { name: 'q' }), opts.heads, d);
    const k = splitHeads(g, linear(g, context, d, { name: 'k' }), opts.heads, d);
    const v = splitHeads(g, linear(g, context, d, { name: 'v' }), opts.heads, d);
    let scores = g.mul(g.matmul(q, g.transposeLast(k)), 1 / Math.sqrt(d / opts.heads));
    if (opts.mask) scores = g.where(opts.mask, scores, -1e9);
    const weights = dropout(g, g.softmax(scores, -1), opts.dropout ?? 0);
    const merged = g.reshape(g.transpose(g.matmul(weights, v), [0, 2, 1, 3]), [0, 0, d]);
    return linear(g, merged, d, { name: 'out' });
  });
}

/** [B, Tk] bool (true = real token) -> [B, 1, 1, Tk] attention mask. */
export function keyPaddingMask(g: Graph, valid: Tensor): Tensor {
  return g.unsqueeze(valid, [1, 2]);
}

/** [T, T] bool mask letting position i attend to positions <= i. */
export function causalMask(g: Graph, length: number): Tensor {
  const values: number[] = [];
  for (let i = 0; i < length; i++) for (let j = 0; j < length; j++) values.push(j <= i ? 1 : 0);
  return g.constant(values, [length, length], 'bool');
}

export interface FfnOptions {
  name: string;
  hidden: number;
  activation?: Activation;
  dropout?: number;
}

/** Position-wise feed-forward: linear -> activation -> dropout -> linear back to the input dim. */
export function feedForward(g: Graph, x: Tensor, opts: FfnOptions): Tensor {
  return g.scope(opts.name, () => {
    const d = x.shape[x.rank - 1] as number;
    const h = activation(g, linear(g, x, opts.hidden, { name: 'up' }), opts.activation ?? 'relu');
    return linear(g, dropout(g, h, opts.dropout ?? 0), d, { name: 'down' });
  });
}

export interface EncoderLayerOptions {
  name: string;
  heads: number;
  ffnHidden: number;
  dropout?: number;
  mask?: Tensor;
  activation?: Activation;
  /** Cross-attention context; omitted = self-attention only. */
  context?: Tensor;
}

/**
 * Post-norm transformer encoder layer (as in the original Transformer and HAN):
 * x = LN(x + SelfAttn(x)); [x = LN(x + CrossAttn(x, context))]; x = LN(x + FFN(x)).
 */
export function encoderLayer(g: Graph, x: Tensor, opts: EncoderLayerOptions): Tensor {
  return g.scope(opts.name, () => {
    const p = opts.dropout ?? 0;
    let h = layerNorm(
      g,
      g.add(
        x,
        dropout(
          g,
          multiHeadAttention(g, x, x, { name: 'attn', heads: opts.heads, mask: opts.mask, dropout: p }),
          p,
        ),
      ),
      { name: 'norm1' },
    );
    if (opts.context) {
      const cross = multiHeadAttention(g, h, opts.context, { name: 'cross', heads: opts.heads, dropout: p });
      h = layerNorm(g, g.add(h, dropout(g, cross, p)), { name: 'norm_cross' });
    }
    const ff = feedForward(g, h, {
      name: 'ffn',
      hidden: opts.ffnHidden,
      activation: opts.activation,
      dropout: p,
    });
    return layerNorm(g, g.add(h, dropout(g, ff, p)), { name: 'norm2' });
  });
}
