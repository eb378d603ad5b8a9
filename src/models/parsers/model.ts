// The parser model: one definition (a TrainSpec) for training and export of HAN/VALOR++ and LINK.
//
//   inputs   audio [batch, T, Da], visual [batch, T, Dv]            (T = 10 one-second segments)
//   outputs  video [batch, C] clip probabilities (MMIL),
//            audio_prob / visual_prob [batch, T, C] segment probabilities
//   targets  labels [batch, C] weak labels, pseudo_audio / pseudo_visual [batch, T, C] (VALOR layout)
//
// Order of the forward pass: input projections -> TSAM (per modality) -> adaptive interaction ->
// PLSIM (class semantics of a first-pass prediction) -> hybrid-attention layers -> heads + MMIL.
// The loss is VALOR's (clip BCE + segment BCE against pseudo labels), plus PLSIM's first-pass BCE
// and LINK's lambda-weighted segmented similarity loss when those modules are on.
//
// Public API: PARSER_IO, parserSpec(config, opts), parserParameterCount.

import { Graph, Tensor } from '../../engine/onnx/builder.js';
import { linear } from '../../engine/nn/index.js';
import { bce, bceWithLogits } from '../../engine/losses.js';
import type { TrainSpec } from '../../engine/step.js';
import { hybridLayer, mmilHeads } from './backbone.js';
import type { FeatureStats, ParserConfig } from './config.js';
import { adaptiveInteraction, avssTarget, plsim, segmentedSimilarityLoss, tsam } from './link.js';

/** Graph input, output and target names (also written to the manifest). */
export const PARSER_IO = {
  audio: 'audio',
  visual: 'visual',
  video: 'video',
  audioProb: 'audio_prob',
  visualProb: 'visual_prob',
  labels: 'labels',
  pseudoAudio: 'pseudo_audio',
  pseudoVisual: 'pseudo_visual',
} as const;

/** Tensors the loss needs besides the graph outputs, recorded per graph by the forward pass. */
interface Internals {
  audioLogits: Tensor;
  visualLogits: Tensor;
  /** Segment features entering the backbone (after TSAM, interaction and PLSIM). */
  audio: Tensor;
  visual: Tensor;
  firstPass?: { audio: Tensor; visual: Tensor };
}
const internals = new WeakMap<Graph, Internals>();

function forward(g: Graph, c: ParserConfig): Record<string, Tensor> {
  const audioIn = g.input(PARSER_IO.audio, g.float, ['batch', c.segments, c.audioDim]);
  const visualIn = g.input(PARSER_IO.visual, g.float, ['batch', c.segments, c.visualDim]);
  const standardise = (x: Tensor, stats: FeatureStats | undefined) =>
    stats
      ? g.div(
          g.sub(x, g.constant(stats.mean, [stats.mean.length])),
          g.constant(stats.std, [stats.std.length]),
        )
      : x;
  let a = linear(g, standardise(audioIn, c.inputStats?.audio), c.hidden, { name: 'audio_proj' });
  let v = linear(g, standardise(visualIn, c.inputStats?.visual), c.hidden, { name: 'visual_proj' });
  if (c.modules.tsam) {
    a = tsam(g, a, { name: 'tsam.audio', reduction: c.tsamReduction });
    v = tsam(g, v, { name: 'tsam.visual', reduction: c.tsamReduction });
  }
  if (c.modules.interaction)
    ({ audio: a, visual: v } = adaptiveInteraction(g, a, v, { name: 'interaction' }));
  let firstPass: Internals['firstPass'];
  if (c.modules.plsim) {
    // No pseudo labels exist at inference time, so PLSIM reads the model's own first-pass segment
    // predictions, in training too (feeding pseudo labels there would leak the segment targets).
    firstPass = g.scope('plsim', () => ({
      audio: g.reuse(() => linear(g, a, c.classes, { name: 'first_pass' })),
      visual: g.reuse(() => linear(g, v, c.classes, { name: 'first_pass' })),
    }));
    const labels = (logits: Tensor) => g.stopGradient(g.sigmoid(logits));
    const fa = plsim(g, a, labels(firstPass.audio), { name: 'plsim.audio', embedding: c.classEmbedding });
    v = plsim(g, v, labels(firstPass.visual), { name: 'plsim.visual', embedding: c.classEmbedding });
    a = fa;
  }
  // S-LOSS shapes the features the LINK modules hand to the backbone, not the final ones: on
  // the final features it fights the segment classifier that both modalities share (measured in
  // docs/models/link.md).
  const fused = { audio: a, visual: v };
  for (let i = 0; i < c.layers; i++) {
    const opts = { name: `layers.${i}`, heads: c.heads, ffn: c.ffn, dropout: c.dropout };
    a = hybridLayer(g, a, v, opts);
    v = hybridLayer(g, v, a, opts);
  }
  const heads = mmilHeads(g, a, v, c.classes);
  internals.set(g, { audioLogits: heads.audioLogits, visualLogits: heads.visualLogits, ...fused, firstPass });
  return {
    [PARSER_IO.video]: heads.video,
    [PARSER_IO.audioProb]: heads.audioProb,
    [PARSER_IO.visualProb]: heads.visualProb,
  };
}

function loss(g: Graph, c: ParserConfig, outputs: Record<string, Tensor>): Record<string, Tensor> {
  const x = internals.get(g);
  if (!x) throw new Error('parser loss: the forward pass was not built on this graph');
  const labels = g.input(PARSER_IO.labels, g.float, ['batch', c.classes]);
  const pa = g.input(PARSER_IO.pseudoAudio, g.float, ['batch', c.segments, c.classes]);
  const pv = g.input(PARSER_IO.pseudoVisual, g.float, ['batch', c.segments, c.classes]);
  const terms: Record<string, Tensor> = {
    clip: bce(g, outputs[PARSER_IO.video], labels),
    segment_audio: bceWithLogits(g, x.audioLogits, pa),
    segment_visual: bceWithLogits(g, x.visualLogits, pv),
  };
  if (x.firstPass) {
    terms.first_pass = g.mul(
      g.add(bceWithLogits(g, x.firstPass.audio, pa), bceWithLogits(g, x.firstPass.visual, pv)),
      0.5,
    );
  }
  if (c.modules.sloss) {
    terms.similarity = segmentedSimilarityLoss(g, x.audio, x.visual, avssTarget(g, pa, pv), {
      name: 'sloss',
    }).loss;
  }
  return terms;
}

export interface ParserSpecOptions {
  /** Model name: graph name, ONNX file name, manifest name. */
  name: string;
  seed: number;
  float?: 'float32' | 'float64';
}

/** The TrainSpec of a parser (AdamW with VALOR's betas and decay, gradient clipping at 1). */
export function parserSpec(config: ParserConfig, opts: ParserSpecOptions): TrainSpec {
  return {
    name: opts.name,
    seed: opts.seed,
    float: opts.float,
    model: (g) => forward(g, config),
    loss: (g, outputs) => loss(g, config, outputs),
    optimizer: { kind: 'adamw', beta1: 0.5, beta2: 0.999, weightDecay: 1e-3 },
    clipNorm: 1,
  };
}
