// The HAN/VALOR++ backbone pieces: hybrid-attention layers whose weights both modalities share
// (updated one after the other, as VALOR does), and the segment heads with attentive MMIL
// pooling from segment to clip level (HAN, Tian et al. 2020).
//
// Public API: hybridLayer, mmilHeads, MmilOutputs.

import { Graph, Tensor } from '../../engine/onnx/builder.js';
import { dropout, feedForward, layerNorm, linear, multiHeadAttention } from '../../engine/nn/index.js';

export interface HybridLayerOptions {
  name: string;
  heads: number;
  ffn: number;
  dropout: number;
}

/**
 * One HAN layer (post-norm), applied to x with the other modality as context:
 *   x = LN(x + Drop(CrossAttn(x, other)) + Drop(SelfAttn(x)));  x = LN(x + Drop(FFN(x))).
 * Calling it again under the same name reuses the weights (one layer for both modalities).
 */
export function hybridLayer(g: Graph, x: Tensor, other: Tensor, opts: HybridLayerOptions): Tensor {
  return g.reuse(() =>
    g.scope(opts.name, () => {
      const p = opts.dropout;
      const cross = multiHeadAttention(g, x, other, { name: 'cross', heads: opts.heads, dropout: p });
      const self = multiHeadAttention(g, x, x, { name: 'self', heads: opts.heads, dropout: p });
      const h = layerNorm(g, g.add(g.add(x, dropout(g, cross, p)), dropout(g, self, p)), { name: 'norm1' });
      const ff = feedForward(g, h, { name: 'ffn', hidden: opts.ffn, dropout: p });
      return layerNorm(g, g.add(h, dropout(g, ff, p)), { name: 'norm2' });
    }),
  );
}

export interface MmilOutputs {
  /** Clip-level probabilities [B, C]. */
  video: Tensor;
  /** Segment-level logits and probabilities [B, T, C] per modality. */
  audioLogits: Tensor;
  visualLogits: Tensor;
  audioProb: Tensor;
  visualProb: Tensor;
}

/**
 * Segment heads (one classifier for both modalities) and attentive MMIL pooling:
 * temporal attention = softmax over segments, modality attention = softmax over {audio, visual},
 * video = sum_m sum_t att_t * att_m * p.
 */
export function mmilHeads(g: Graph, a: Tensor, v: Tensor, classes: number): MmilOutputs {
  return g.scope('head', () => {
    const shared = (x: Tensor, name: string) => g.reuse(() => linear(g, x, classes, { name }));
    const audioLogits = shared(a, 'segment');
    const visualLogits = shared(v, 'segment');
    const audioProb = g.sigmoid(audioLogits);
    const visualProb = g.sigmoid(visualLogits);
    const temporal = (x: Tensor) => g.softmax(shared(x, 'temporal_att'), 1);
    // softmax over the two modalities = sigmoid of the difference of their scores
    const audioShare = g.sigmoid(g.sub(shared(a, 'modality_att'), shared(v, 'modality_att')));
    const audioPart = g.mul(g.mul(temporal(a), audioProb), audioShare);
    const visualPart = g.mul(g.mul(temporal(v), visualProb), g.sub(1, audioShare));
    const video = g.reduceSum(g.add(audioPart, visualPart), [1]);
    return { video, audioLogits, visualLogits, audioProb, visualProb };
  });
}
