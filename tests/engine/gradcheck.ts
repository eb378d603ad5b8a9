// Central finite-difference check of the engine's gradients in float64 (test helper).
import type * as ort from 'onnxruntime-node';
import { gradients } from '../../src/engine/autodiff/gradients.js';
import { Graph, Tensor } from '../../src/engine/onnx/builder.js';
import { openSession, ortTensor } from '../../src/engine/session.js';
import { Rng } from '../../src/util/rng.js';

export interface GradCheckResult {
  /**
   * Largest |analytic - numeric| / (1e-3 + |numeric|): relative error, except that gradients that
   * are truly ~0 (e.g. attention key biases) are compared absolutely, below the FD rounding noise.
   */
  worst: number;
  checked: number;
  /** Parameters the loss did not depend on. */
  unused: string[];
}

/**
 * Builds `f` on a float64 graph, reduces its output to a scalar with fixed random weights, and
 * compares the engine's gradient of every trainable parameter with central differences.
 */
export async function gradCheck(
  f: (g: Graph) => Tensor,
  opts: {
    seed?: number;
    feeds?: Record<string, ort.Tensor>;
    maxPerParam?: number;
    noise?: boolean;
    /** float32 only for ops onnxruntime lacks in float64 (then use a looser tolerance). */
    float?: 'float32' | 'float64';
  } = {},
): Promise<GradCheckResult> {
  const rng = new Rng(opts.seed ?? 7);
  const float = opts.float ?? 'float64';
  const g = new Graph({ float, seed: opts.seed ?? 7, training: opts.noise ?? false });
  const y = f(g);
  if (!y.shape.every((d) => typeof d === 'number')) throw new Error('gradCheck needs a static output shape');
  const size = (y.shape as number[]).reduce((a, b) => a * b, 1);
  const weights = g.constant(
    Array.from({ length: size }, () => rng.normal()),
    y.shape as number[],
  );
  const loss = g.sumAll(g.mul(y, weights));
  const params = [...g.initializers.values()].filter((i) => i.trainable);
  const grads = gradients(
    g,
    loss,
    params.map((p) => g.tensor(p.name)),
  );
  g.output(loss, 'loss');
  const unused: string[] = [];
  grads.forEach((t, i) => (t ? g.output(t, `grad${i}`) : unused.push(params[i].name)));
  const { session } = await openSession(g.toBytes({ paramsAsInputs: true }), { providers: ['cpu'] });
  const values = params.map((p) => {
    const data = p.data as Float64Array;
    return float === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
  });
  const feeds = (): Record<string, ort.Tensor> => {
    const out: Record<string, ort.Tensor> = { ...opts.feeds };
    params.forEach((p, i) => (out[p.name] = ortTensor(float, values[i], p.shape)));
    return out;
  };
  for (const n of g.noise) {
    const shape = n.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    opts.feeds = {
      ...opts.feeds,
      [n.name]: ortTensor(
        float,
        Float64Array.from({ length: count }, () => rng.next()),
        shape,
      ),
    };
  }
  const analytic = await session.run(feeds());
  const lossAt = async () => (await session.run(feeds(), ['loss'])).loss.data[0] as number;
  let worst = 0;
  let checked = 0;
  const h = float === 'float64' ? 1e-6 : 1e-2;
  for (let p = 0; p < params.length; p++) {
    const grad = grads[p]
      ? Array.from(analytic[`grad${p}`].data as Float64Array)
      : new Array<number>(values[p].length).fill(0);
    const indices = Array.from({ length: values[p].length }, (_, i) => i);
    rng.shuffle(indices);
    for (const i of indices.slice(0, opts.maxPerParam ?? 24)) {
      const saved = values[p][i];
      values[p][i] = saved + h;
      const up = await lossAt();
      values[p][i] = saved - h;
      const down = await lossAt();
      values[p][i] = saved;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(grad[i] - numeric) / (1e-3 + Math.abs(numeric)));
      checked++;
    }
  }
  return { worst, checked, unused };
}
