// Training throughput of a HAN-size model (hidden 256, 8 heads, FFN 1024, 4 layers, 10 segments,
// audio + visual, batch 64): this engine (training-step graph on onnxruntime-node) against the same
// model and batch in @tensorflow/tfjs on its wasm backend. Each engine runs in its own child
// process so that peak RSS is per engine. Prints medians and the ratio.
//
//   npm run bench:train [-- --steps 3 --tfjs-steps 1 --runs 3]
// (tfjs-wasm needs about a minute per step on 2 busy cores, hence fewer tfjs steps per run)

import { spawnSync } from 'node:child_process';
import { Graph, Tensor } from '../src/engine/onnx/builder.js';
import { dropout, feedForward, layerNorm, linear, multiHeadAttention } from '../src/engine/nn/index.js';
import { bce } from '../src/engine/losses.js';
import { constant } from '../src/engine/schedule.js';
import { Trainer, tensorDataset } from '../src/engine/trainer.js';
import { Rng } from '../src/util/rng.js';
import { median } from './stats.js';

const C = {
  batch: 64,
  time: 10,
  hidden: 256,
  heads: 8,
  ffn: 1024,
  layers: 4,
  audio: 128,
  visual: 512,
  classes: 25,
  dropout: 0.1,
};

interface Result {
  engine: string;
  stepsPerSecond: number[];
  params: number;
  peakRssMiB: number;
  note: string;
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function syntheticBatch(seed: number): { audio: Float32Array; visual: Float32Array; label: Float32Array } {
  const rng = new Rng(seed);
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  return {
    audio: fill(C.batch * C.time * C.audio, () => rng.normal()),
    visual: fill(C.batch * C.time * C.visual, () => rng.normal()),
    label: fill(C.batch * C.classes, () => (rng.bool(0.2) ? 1 : 0)),
  };
}

/** One HAN layer for one modality: x + self-attention + cross-modal attention, then the FFN. */
function hanLayer(g: Graph, x: Tensor, other: Tensor, name: string): Tensor {
  return g.scope(name, () => {
    const self = multiHeadAttention(g, x, x, { name: 'self', heads: C.heads });
    const cross = multiHeadAttention(g, x, other, { name: 'cross', heads: C.heads });
    const h = layerNorm(g, g.add(x, g.add(dropout(g, self, C.dropout), dropout(g, cross, C.dropout))), {
      name: 'norm1',
    });
    const ff = feedForward(g, h, { name: 'ffn', hidden: C.ffn });
    return layerNorm(g, g.add(h, dropout(g, ff, C.dropout)), { name: 'norm2' });
  });
}

async function runOnnx(steps: number, runs: number): Promise<Result> {
  const trainer = await Trainer.create(
    {
      name: 'han-bench',
      seed: 1,
      model: (g) => {
        let a = linear(g, g.input('audio', 'float32', ['batch', C.time, C.audio]), C.hidden, {
          name: 'audio_in',
        });
        let v = linear(g, g.input('visual', 'float32', ['batch', C.time, C.visual]), C.hidden, {
          name: 'visual_in',
        });
        for (let l = 0; l < C.layers; l++) {
          const [na, nv] = [hanLayer(g, a, v, `layers.${l}.audio`), hanLayer(g, v, a, `layers.${l}.visual`)];
          [a, v] = [na, nv];
        }
        const segment = g.sigmoid(linear(g, g.concat([a, v], 1), C.classes, { name: 'classifier' }));
        return { prob: g.reduceMean(segment, [1]) };
      },
      loss: (g, out) => ({ bce: bce(g, out.prob, g.input('label', 'float32', ['batch', C.classes])) }),
      optimizer: { kind: 'adamw' },
    },
    { seed: 1 },
  );
  const b = syntheticBatch(2);
  const data = tensorDataset({
    audio: { dtype: 'float32', data: b.audio, sampleShape: [C.time, C.audio] },
    visual: { dtype: 'float32', data: b.visual, sampleShape: [C.time, C.visual] },
    label: { dtype: 'float32', data: b.label, sampleShape: [C.classes] },
  });
  const batch = data.batch(Array.from({ length: C.batch }, (_, i) => i));
  const lr = constant(1e-4);
  await trainer.trainStep(batch, lr(0));
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await trainer.trainStep(batch, lr(s));
    rates.push(steps / ((performance.now() - t0) / 1000));
  }
  return {
    engine: 'avvp engine (onnxruntime-node cpu)',
    stepsPerSecond: rates,
    params: trainer.graph.params.reduce((n, p) => n + p.data.length, 0),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    note: `${trainer.graph.graph.nodes.length} nodes in the training-step graph`,
  };
}

async function runTfjs(steps: number, runs: number): Promise<Result> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  const rng = new Rng(1);
  const vars: import('@tensorflow/tfjs').Variable[] = [];
  const param = (shape: number[], init: 'glorot' | 'zeros' | 'ones') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const limit = init === 'glorot' ? Math.sqrt(6 / (shape[0] + shape[shape.length - 1])) : 0;
    const values = Float32Array.from({ length: n }, () =>
      init === 'glorot' ? rng.uniform(-limit, limit) : init === 'ones' ? 1 : 0,
    );
    const v = tf.variable(tf.tensor(values, shape));
    vars.push(v);
    return v;
  };
  type T = import('@tensorflow/tfjs').Tensor;
  const mkLinear = (inDim: number, out: number) => {
    const w = param([inDim, out], 'glorot');
    const b = param([out], 'zeros');
    return (x: T) => tf.add(tf.matMul(x.reshape([-1, inDim]), w).reshape([...x.shape.slice(0, -1), out]), b);
  };
  const mkNorm = (d: number) => {
    const gamma = param([d], 'ones');
    const beta = param([d], 'zeros');
    return (x: T) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
    };
  };
  const mkAttention = () => {
    const [q, k, v, o] = [0, 1, 2, 3].map(() => mkLinear(C.hidden, C.hidden));
    const dh = C.hidden / C.heads;
    const split = (x: T) => x.reshape([C.batch, C.time, C.heads, dh]).transpose([0, 2, 1, 3]);
    return (x: T, ctx: T) => {
      const scores = tf.mul(tf.matMul(split(q(x)), split(k(ctx)), false, true), 1 / Math.sqrt(dh));
      const weights = tf.dropout(tf.softmax(scores, -1), C.dropout);
      const merged = tf
        .matMul(weights, split(v(ctx)))
        .transpose([0, 2, 1, 3])
        .reshape([C.batch, C.time, C.hidden]);
      return o(merged);
    };
  };
  const mkLayer = () => {
    const [self, cross] = [mkAttention(), mkAttention()];
    const [n1, n2] = [mkNorm(C.hidden), mkNorm(C.hidden)];
    const [up, down] = [mkLinear(C.hidden, C.ffn), mkLinear(C.ffn, C.hidden)];
    return (x: T, other: T) => {
      const h = n1(
        tf.add(x, tf.add(tf.dropout(self(x, x), C.dropout), tf.dropout(cross(x, other), C.dropout))),
      );
      return n2(tf.add(h, tf.dropout(down(tf.dropout(tf.relu(up(h)), C.dropout)), C.dropout)));
    };
  };
  const audioIn = mkLinear(C.audio, C.hidden);
  const visualIn = mkLinear(C.visual, C.hidden);
  const layers = Array.from({ length: C.layers }, () => [mkLayer(), mkLayer()]);
  const classifier = mkLinear(C.hidden, C.classes);
  const b = syntheticBatch(2);
  const audio = tf.tensor(b.audio, [C.batch, C.time, C.audio]);
  const visual = tf.tensor(b.visual, [C.batch, C.time, C.visual]);
  const label = tf.tensor(b.label, [C.batch, C.classes]);
  const optimizer = tf.train.adam(1e-4);
  const step = () =>
    tf.tidy(() => {
      const cost = optimizer.minimize(() => {
        let a = audioIn(audio);
        let v = visualIn(visual);
        for (const [la, lv] of layers) [a, v] = [la(a, v), lv(v, a)];
        const prob = tf.mean(tf.sigmoid(classifier(tf.concat([a, v], 1))), 1).clipByValue(1e-7, 1 - 1e-7);
        const ll = tf.add(tf.mul(label, tf.log(prob)), tf.mul(tf.sub(1, label), tf.log(tf.sub(1, prob))));
        return tf.neg(tf.mean(ll)) as import('@tensorflow/tfjs').Scalar;
      }, true);
      return cost!.dataSync()[0];
    });
  step();
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) step();
    rates.push(steps / ((performance.now() - t0) / 1000));
  }
  return {
    engine: 'tfjs 4.22 wasm backend',
    stepsPerSecond: rates,
    params: vars.reduce((n, v) => n + v.size, 0),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    note: 'same architecture, Adam, tf.dropout',
  };
}

async function main(): Promise<void> {
  const steps = { onnx: argValue('steps', 3), tfjs: argValue('tfjs-steps', 1) };
  const runs = argValue('runs', 3);
  const engineIdx = process.argv.indexOf('--engine');
  if (engineIdx >= 0) {
    const engine = process.argv[engineIdx + 1];
    const result = engine === 'tfjs' ? await runTfjs(steps.tfjs, runs) : await runOnnx(steps.onnx, runs);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  console.log(
    `HAN-size training step: batch ${C.batch}, ${C.time} segments, hidden ${C.hidden}, ${C.heads} heads, FFN ${C.ffn}, ${C.layers} layers x 2 modalities`,
  );
  console.log(
    `${runs} runs per engine of ${steps.onnx} (engine) / ${steps.tfjs} (tfjs) steps after one warm-up step, each engine in its own process\n`,
  );
  const results: Result[] = [];
  for (const engine of ['onnx', 'tfjs']) {
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1],
        '--engine',
        engine,
        '--steps',
        String(steps.onnx),
        '--tfjs-steps',
        String(steps.tfjs),
        '--runs',
        String(runs),
      ],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) throw new Error(`${engine} run failed:\n${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Result;
    results.push(result);
    console.log(
      `${result.engine.padEnd(38)} ${median(result.stepsPerSecond).toFixed(3)} steps/s (runs: ${result.stepsPerSecond.map((r) => r.toFixed(3)).join(', ')}), ` +
        `${(result.params / 1e6).toFixed(2)} M params, peak RSS ${result.peakRssMiB.toFixed(0)} MiB; ${result.note}`,
    );
  }
  const ratio = median(results[0].stepsPerSecond) / median(results[1].stepsPerSecond);
  console.log(`\nratio (engine / tfjs-wasm): ${ratio.toFixed(2)}x  (target >= 2x)`);
}

await main();
