// GPU smoke test for onnxruntime-node's CUDA execution provider, plain JavaScript so that it runs
// without a build on a machine that has only the bundled node binary (scripts/gpu-check.sh).
//
// It loads onnxruntime-node from $AVVP_GPU_NODE_MODULES (default /tmp/avvp-gpu/node_modules),
// runs scripts/gpu/fixtures/smoke.onnx on the CPU provider, then on ['cuda'], and compares.
// Exit status: 0 CUDA ran and matched the CPU; 3 CUDA is unavailable (the CPU part passed);
// 1 anything else (CPU failure, mismatch). `--probe-gpu-output` runs, in a child process, a probe
// of preferredOutputLocation: 'gpu-buffer' on a CUDA session (it may crash; the parent reports).
/* global process, console, performance */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.AVVP_GPU_NODE_MODULES || '/tmp/avvp-gpu/node_modules';
const require = createRequire(join(modules, 'resolve-from-here.js'));
const ort = require('onnxruntime-node');
const modelPath = process.env.AVVP_SMOKE_MODEL || join(here, 'fixtures', 'smoke.onnx');
const model = new Uint8Array(readFileSync(modelPath));
const BATCH = 32;
const FEATURES = 64;

function input() {
  const data = new Float32Array(BATCH * FEATURES);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 2 + Math.cos(i * 0.011);
  return { x: new ort.Tensor('float32', data, [BATCH, FEATURES]) };
}

function firstLine(e) {
  return String(e instanceof Error ? e.message : e)
    .split('\n')
    .find((l) => l.trim())
    ?.slice(0, 500);
}

async function timedRuns(session, feeds, n) {
  const t0 = performance.now();
  const first = await session.run(feeds);
  const firstMs = performance.now() - t0;
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { out: first.probs, firstMs, medianMs: times[Math.floor(times.length / 2)] };
}

async function probeGpuOutput() {
  // What the 1.29 binding does with gpu-buffer outputs on a CUDA session (see the report).
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cuda'],
    preferredOutputLocation: 'gpu-buffer',
  });
  console.log('probe: session created with preferredOutputLocation gpu-buffer');
  const out = (await session.run(input())).probs;
  console.log(`probe: output location=${out.location} type=${out.type} dims=[${out.dims}]`);
  if (out.location === 'cpu') console.log(`probe: first values ${Array.from(out.data.slice(0, 3))}`);
  else console.log('probe: output stayed on the device (not read back: getData is not implemented)');
}

async function main() {
  const pkg = require('onnxruntime-node/package.json');
  console.log(`node ${process.version}, onnxruntime-node ${pkg.version}, model ${modelPath}`);
  const backend = require('onnxruntime-node/dist/backend.js');
  console.log(`backends: ${JSON.stringify(backend.listSupportedBackends())}`);

  const feeds = input();
  let cpu;
  try {
    const t = performance.now();
    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
    const created = performance.now() - t;
    cpu = await timedRuns(session, feeds, 20);
    console.log(
      `CPU: created in ${created.toFixed(0)} ms, first run ${cpu.firstMs.toFixed(2)} ms, median ` +
        `${cpu.medianMs.toFixed(3)} ms, output [${cpu.out.dims}] row0[0..3] ${Array.from(cpu.out.data.slice(0, 3))}`,
    );
    await session.release();
  } catch (e) {
    console.log(`CPU: FAILED: ${firstLine(e)}`);
    return 1;
  }

  let gpu;
  try {
    const t = performance.now();
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [{ name: 'cuda', deviceId: 0 }],
    });
    const created = performance.now() - t;
    gpu = await timedRuns(session, feeds, 50);
    console.log(
      `CUDA: created in ${created.toFixed(0)} ms, first run ${gpu.firstMs.toFixed(1)} ms, median ` +
        `${gpu.medianMs.toFixed(3)} ms`,
    );
    await session.release();
  } catch (e) {
    console.log(`CUDA: UNAVAILABLE: ${firstLine(e)}`);
    return 3;
  }

  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < cpu.out.data.length; i++) {
    const a = cpu.out.data[i];
    const b = gpu.out.data[i];
    const d = Math.abs(a - b);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(a), 1e-6));
  }
  // The CUDA provider uses TF32 for float32 MatMul by default, hence the loose bound.
  const ok = Number.isFinite(maxAbs) && maxAbs < 5e-3;
  console.log(
    `CUDA vs CPU: max abs diff ${maxAbs.toExponential(2)}, max rel diff ${maxRel.toExponential(2)}: ` +
      `${ok ? 'MATCH' : 'MISMATCH'}`,
  );

  if (process.argv.includes('--probe-gpu-output')) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--probe-child'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: process.env,
    });
    process.stdout.write(r.stdout ?? '');
    const err = (r.stderr ?? '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    console.log(
      `probe: child exited with status ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}` +
        (err ? `; stderr: ${err.slice(0, 600)}` : ''),
    );
  }
  return ok ? 0 : 1;
}

if (process.argv.includes('--probe-child')) {
  try {
    await probeGpuOutput();
  } catch (e) {
    console.log(`probe: error: ${firstLine(e)}`);
    process.exitCode = 2;
  }
} else {
  process.exitCode = await main();
}
