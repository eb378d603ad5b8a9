// In-graph optimizers: the update of every parameter is part of the training-step graph, so one
// session.run computes loss, gradients and the new parameters and optimizer slots.
//
// Public API: OptimizerConfig, createOptimizer(g, config, lr, step) -> { slots, update }.

import { Graph, Tensor } from './onnx/builder.js';

export type OptimizerConfig =
  | { kind: 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
  | { kind: 'sgd'; momentum?: number; weightDecay?: number };

export interface Optimizer {
  /** Names of the per-parameter state tensors (zero-initialised, shaped like the parameter). */
  slots: string[];
  /** New parameter and slot values; `decay` says whether weight decay applies to this parameter. */
  update(param: Tensor, grad: Tensor, slots: Tensor[], decay: boolean): { param: Tensor; slots: Tensor[] };
}

/**
 * `lr` is the scalar learning rate for this step (fed by the schedule); `step` the scalar step
 * number starting at 1 (for Adam's bias correction).
 */
export function createOptimizer(g: Graph, config: OptimizerConfig, lr: Tensor, step: Tensor): Optimizer {
  if (config.kind === 'sgd') {
    const momentum = config.momentum ?? 0;
    const wd = config.weightDecay ?? 0;
    if (momentum < 0 || momentum >= 1) throw new Error(`SGD momentum must be in [0, 1), got ${momentum}`);
    return {
      slots: ['momentum'],
      update(param, grad, [buf], decay) {
        const d = decay && wd > 0 ? g.add(grad, g.mul(param, wd)) : grad;
        const next = momentum > 0 ? g.add(g.mul(buf, momentum), d) : d;
        return { param: g.sub(param, g.mul(next, lr)), slots: [next] };
      },
    };
  }
  const b1 = config.beta1 ?? 0.9;
  const b2 = config.beta2 ?? 0.999;
  const eps = config.eps ?? 1e-8;
  const wd = config.weightDecay ?? 0.01;
  for (const [name, b] of [
    ['beta1', b1],
    ['beta2', b2],
  ] as const) {
    if (!(b >= 0 && b < 1)) throw new Error(`AdamW ${name} must be in [0, 1), got ${b}`);
  }
  // Bias corrections 1/(1 - beta^t), shared by all parameters.
  const correction1 = g.div(1, g.sub(1, g.pow(g.scalar(b1, lr.dtype), step)));
  const correction2 = g.div(1, g.sub(1, g.pow(g.scalar(b2, lr.dtype), step)));
  return {
    slots: ['m', 'v'],
    update(param, grad, [m, v], decay) {
      const m2 = g.add(g.mul(m, b1), g.mul(grad, 1 - b1));
      const v2 = g.add(g.mul(v, b2), g.mul(g.mul(grad, grad), 1 - b2));
      const denom = g.add(g.sqrt(g.mul(v2, correction2)), eps);
      let delta = g.div(g.mul(m2, correction1), denom);
      // Decoupled weight decay (Loshchilov & Hutter): applied to the weights, not the gradient.
      if (decay && wd > 0) delta = g.add(delta, g.mul(param, wd));
      return { param: g.sub(param, g.mul(delta, lr)), slots: [m2, v2] };
    },
  };
}
