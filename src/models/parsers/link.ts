// The LINK modules (arXiv 2412.20872, as the project's seed describes them; see
// docs/models/link.md for every choice the description leaves open). Each is a function over the
// graph builder, used by the parser model and tested on its own against a plain-TS reference.
//
// Public API: tsam, adaptiveInteraction, plsim, dynamicLambda, avssTarget, segmentedSimilarityLoss.

import { Graph, Tensor } from '../../engine/onnx/builder.js';
import { linear, mlp } from '../../engine/nn/index.js';
import { l2Normalize } from '../../engine/losses.js';

/**
 * TSAM, CBAM-style attention over a segment x channel map f [B, T, H]:
 *   temporal W = sigmoid(MLP(avg_c f) + MLP(max_c f))   [B, T, 1]  (pooled per segment, shared MLP)
 *   spatial  S = sigmoid(Linear([avg_t g ; max_t g]))     [B, 1, H]  on g = W * f (pooled over time)
 *   f' = f + tau * S * g
 * The residual is ours (the seed writes f' = S * g): without it the gates shrink some segments
 * towards zero and the next post-norm attention layer fills them with other segments' content,
 * which blurs segment boundaries. tau is a learnable scalar starting at 0, as the interaction's
 * alpha: TSAM starts as the identity and re-weights only as far as training finds it useful
 * (started fully open it removed visual evidence; both measured in docs/models/link.md).
 */
export function tsam(g: Graph, f: Tensor, opts: { name: string; reduction: number }): Tensor {
  return g.scope(opts.name, () => {
    const segments = f.shape[1] as number;
    const temporalMlp = (x: Tensor) =>
      g.reuse(() =>
        mlp(g, x, { name: 'temporal', dims: [Math.max(1, Math.floor(segments / opts.reduction)), segments] }),
      );
    const avg = g.reduceMean(f, [2]); // [B, T]
    const max = g.reduceMax(f, [2]);
    const w = g.unsqueeze(g.sigmoid(g.add(temporalMlp(avg), temporalMlp(max))), [2]);
    const weighted = g.mul(f, w);
    const pooled = g.concat([g.reduceMean(weighted, [1]), g.reduceMax(weighted, [1])], -1); // [B, 2H]
    const s = g.unsqueeze(g.sigmoid(linear(g, pooled, f.shape[2] as number, { name: 'spatial' })), [1]);
    const tau = g.param('tau', [], [0]);
    return g.add(f, g.mul(tau, g.mul(weighted, s)));
  });
}

/**
 * Adaptive cross-modal interaction, both directions from the same inputs:
 *   a' = a + alpha_a * softmax(a v^T / sqrt(H)) (beta_a * v)
 *   v' = v + alpha_v * softmax(v a^T / sqrt(H)) (beta_v * a)
 * alpha and beta are learnable scalars per direction. alpha starts at 0 (beta at 1): each
 * modality starts unmixed and takes in as much of the other as training finds useful; started
 * at 0.5 the injected content leaks events into the wrong modality (measured in docs/models/link.md).
 */
export function adaptiveInteraction(
  g: Graph,
  a: Tensor,
  v: Tensor,
  opts: { name: string },
): { audio: Tensor; visual: Tensor } {
  return g.scope(opts.name, () => {
    const scale = 1 / Math.sqrt(a.shape[2] as number);
    const attend = (q: Tensor, k: Tensor, dir: string) => {
      const alpha = g.param(`alpha_${dir}`, [], [0]);
      const beta = g.param(`beta_${dir}`, [], [1]);
      const weights = g.softmax(g.mul(g.matmul(q, g.transposeLast(k)), scale), -1);
      return g.add(q, g.mul(alpha, g.matmul(weights, g.mul(beta, k))));
    };
    return { audio: attend(a, v, 'audio'), visual: attend(v, a, 'visual') };
  });
}

/**
 * PLSIM for one modality: class weights p [B, T, C] (0/1 labels or probabilities) select rows of a
 * learned class-embedding table; their mean e (shrunk towards 0 when few classes are active:
 * sum_c p_c E_c / (1 + sum_c p_c)) is mapped by two MLPs to gamma1, gamma2 [B, T, H], and
 *   F = f * gamma1 + gamma2 + f.
 */
export function plsim(
  g: Graph,
  f: Tensor,
  classWeights: Tensor,
  opts: { name: string; embedding: number },
): Tensor {
  return g.scope(opts.name, () => {
    const classes = classWeights.shape[2] as number;
    const hidden = f.shape[2] as number;
    const table = g.param('class_embedding', [classes, opts.embedding], { normal: 0.5 });
    const count = g.add(g.reduceSum(classWeights, [2], true), 1);
    const e = g.div(g.matmul(classWeights, table), count);
    const gamma1 = mlp(g, e, { name: 'gamma1', dims: [hidden, hidden] });
    const gamma2 = mlp(g, e, { name: 'gamma2', dims: [hidden, hidden] });
    return g.add(g.add(g.mul(f, gamma1), gamma2), f);
  });
}

/**
 * S-LOSS's dynamic weight with k = e^{|1 - mu|}:
 *   lambda = 1 (s <= -0.2),  k (-0.2 < s < 0),  k + (1 - k) s (s >= 0).
 */
export function dynamicLambda(g: Graph, s: Tensor, mu: Tensor): Tensor {
  const k = g.exp(g.abs(g.sub(1, mu)));
  const nonNegative = g.add(k, g.mul(g.sub(1, k), s));
  const aboveFloor = g.where(g.less(s, 0), k, nonNegative);
  return g.where(g.greater(s, -0.2), aboveFloor, 1);
}

/**
 * LEAP's AVSS target from pseudo labels pa, pv [B, T, C]: C = pa pv^T / m with m the larger of the
 * per-sample maximum active-class counts (1e-8 when 0); target = C / (1 + C) + 0.01  [B, T, T].
 */
export function avssTarget(g: Graph, pa: Tensor, pv: Tensor): Tensor {
  const counts = (p: Tensor) => g.reduceMax(g.reduceSum(p, [2]), [1], true); // [B, 1]
  const m = g.clip(
    g.unsqueeze(g.reduceMax(g.concat([counts(pa), counts(pv)], 1), [1], true), [2]),
    1e-8,
    1e9,
  );
  const c = g.div(g.matmul(pa, g.transposeLast(pv)), m);
  return g.add(g.div(c, g.add(c, 1)), 0.01);
}

/**
 * The segmented similarity loss: the cosine matrix P [B, T, T] between audio and visual segment
 * features against the AVSS target, each audio segment's row weighted by lambda(s_t, mu), where
 * s_t = cos(a_t, v_t) is that segment's audio-visual similarity:
 *   L = mean_{b,i,j} lambda(s_bi) (relu(P_bij) - target_bij)^2.
 * By default s reaches lambda without gradient (`detachLambda`): lambda weighs the loss, it is not
 * something the features should move to make small. mu is a trainable scalar under `name`
 * (starts at 0.5, k = e^0.5).
 */
export function segmentedSimilarityLoss(
  g: Graph,
  a: Tensor,
  v: Tensor,
  target: Tensor,
  opts: { name: string; detachLambda?: boolean },
): { loss: Tensor; lambda: Tensor } {
  return g.scope(opts.name, () => {
    const mu = g.param('mu', [], [0.5]);
    const an = l2Normalize(g, a);
    const vn = l2Normalize(g, v);
    const cosine = g.matmul(an, g.transposeLast(vn)); // [B, T, T]
    const similarity = g.reduceSum(g.mul(an, vn), [2], true); // [B, T, 1]
    const s = opts.detachLambda === false ? similarity : g.stopGradient(similarity);
    const lambda = dynamicLambda(g, s, mu);
    const d = g.sub(g.relu(cosine), target);
    return { loss: g.meanAll(g.mul(lambda, g.mul(d, d))), lambda };
  });
}
