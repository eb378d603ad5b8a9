// Loss functions as graph ops: each takes tensors of a Graph and returns a float scalar (the
// batch mean unless said otherwise), so losses are differentiated with the model.
//
// Public API: bce, bceWithLogits, crossEntropy, mse, l1, infoNce, tripletMargin, klDivergence,
// jsDivergence, l2Normalize, combineLosses (fixed or learnable uncertainty weights).

import { Graph, Tensor } from './onnx/builder.js';

/** Binary cross-entropy on probabilities, clamped to [eps, 1 - eps] so log never sees 0. */
export function bce(g: Graph, prob: Tensor, target: Tensor, eps = 1e-7): Tensor {
  const p = g.clip(prob, eps, 1 - eps);
  const ll = g.add(g.mul(target, g.log(p)), g.mul(g.sub(1, target), g.log(g.sub(1, p))));
  return g.neg(g.meanAll(ll));
}

/** Binary cross-entropy on logits, in the stable form max(x,0) - x*t + log(1 + exp(-|x|)). */
export function bceWithLogits(g: Graph, logits: Tensor, target: Tensor): Tensor {
  const softplus = g.log(g.add(g.exp(g.neg(g.abs(logits))), 1));
  return g.meanAll(g.add(g.sub(g.relu(logits), g.mul(logits, target)), softplus));
}

/**
 * Cross-entropy of logits [..., C] against int64 class ids [...] or soft targets [..., C]
 * (probabilities). Mean over all leading positions.
 */
export function crossEntropy(g: Graph, logits: Tensor, target: Tensor): Tensor {
  const logp = g.logSoftmax(logits, -1);
  const probs =
    target.dtype === 'int64' ? oneHot(g, target, logits.shape[logits.rank - 1], logits.dtype) : target;
  return g.neg(g.meanAll(g.reduceSum(g.mul(probs, logp), [-1])));
}

function oneHot(g: Graph, ids: Tensor, classes: number | string, dtype: Tensor['dtype']): Tensor {
  if (typeof classes !== 'number')
    throw new Error(`${g.scopePath()}: crossEntropy needs a fixed number of classes`);
  const range = g.constant(
    Array.from({ length: classes }, (_, i) => i),
    [classes],
    'int64',
  );
  return g.cast(g.equal(g.unsqueeze(ids, [-1]), range), dtype);
}

export function mse(g: Graph, pred: Tensor, target: Tensor): Tensor {
  const d = g.sub(pred, target);
  return g.meanAll(g.mul(d, d));
}

export function l1(g: Graph, pred: Tensor, target: Tensor): Tensor {
  return g.meanAll(g.abs(g.sub(pred, target)));
}

/** Rows scaled to unit L2 norm along the last axis. */
export function l2Normalize(g: Graph, x: Tensor, eps = 1e-12): Tensor {
  return g.div(x, g.sqrt(g.add(g.reduceSum(g.mul(x, x), [-1], true), eps)));
}

export interface InfoNceOptions {
  temperature: number;
  /** [B, B] soft targets (rows sum to 1); default: the diagonal (row i matches column i). */
  targets?: Tensor;
  /** Average the a->b and b->a directions (CLIP-style). Default true. */
  symmetric?: boolean;
}

/** InfoNCE between paired embeddings a [B, D] and b [B, D] on cosine similarity / temperature. */
export function infoNce(g: Graph, a: Tensor, b: Tensor, opts: InfoNceOptions): Tensor {
  const logits = g.mul(g.matmul(l2Normalize(g, a), g.transposeLast(l2Normalize(g, b))), 1 / opts.temperature);
  const targets = opts.targets ?? diagonalTargets(g, logits);
  const forward = crossEntropy(g, logits, targets);
  if (opts.symmetric === false) return forward;
  const backward = crossEntropy(g, g.transposeLast(logits), g.transposeLast(targets));
  return g.mul(g.add(forward, backward), 0.5);
}

/** Identity targets shaped like the [B, B] logits (EyeLike works with a symbolic batch). */
function diagonalTargets(g: Graph, logits: Tensor): Tensor {
  return g.stopGradient(g.emit('EyeLike', [logits], {}, [{ dtype: logits.dtype, shape: logits.shape }])[0]);
}

/** mean(relu(|a - p| - |a - n| + margin)) with Euclidean distances over the last axis. */
export function tripletMargin(
  g: Graph,
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  margin: number,
): Tensor {
  const dist = (x: Tensor, y: Tensor) => {
    const d = g.sub(x, y);
    return g.sqrt(g.add(g.reduceSum(g.mul(d, d), [-1]), 1e-12));
  };
  return g.meanAll(g.relu(g.add(g.sub(dist(anchor, positive), dist(anchor, negative)), margin)));
}

/** KL(p || q) over the last axis for probability tensors, mean over the rest. */
export function klDivergence(g: Graph, p: Tensor, q: Tensor, eps = 1e-8): Tensor {
  const logRatio = g.sub(g.log(g.add(p, eps)), g.log(g.add(q, eps)));
  return g.meanAll(g.reduceSum(g.mul(p, logRatio), [-1]));
}

/** Jensen-Shannon divergence: mean of KL(p || m) and KL(q || m), m = (p + q) / 2. */
export function jsDivergence(g: Graph, p: Tensor, q: Tensor, eps = 1e-8): Tensor {
  const m = g.mul(g.add(p, q), 0.5);
  return g.mul(g.add(klDivergence(g, p, m, eps), klDivergence(g, q, m, eps)), 0.5);
}

/**
 * Sums named loss terms. `weights` fixes a weight per term (default 1). With learnable = true
 * each term i gets a parameter s_i ('loss_weights.<name>') and contributes exp(-s_i) L_i + s_i
 * (homoscedastic uncertainty weighting, Kendall et al. 2018), so the balance is learned.
 */
export function combineLosses(
  g: Graph,
  terms: Record<string, Tensor>,
  opts: { weights?: Record<string, number>; learnable?: boolean } = {},
): Tensor {
  const names = Object.keys(terms);
  if (names.length === 0) throw new Error('combineLosses: no loss terms');
  const parts = names.map((name) => {
    const term = terms[name];
    if (term.rank !== 0) throw new Error(`loss term '${name}' must be a scalar, got [${term.shape}]`);
    const weighted = g.mul(term, opts.weights?.[name] ?? 1);
    if (!opts.learnable) return weighted;
    const s = g.scope('loss_weights', () => g.param(name, [], 'zeros'));
    return g.add(g.mul(g.exp(g.neg(s)), weighted), s);
  });
  return parts.reduce((a, b) => g.add(a, b));
}
