// The training-step graph: forward + named loss terms + gradients (autodiff) + global-norm
// clipping + optimizer update (+ parameter EMA), all in one ONNX graph run once per step.
//
//   inputs:  trainable parameters (by name), optimizer slots 'slot.<slot>.<param>',
//            'optim.lr', 'optim.step', the batch inputs, dropout noise inputs
//   outputs: 'loss', 'term.<name>' per loss term, 'grad_norm', 'next.<param>', 'next.slot.<slot>.<param>'
//
// Public API: TrainSpec, buildTrainingStep(spec), buildInferenceGraph(spec).

import { gradients } from './autodiff/gradients.js';
import { FloatType, Graph, Initializer, NoiseInput, Tensor, toTyped } from './onnx/builder.js';
import { encodeModel } from './onnx/proto.js';
import { combineLosses } from './losses.js';
import { OptimizerConfig, createOptimizer } from './optim.js';

export interface TrainSpec {
  /** Model name (graph name, checkpoint fingerprint). */
  name: string;
  float?: FloatType;
  /** Seed for parameter initialisation (the trainer's shuffling seed is separate). */
  seed: number;
  /** Builds the forward graph: declares its inputs and returns its named outputs. */
  model: (g: Graph) => Record<string, Tensor>;
  /** Declares target inputs and returns named scalar loss terms. */
  loss: (g: Graph, outputs: Record<string, Tensor>) => Record<string, Tensor>;
  lossWeights?: Record<string, number>;
  /** Learn the balance between loss terms (see combineLosses). */
  learnableLossWeights?: boolean;
  optimizer: OptimizerConfig;
  /** Clip gradients to this global L2 norm. */
  clipNorm?: number;
  /** Keep an exponential moving average of the parameters with this decay (e.g. 0.999). */
  emaDecay?: number;
  /** Parameters (by full name) that stay fixed. */
  frozen?: (name: string) => boolean;
  /** Which parameters get weight decay (default: rank >= 2, i.e. not biases or norm scales). */
  decay?: (name: string, shape: number[]) => boolean;
}

export interface SlotInfo {
  /** Graph input name, e.g. 'slot.m.head.weight'. */
  name: string;
  param: string;
  slot: string;
}

export interface TrainingStep {
  graph: Graph;
  bytes: Uint8Array;
  /** Trainable parameters in a fixed order (initial values included). */
  params: Initializer[];
  /** Parameters held fixed (emitted as initializers). */
  frozen: Initializer[];
  slots: SlotInfo[];
  /** Inputs the data must provide (model features and loss targets). */
  batchInputs: Tensor[];
  noise: NoiseInput[];
  terms: string[];
}

/**
 * `initial` replaces the seeded initial values of parameters by name (pretrained or teacher
 * weights, including frozen ones).
 */
export function buildTrainingStep(spec: TrainSpec, initial?: Map<string, ArrayLike<number>>): TrainingStep {
  if (spec.emaDecay !== undefined && !(spec.emaDecay >= 0 && spec.emaDecay < 1)) {
    throw new Error(`${spec.name}: emaDecay must be in [0, 1), got ${spec.emaDecay}`);
  }
  const g = new Graph({ name: `${spec.name}.train`, float: spec.float, seed: spec.seed, training: true });
  const outputs = spec.model(g);
  for (const [name, values] of initial ?? []) {
    const init = g.initializers.get(name);
    if (!init || !init.trainable)
      throw new Error(`${spec.name}: initial values given for unknown parameter '${name}'`);
    if (values.length !== init.data.length) {
      throw new Error(
        `${spec.name}: initial values for '${name}' have ${values.length} elements, the parameter [${init.shape}] has ${init.data.length}`,
      );
    }
    init.data = toTyped(values, init.dtype);
  }
  const terms = g.scope('loss', () => spec.loss(g, outputs));
  const total = g.scope('loss', () =>
    combineLosses(g, terms, { weights: spec.lossWeights, learnable: spec.learnableLossWeights }),
  );
  const modelInputs = [...g.inputs];

  const all = [...g.initializers.values()].filter((i) => i.trainable);
  const frozen = all.filter((i) => spec.frozen?.(i.name) === true);
  for (const f of frozen) f.trainable = false;
  const params = all.filter((i) => i.trainable);
  if (params.length === 0) throw new Error(`${spec.name}: no trainable parameters (all frozen?)`);

  const grads = gradients(
    g,
    total,
    params.map((p) => g.tensor(p.name)),
  );
  grads.forEach((grad, i) => {
    if (!grad) {
      throw new Error(
        `${spec.name}: parameter '${params[i].name}' does not influence the loss; freeze it or remove it`,
      );
    }
  });

  const slotNames: string[] = [];
  g.scope('optim', () => {
    const lr = g.input('optim.lr', g.float, []);
    const step = g.input('optim.step', g.float, []);
    const squares = grads.map((t) => g.sumAll(g.mul(t!, t!)));
    const norm = g.sqrt(squares.reduce((a, b) => g.add(a, b)));
    g.output(norm, 'grad_norm');
    let clipped = grads as Tensor[];
    if (spec.clipNorm !== undefined) {
      if (!(spec.clipNorm > 0)) throw new Error(`clipNorm must be positive, got ${spec.clipNorm}`);
      const scale = g.clip(g.div(spec.clipNorm, g.add(norm, 1e-6)), 0, 1);
      clipped = clipped.map((t) => g.mul(t, scale));
    }
    const optimizer = createOptimizer(g, spec.optimizer, lr, step);
    slotNames.push(...optimizer.slots, ...(spec.emaDecay !== undefined ? ['ema'] : []));
    const decays = spec.decay ?? ((_: string, shape: number[]) => shape.length >= 2);
    params.forEach((p, i) => {
      const slotInputs = optimizer.slots.map((s) => g.input(`slot.${s}.${p.name}`, p.dtype, p.shape));
      const next = optimizer.update(g.tensor(p.name), clipped[i], slotInputs, decays(p.name, p.shape));
      g.output(next.param, `next.${p.name}`);
      next.slots.forEach((t, k) => g.output(t, `next.${slotInputs[k].name}`));
      if (spec.emaDecay !== undefined) {
        const ema = g.input(`slot.ema.${p.name}`, p.dtype, p.shape);
        g.output(
          g.add(g.mul(ema, spec.emaDecay), g.mul(next.param, 1 - spec.emaDecay)),
          `next.slot.ema.${p.name}`,
        );
      }
    });
  });
  g.output(total, 'loss');
  for (const [name, t] of Object.entries(terms)) g.output(t, `term.${name}`);

  const slots: SlotInfo[] = params.flatMap((p) =>
    slotNames.map((slot) => ({ name: `slot.${slot}.${p.name}`, param: p.name, slot })),
  );
  const noiseNames = new Set(g.noise.map((n) => n.name));
  const model = g.toModel({ paramsAsInputs: true });
  // Inputs the loss does not depend on are pruned from the model, so they are not fed either.
  const used = new Set(model.graph.inputs.map((v) => v.name));
  return {
    graph: g,
    bytes: encodeModel(model),
    params,
    frozen,
    slots,
    batchInputs: modelInputs.filter((t) => !noiseNames.has(t.name) && used.has(t.name)),
    noise: g.noise.filter((n) => used.has(n.name)),
    terms: Object.keys(terms),
  };
}

/** The forward graph in inference mode (no dropout), with the model's outputs declared. */
export function buildInferenceGraph(spec: TrainSpec): Graph {
  const g = new Graph({ name: spec.name, float: spec.float, seed: spec.seed, training: false });
  for (const [name, t] of Object.entries(spec.model(g))) g.output(t, name);
  return g;
}
