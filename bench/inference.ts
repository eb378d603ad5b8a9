// Inference runtime benchmark, two questions answered side by side in one run:
//  1. Cross-stream batching: S streams each parse one 10-second window at a time (the next when the
//     previous answer is back, as in a live pipeline) through one worker pool. Cost per window with
//     the shared batcher (maxBatch S) against the same pool without batching (maxBatch 1). With one
//     stream both configurations are the same; that row shows the noise level.
//  2. Event-loop freedom: an encoder-sized model run on the main thread (onnxruntime-node directly)
//     against the worker pool, measured as the main thread's event-loop delay (p99 and max).
//  3. Pool shape: the bundled DSP encoders through the encode operator with 1 x 1, 1 x 2 and 2 x 1
//     workers x intra-op threads, against 1 x 1 (the evidence for the default).
//  4. Encoder batching: the same encoders, one segment per call against batches of up to 8.
// The head is LINK-sized: per modality [B, 10, 512] -> 512 -> ReLU -> 25 classes -> sigmoid.
// Medians of RUNS repetitions. Usage: npm run bench:inference [-- --runs N]
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/engine/onnx/builder.js';
import { InferencePool } from '../src/pool/pool.js';
import {
  VISUAL_ENCODER,
  buildDspAudioEncoder,
  buildDspVisualEncoder,
  dspAudioEncoder,
  dspVisualEncoder,
} from '../src/models/encoders/index.js';
import { createSharedBatcher } from '../src/operators/batch.js';
import { encode } from '../src/operators/encode.js';
import { onnxWindowHead } from '../src/operators/onnxHead.js';
import type { FeatureWindow } from '../src/operators/window.js';
import type { Features, Segment } from '../src/types.js';
import { median } from './stats.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const T = 10;
const D = 512;
const CLASSES = 25;
/** Windows per measurement, split evenly over the streams, so every row does the same work. */
const WINDOWS = 640;
const HIDDEN = 4096;
const CALLS = 20;
const PACE_MS = 100;
const SHAPE_SEGMENTS = 32;

function headModel(): Uint8Array {
  const g = new Graph({ name: 'bench-head', seed: 1 });
  for (const modality of ['audio', 'visual']) {
    g.scope(modality, () => {
      const x = g.input(modality, 'float32', ['batch', T, D]);
      const hidden = g.relu(g.matmul(x, g.param('w1', [D, D], { normal: 0.05 })));
      g.output(
        g.sigmoid(g.matmul(hidden, g.param('w2', [D, CLASSES], { normal: 0.05 }))),
        `${modality}_probs`,
      );
    });
  }
  return g.toBytes();
}

/** Stands in for an encoder's cost: two large matmuls. */
function encoderModel(): Uint8Array {
  const g = new Graph({ name: 'bench-encoder', seed: 2 });
  const x = g.input('x', 'float32', ['batch', T, D]);
  const hidden = g.relu(g.matmul(x, g.param('w1', [D, HIDDEN], { normal: 0.05 })));
  g.output(g.matmul(hidden, g.param('w2', [HIDDEN, D], { normal: 0.05 })), 'y');
  return g.toBytes();
}

const IO = {
  audioInput: 'audio',
  visualInput: 'visual',
  audioDim: D,
  visualDim: D,
  audioOutput: 'audio_probs',
  visualOutput: 'visual_probs',
};

function window(stream: string, end: number): FeatureWindow<Features> {
  const items = Array.from({ length: T }, (_, t): Features => {
    const index = end - T + 1 + t;
    return {
      stream,
      index,
      t0: index,
      t1: index + 1,
      wallclock: index * 1000,
      audio: new Float32Array(D).fill(Math.sin(index)),
      visual: new Float32Array(D).fill(Math.cos(index)),
    };
  });
  return { stream, items, valid: T, restarted: false };
}

/** S streams, each submitting its next window when the previous answer arrived; ms per window. */
async function streams(
  pool: InferencePool,
  s: number,
  maxBatch: number,
): Promise<{ ms: number; batch: number }> {
  const sizes: number[] = [];
  const head = onnxWindowHead((feeds) => pool.run('head', feeds), IO);
  const shared = createSharedBatcher(head, {
    maxBatch,
    maxWaitMs: maxBatch > 1 ? 2 : 0,
    concurrency: pool.size,
    onBatch: (n) => sizes.push(n),
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: s }, async (_, k) => {
      for (let w = 0; w < WINDOWS / s; w++) await firstValueFrom(shared.run([window(`cam${k}`, w + T)]));
    }),
  );
  const ms = performance.now() - started;
  shared.close();
  return { ms: ms / WINDOWS, batch: sizes.reduce((a, b) => a + b, 0) / sizes.length };
}

/** One-second segments in the bundled encoders' input format, with varying content. */
function dspSegments(): Segment[] {
  const { width, height, fps } = VISUAL_ENCODER;
  return Array.from({ length: SHAPE_SEGMENTS }, (_, k) => ({
    stream: `cam${k % 4}`,
    index: k >> 2,
    t0: k >> 2,
    t1: (k >> 2) + 1,
    wallclock: 0,
    audio: Float32Array.from(
      { length: 16000 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * (200 + 50 * k) * i) / 16000),
    ),
    frames: Array.from({ length: fps }, (_, f) =>
      new Uint8Array(width * height * 3).fill((k * 31 + f * 7) % 256),
    ),
    sampleRate: 16000,
    width,
    height,
    fps,
  }));
}

/** Event-loop delay (ms) on the main thread while `work` runs. */
async function loopDelay(work: () => Promise<void>): Promise<{ p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await work();
  h.disable();
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

const encoderBytes = encoderModel();
const pool = await InferencePool.create({
  models: { head: headModel(), encoder: encoderBytes },
  providers: ['cpu'],
});
console.log(
  `Inference runtime: LINK-sized head (T ${T}, D ${D}, ${CLASSES} classes), pool of ${pool.size} workers x 1 ` +
    `intra-op thread, median of ${RUNS} runs; Node ${process.version}; ` +
    `load average at start ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores\n`,
);

console.log('1. Cross-stream batching (ms of pool time per window, lower is better)\n');
console.log(
  '| streams | unbatched ms/window | batched ms/window | mean batch | speed-up (medians) | speed-up (best runs) |',
);
console.log('|---|---|---|---|---|---|');
await streams(pool, 8, 8); // warm-up: worker start-up, onnxruntime allocations
for (const s of [1, 4, 8, 16]) {
  const plain: number[] = [];
  const batched: number[] = [];
  const sizes: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    plain.push((await streams(pool, s, 1)).ms);
    const b = await streams(pool, s, s);
    batched.push(b.ms);
    sizes.push(b.batch);
  }
  const p = median(plain);
  const b = median(batched);
  // The best run is the one least disturbed by other processes on a shared machine.
  const best = Math.min(...plain) / Math.min(...batched);
  console.log(
    `| ${s} | ${p.toFixed(2)} | ${b.toFixed(2)} | ${median(sizes).toFixed(1)} | ${(p / b).toFixed(2)}x | ${best.toFixed(2)}x |`,
  );
}

console.log(
  `\n2. Main-thread event-loop delay while an encoder-sized model (${D} -> ${HIDDEN} -> ${D} over [8, ${T}, ${D}]) ` +
    `runs ${CALLS} times, one call every ${PACE_MS} ms (ms, lower is better)\n`,
);
const session = await ort.InferenceSession.create(encoderBytes, {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
});
const input = () => ({
  type: 'float32' as const,
  data: new Float32Array(8 * T * D).fill(0.5),
  dims: [8, T, D],
});
const onMain = async () => {
  const t = input();
  await session.run({ x: new ort.Tensor(t.type, t.data, t.dims) });
};
const inPool = async () => {
  await pool.run('encoder', { x: input() });
};
/** Starts one call every PACE_MS, as a live server would, and waits for all of them. */
const paced = async (call: () => Promise<void>) => {
  const calls: Promise<void>[] = [];
  for (let i = 0; i < CALLS; i++) {
    calls.push(call());
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  }
  await Promise.all(calls);
};
const callMs = async (call: () => Promise<void>) => {
  const t = performance.now();
  await call();
  return performance.now() - t;
};
await paced(onMain); // warm-up
await paced(inPool);
const rows: Array<{ main: { p99: number; max: number }; worker: { p99: number; max: number }; ms: number }> =
  [];
for (let r = 0; r < RUNS; r++) {
  rows.push({
    main: await loopDelay(() => paced(onMain)),
    worker: await loopDelay(() => paced(inPool)),
    ms: await callMs(onMain),
  });
}
const mainP99 = median(rows.map((r) => r.main.p99));
const workerP99 = median(rows.map((r) => r.worker.p99));
console.log(`(one call takes ${median(rows.map((r) => r.ms)).toFixed(0)} ms)\n`);
console.log('| where the model runs | loop delay p99 | loop delay max |');
console.log('|---|---|---|');
console.log(`| main thread | ${mainP99.toFixed(1)} | ${median(rows.map((r) => r.main.max)).toFixed(1)} |`);
console.log(
  `| worker pool | ${workerP99.toFixed(1)} | ${median(rows.map((r) => r.worker.max)).toFixed(1)} |`,
);
console.log(`\np99 event-loop delay, main thread / pool: ${(mainP99 / workerP99).toFixed(1)}x`);

await session.release();
await pool.close();

console.log(
  `\n3. Pool shape on a ${availableParallelism()}-core machine: the bundled DSP encoders (audio + visual) on ` +
    `${SHAPE_SEGMENTS} one-second segments through the encode operator (segments per second, higher is better)\n`,
);
console.log('| workers x intra-op threads | segments/s | vs 1 x 1 |');
console.log('|---|---|---|');
/** Pool with the bundled DSP encoders. */
const dspPool = (size: number, intraOpNumThreads: number) =>
  InferencePool.create({
    models: { audio: buildDspAudioEncoder(), visual: buildDspVisualEncoder() },
    size,
    intraOpNumThreads,
    providers: ['cpu'],
  });

/** Segments per second through the encode operator. */
async function encodeRate(dsp: InferencePool, maxBatch: number): Promise<number> {
  const encoders = {
    audio: dspAudioEncoder((feeds) => dsp.run('audio', feeds)),
    visual: dspVisualEncoder((feeds) => dsp.run('visual', feeds)),
  };
  const t = performance.now();
  await lastValueFrom(
    from(dspSegments()).pipe(encode(encoders, { maxBatch, concurrency: dsp.size }), toArray()),
  );
  return SHAPE_SEGMENTS / ((performance.now() - t) / 1000);
}

let single = 0;
for (const [size, intraOpNumThreads] of [
  [1, 1],
  [1, 2],
  [2, 1],
]) {
  const dsp = await dspPool(size, intraOpNumThreads);
  await encodeRate(dsp, 4); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) rates.push(await encodeRate(dsp, 4));
  const rate = median(rates);
  if (size === 1 && intraOpNumThreads === 1) single = rate;
  console.log(`| ${size} x ${intraOpNumThreads} | ${rate.toFixed(1)} | ${(rate / single).toFixed(2)}x |`);
  await dsp.close();
}

console.log(
  `\n4. Encoder batching: the same ${SHAPE_SEGMENTS} segments (8 streams x 4 s) on a 2 x 1 pool, one segment ` +
    'per call against batches of up to 8 (segments per second, higher is better)\n',
);
const dsp = await dspPool(2, 1);
await encodeRate(dsp, 8); // warm-up
const unbatched: number[] = [];
const batched: number[] = [];
for (let r = 0; r < RUNS; r++) {
  unbatched.push(await encodeRate(dsp, 1));
  batched.push(await encodeRate(dsp, 8));
}
await dsp.close();
console.log('| maxBatch | segments/s (median) | segments/s (best run) |');
console.log('|---|---|---|');
console.log(`| 1 | ${median(unbatched).toFixed(1)} | ${Math.max(...unbatched).toFixed(1)} |`);
console.log(`| 8 | ${median(batched).toFixed(1)} | ${Math.max(...batched).toFixed(1)} |`);
console.log(
  `\nbatched / unbatched: ${(median(batched) / median(unbatched)).toFixed(2)}x (medians), ` +
    `${(Math.max(...batched) / Math.max(...unbatched)).toFixed(2)}x (best runs)`,
);
