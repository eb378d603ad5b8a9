// GPU benchmark: the same graphs on the CPU and on CUDA (and WebGPU when asked), in one run on one
// machine, with outputs compared between providers. Run on the GPU machine by scripts/gpu-check.sh
// (which brings Node.js, onnxruntime-node 1.29 and the CUDA provider); on a machine without a GPU
// the CUDA rows say why they are missing and the CPU rows still measure.
//
//   npm run bench:gpu [-- --providers cpu,cuda --steps 24 --loop 8 --runs 10 --json out.json]
//
// 1. Training: steps/s of the VALOR++-size HAN and LINK parsers (hidden 256, 8 heads, FFN 1024,
//    4 layers, audio 128-d, visual 512-d, 10 segments, batch 64, AdamW), per provider, one step per
//    run and --loop steps per run of the Loop graph (parameters and optimizer state kept on the
//    device between steps); the parameters after --loop steps from the same start compared with
//    the CPU's single steps.
// 2. Inference: segments/s of the bundled encoders + parser at batch 1, 16, 64, 256, per provider,
//    and the number of one-segment-per-second streams that rate would serve; the same for a
//    random-weight ViT-B/32-size image encoder (the CLIP visual tower's size and shape).
// The PyTorch reference of step 1 is bench/gpu_torch.py (run beside this by scripts/gpu-check.sh).

import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { Graph, type Tensor } from '../src/engine/onnx/builder.js';
import { layerNorm, linear, multiHeadAttention, feedForward } from '../src/engine/nn/index.js';
import { openSession, ortTensor, parseProviders, type Provider } from '../src/engine/session.js';
import { Trainer } from '../src/engine/trainer.js';
import { parserConfig, VALOR_PP_SIZES } from '../src/models/parsers/config.js';
import { parserSpec, PARSER_IO } from '../src/models/parsers/index.js';
import { InferencePool } from '../src/pool/pool.js';
import type { TensorMap } from '../src/types.js';
import { Rng } from '../src/util/rng.js';
import { maxRelDiff, median } from './stats.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const PROVIDERS = parseProviders(arg('providers', 'cpu,cuda'));
const STEPS = Number(arg('steps', '24'));
/** Steps per run of the Loop graph (parameters kept on the device between them). */
const LOOP = Number(arg('loop', '8'));
const RUNS = Number(arg('runs', '10'));
const BATCHES = arg('batches', '1,16,64,256').split(',').map(Number);
const JSON_OUT = arg('json', '');
const MODELS = arg('models', 'models');
/** Sections to run (default all): pool, training, inference. */
const ONLY = arg('only', 'pool,training,inference').split(',');

const T = 10;
const C = 25;
const TRAIN_BATCH = 64;
const DIMS = { audio: 128, visual: 512 };

const results: Record<string, unknown> = { date: new Date().toISOString(), providers: PROVIDERS };
const log = (line: string) => console.log(line);

function randomFloats(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

async function time(fn: () => Promise<unknown>, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

// ------------------------------------------------------------------------------ training

function trainingBatch(seed: number): Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const labels = Float32Array.from({ length: TRAIN_BATCH * C }, () => (rng.bool(0.15) ? 1 : 0));
  const pseudo = () => Float32Array.from({ length: TRAIN_BATCH * T * C }, () => (rng.bool(0.1) ? 1 : 0));
  return {
    [PARSER_IO.audio]: ortTensor('float32', randomFloats(rng, TRAIN_BATCH * T * DIMS.audio), [
      TRAIN_BATCH,
      T,
      DIMS.audio,
    ]),
    [PARSER_IO.visual]: ortTensor('float32', randomFloats(rng, TRAIN_BATCH * T * DIMS.visual), [
      TRAIN_BATCH,
      T,
      DIMS.visual,
    ]),
    [PARSER_IO.labels]: ortTensor('float32', labels, [TRAIN_BATCH, C]),
    [PARSER_IO.pseudoAudio]: ortTensor('float32', pseudo(), [TRAIN_BATCH, T, C]),
    [PARSER_IO.pseudoVisual]: ortTensor('float32', pseudo(), [TRAIN_BATCH, T, C]),
  };
}

async function trainer(kind: 'han' | 'link', provider: Provider, stepsPerRun: number): Promise<Trainer> {
  const config = parserConfig(kind, {
    ...VALOR_PP_SIZES,
    audioDim: DIMS.audio,
    visualDim: DIMS.visual,
    classes: C,
  });
  const spec = parserSpec(config, { name: `${kind}-valorpp`, seed: 1 });
  return Trainer.create(spec, { seed: 1, providers: [provider], stepsPerRun });
}

/** K training steps: one run per step, or one run of the Loop graph for all K. */
async function steps(t: Trainer, batches: Record<string, ort.Tensor>[]): Promise<void> {
  if (t.stepsPerRun > 1) {
    await t.trainSteps(
      batches,
      batches.map(() => 1e-4),
    );
    return;
  }
  for (const b of batches) await t.trainStep(b, 1e-4);
}

async function benchTraining(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const batches = Array.from({ length: LOOP }, (_, k) => trainingBatch(7 + k));
  for (const kind of ['han', 'link'] as const) {
    // State after the same LOOP steps from the same start, per mode, compared with the CPU's.
    const after: Record<string, Map<string, Float32Array | Float64Array>> = {};
    for (const provider of PROVIDERS) {
      for (const perRun of [1, LOOP]) {
        const mode = perRun === 1 ? provider : `${provider}, ${perRun} steps/run`;
        let t: Trainer;
        try {
          t = await trainer(kind, provider, perRun);
        } catch (err) {
          log(`training ${kind} on ${mode}: unavailable (${(err as Error).message.split('\n')[0]})`);
          rows.push({ model: kind, mode, error: (err as Error).message.split('\n')[0] });
          continue;
        }
        await steps(t, batches);
        after[mode] = t.parameters('current');
        const ms = (await time(() => steps(t, batches), Math.max(1, Math.round(STEPS / LOOP)), 1)) / LOOP;
        const row = {
          model: kind,
          mode,
          provider,
          stepsPerRun: perRun,
          msPerStep: ms,
          stepsPerSecond: 1000 / ms,
          params: t.graph.params.reduce((n, p) => n + p.data.length, 0),
        };
        rows.push(row);
        log(
          `training ${kind.padEnd(4)} ${mode.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms/step  ${(1000 / ms).toFixed(1).padStart(6)} steps/s  (${row.params} parameters, batch ${TRAIN_BATCH})`,
        );
      }
    }
    const base = after.cpu;
    for (const mode of Object.keys(after).filter((m) => m !== 'cpu' && base)) {
      // Over all parameters: the relative L2 difference, and the largest absolute difference. (A
      // per-tensor ratio misleads: a bias whose CPU gradient is exactly 0 stays 0 there, while Adam
      // turns the GPU's rounding-sized gradient into full learning-rate steps.)
      let diff2 = 0;
      let norm2 = 0;
      let maxAbs = 0;
      let where = '';
      for (const [name, values] of base) {
        const other = after[mode].get(name)!;
        for (let i = 0; i < values.length; i++) {
          const d = Math.abs(values[i] - other[i]);
          diff2 += d * d;
          norm2 += values[i] * values[i];
          if (d > maxAbs) [maxAbs, where] = [d, name];
        }
      }
      const relL2 = Math.sqrt(diff2 / norm2);
      rows.push({
        model: kind,
        compare: `${mode} vs cpu`,
        steps: LOOP,
        paramsRelL2: relL2,
        maxAbsDiff: maxAbs,
        maxAbsAt: where,
      });
      log(
        `training ${kind}: parameters after ${LOOP} steps, ${mode} vs cpu: relative L2 difference ${relL2.toExponential(2)}, largest absolute ${maxAbs.toExponential(2)} (${where})`,
      );
    }
  }
  results.training = rows;
}

// ----------------------------------------------------------------------------- inference

/** A random-weight encoder of ViT-B/32's size: 49 patches of 32x32x3 + class token, 12 pre-norm layers of width 768, 12 heads, MLP 3072 (GELU), projection to 512. */
function vitB32(): Uint8Array {
  const g = new Graph({ name: 'vit-b32-size', seed: 3 });
  const patches = g.input('patches', 'float32', ['batch', 49, 3072]);
  let x: Tensor = linear(g, patches, 768, { name: 'patch_embed' });
  const cls = g.param('cls', [1, 1, 768], { normal: 0.02 });
  x = g.concat([g.expandLike(cls, g.slice(x, [0], [1], [1])), x], 1);
  x = g.add(x, g.param('pos', [50, 768], { normal: 0.02 }));
  for (let l = 0; l < 12; l++) {
    g.scope(`layers.${l}`, () => {
      const h = layerNorm(g, x, { name: 'ln1' });
      x = g.add(x, multiHeadAttention(g, h, h, { name: 'attn', heads: 12 }));
      x = g.add(
        x,
        feedForward(g, layerNorm(g, x, { name: 'ln2' }), { name: 'mlp', hidden: 3072, activation: 'gelu' }),
      );
    });
  }
  const pooled = layerNorm(g, g.squeeze(g.slice(x, [0], [1], [1]), [1]), { name: 'ln_post' });
  g.output(linear(g, pooled, 512, { name: 'proj', bias: false }), 'image_embeds');
  return g.toBytes();
}

interface Model {
  name: string;
  bytes: string | Uint8Array;
  feeds: (batch: number) => Record<string, ort.Tensor>;
}

type Inputs = { name: string; dtype: 'float32' | 'uint8'; shape: (number | string)[] }[];

/** Random inputs for a batch: one random sample per input, repeated (filling GBs from JS would dominate). */
function randomFeeds(inputs: Inputs, seed: number): (batch: number) => Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const samples = inputs.map((i) => {
    const per = i.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
    return i.dtype === 'uint8'
      ? Uint8Array.from({ length: per }, () => rng.int(0, 256))
      : randomFloats(rng, per, i.name === 'audio' && i.shape.length === 2 ? 0.1 : 1);
  });
  return (batch) =>
    Object.fromEntries(
      inputs.map((i, k) => {
        const sample = samples[k];
        const data =
          i.dtype === 'uint8'
            ? new Uint8Array(sample.length * batch)
            : new Float32Array(sample.length * batch);
        for (let b = 0; b < batch; b++) data.set(sample as never, b * sample.length);
        return [i.name, ortTensor(i.dtype, data, [batch, ...(i.shape.slice(1) as number[])])];
      }),
    );
}

async function fromManifest(name: string, seed: number): Promise<Model> {
  const manifest = JSON.parse(await readFile(`${MODELS}/${name}.json`, 'utf8')) as {
    file: string;
    inputs: Inputs;
  };
  return { name, bytes: `${MODELS}/${manifest.file}`, feeds: randomFeeds(manifest.inputs, seed) };
}

async function benchInference(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const vit: Model = {
    name: 'vit-b32-size',
    bytes: vitB32(),
    feeds: randomFeeds([{ name: 'patches', dtype: 'float32', shape: ['batch', 49, 3072] }], 5),
  };
  const bundled = [
    await fromManifest('dsp-audio', 1),
    await fromManifest('dsp-visual', 2),
    await fromManifest('link-synthav', 3),
  ];
  const groups: { label: string; models: Model[] }[] = [
    { label: 'bundled encoders + parser', models: bundled },
    { label: 'ViT-B/32-size image encoder', models: [vit] },
  ];
  for (const group of groups) {
    const outputsAt16: Record<string, Record<string, Float32Array>> = {};
    for (const provider of PROVIDERS) {
      const sessions: { model: Model; session: ort.InferenceSession }[] = [];
      try {
        for (const model of group.models) {
          const opened = await openSession(model.bytes, { providers: [provider] });
          sessions.push({ model, session: opened.session });
        }
      } catch (err) {
        log(
          `inference ${group.label} on ${provider}: unavailable (${(err as Error).message.split('\n')[0]})`,
        );
        rows.push({ group: group.label, provider, error: (err as Error).message.split('\n')[0] });
        continue;
      }
      for (const batch of BATCHES) {
        let total = 0;
        for (const { model, session } of sessions) {
          const feeds = model.feeds(batch);
          const ms = await time(() => session.run(feeds), RUNS, 2);
          total += ms;
          if (batch === 16) {
            const out = await session.run(feeds);
            outputsAt16[provider] ??= {};
            outputsAt16[provider][model.name] = out[session.outputNames[0]].data as Float32Array;
          }
        }
        const perSecond = (batch * 1000) / total;
        rows.push({ group: group.label, provider, batch, msPerBatch: total, segmentsPerSecond: perSecond });
        log(
          `inference ${group.label.padEnd(28)} ${provider.padEnd(6)} batch ${String(batch).padStart(3)}: ${total.toFixed(2).padStart(8)} ms  ${perSecond.toFixed(0).padStart(7)} segments/s = real-time streams`,
        );
      }
      for (const { session } of sessions) await session.release();
    }
    for (const provider of PROVIDERS.filter((p) => p !== 'cpu' && outputsAt16[p] && outputsAt16.cpu)) {
      for (const name of Object.keys(outputsAt16.cpu)) {
        const diff = maxRelDiff(outputsAt16.cpu[name], outputsAt16[provider][name]);
        rows.push({ group: group.label, compare: `${provider} vs cpu`, model: name, maxRelDiff: diff });
        log(`inference ${name} batch 16, ${provider} vs cpu: max rel. diff ${diff.toExponential(2)}`);
      }
    }
  }
  results.inference = rows;
}

/**
 * The runtime's inference pool (worker threads) with each provider: which provider its workers got
 * for the bundled models, and one batch of 32 through each model, compared with the CPU pool.
 */
async function benchPool(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const models = [
    await fromManifest('dsp-audio', 1),
    await fromManifest('dsp-visual', 2),
    await fromManifest('link-synthav', 3),
  ];
  const outputs: Record<string, Record<string, Float32Array>> = {};
  for (const provider of PROVIDERS) {
    let pool: InferencePool;
    try {
      pool = await InferencePool.create({
        models: Object.fromEntries(models.map((m) => [m.name, m.bytes as string])),
        size: 1,
        providers: [provider],
      });
    } catch (err) {
      log(`pool on ${provider}: unavailable (${(err as Error).message.split('\n')[0]})`);
      rows.push({ provider, error: (err as Error).message.split('\n')[0] });
      continue;
    }
    const got = Object.fromEntries(
      Object.entries(pool.modelInfo).map(([name, info]) => [name, info.provider]),
    );
    outputs[provider] = {};
    for (const model of models) {
      const feeds = model.feeds(32);
      const tensors: TensorMap = {};
      for (const [name, t] of Object.entries(feeds))
        tensors[name] = { type: t.type as 'float32', data: t.data as Float32Array, dims: [...t.dims] };
      const out = await pool.run(model.name, tensors);
      outputs[provider][model.name] = Object.values(out)[0].data as Float32Array;
    }
    await pool.close();
    rows.push({ provider, modelProviders: got });
    log(`pool with providers [${provider}]: models run on ${JSON.stringify(got)}`);
  }
  for (const provider of PROVIDERS.filter((p) => p !== 'cpu' && outputs[p] && outputs.cpu)) {
    for (const name of Object.keys(outputs.cpu)) {
      const diff = maxRelDiff(outputs.cpu[name], outputs[provider][name]);
      rows.push({ compare: `pool ${provider} vs cpu`, model: name, maxRelDiff: diff });
      log(`pool ${name} batch 32, ${provider} vs cpu: max rel. diff ${diff.toExponential(2)}`);
    }
  }
  results.pool = rows;
}

if (ONLY.includes('pool')) await benchPool();
if (ONLY.includes('training')) await benchTraining();
if (ONLY.includes('inference')) await benchInference();
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
