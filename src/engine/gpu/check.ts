// What `avvp gpu check` reports: the NVIDIA driver and GPUs (nvidia-smi), onnxruntime-node's
// version, whether the CUDA provider libraries are installed with their pinned sha256, which CUDA
// and cuDNN libraries are found, and, for each execution provider, whether a tiny model
// (y = 2x + 1 on [2, 3]) opens and runs on it and gives the expected values.
//
// Public API: gpuCheck(opts) -> GpuReport, queryNvidiaSmi, probeProvider, PROBE_INPUT, PROBE_EXPECTED.

import { spawnSync } from 'node:child_process';
import { Graph } from '../onnx/builder.js';
import { PROVIDERS, cudaLibraryMissing, openSession, ortTensor, type Provider } from '../session.js';
import { findCudaLibraries, type CudaLibraryReport } from './cuda-libs.js';
import { PROVIDER_ORT_VERSION, PROVIDER_PACKAGE } from './package.js';
import { locateOrt, providerLibraryStatus, type LibraryStatus } from './setup.js';

export interface GpuInfo {
  name: string;
  driver: string;
  memory: string;
}

export interface DriverReport {
  /** nvidia-smi ran and listed at least one GPU. */
  present: boolean;
  gpus: GpuInfo[];
  /** 'no NVIDIA driver (nvidia-smi not found)' or nvidia-smi's error, when not present. */
  note: string | null;
}

export interface ProbeResult {
  provider: Provider;
  ok: boolean;
  /** Session creation + first run, milliseconds. */
  ms: number | null;
  /** The output equals (cpu) or is within 1e-5 of (device providers) the expected values. */
  outputMatches: boolean | null;
  output: number[] | null;
  error: string | null;
}

export interface GpuReport {
  platform: string;
  driver: DriverReport;
  onnxruntimeNode: { version: string | null; binDir: string; providerBuiltFor: string; matches: boolean };
  providerPackage: string;
  providerLibraries: LibraryStatus[];
  cudaLibraries: CudaLibraryReport;
  providers: ProbeResult[];
  /** The cpu provider ran the probe and gave the expected values. */
  ok: boolean;
}

export const PROBE_INPUT = [0, 1, 2, 3, 4.5, -6];
export const PROBE_EXPECTED = PROBE_INPUT.map((x) => x * 2 + 1);

/** nvidia-smi --query-gpu=name,driver_version,memory.total, or why there is none. */
export function queryNvidiaSmi(command = 'nvidia-smi'): DriverReport {
  const r = spawnSync(command, ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const note =
      code === 'ENOENT' ? 'no NVIDIA driver (nvidia-smi not found)' : `nvidia-smi failed: ${r.error.message}`;
    return { present: false, gpus: [], note };
  }
  if (r.status !== 0) {
    const why = `${r.stdout}\n${r.stderr}`.trim().split('\n')[0] || `exit status ${r.status}`;
    return { present: false, gpus: [], note: `no usable NVIDIA driver (nvidia-smi: ${why.slice(0, 300)})` };
  }
  const gpus = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name = '', driver = '', memory = ''] = l.split(',').map((s) => s.trim());
      return { name, driver, memory };
    });
  return { present: gpus.length > 0, gpus, note: gpus.length > 0 ? null : 'nvidia-smi listed no GPU' };
}

let probeModel: Uint8Array | null = null;

function model(): Uint8Array {
  if (!probeModel) {
    const g = new Graph({ name: 'gpu-check' });
    const x = g.input('x', 'float32', [2, 3]);
    g.output(g.add(g.mul(x, 2), 1), 'y');
    probeModel = g.toBytes();
  }
  return probeModel;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n').find((l) => l.trim()) ?? text).slice(0, 400);
}

/** Opens the probe model on `provider` alone and runs it once. */
export async function probeProvider(provider: Provider): Promise<ProbeResult> {
  const result: ProbeResult = {
    provider,
    ok: false,
    ms: null,
    outputMatches: null,
    output: null,
    error: null,
  };
  if (provider === 'cuda' && cudaLibraryMissing()) {
    // Not attempted: onnxruntime would print its own loader error on stderr.
    result.error = 'the CUDA provider libraries are not installed: run avvp gpu setup';
    return result;
  }
  const t0 = performance.now();
  let session;
  try {
    ({ session } = await openSession(model(), { providers: [provider] }));
    const out = await session.run({ x: ortTensor('float32', new Float32Array(PROBE_INPUT), [2, 3]) });
    result.ms = performance.now() - t0;
    result.output = Array.from(out.y.data as Float32Array);
    const tolerance = provider === 'cpu' ? 0 : 1e-5;
    result.outputMatches =
      result.output.length === PROBE_EXPECTED.length &&
      result.output.every((v, i) => Math.abs(v - PROBE_EXPECTED[i]) <= tolerance);
    result.ok = result.outputMatches;
    if (!result.ok)
      result.error = `wrong output [${result.output.join(', ')}], expected [${PROBE_EXPECTED.join(', ')}]`;
  } catch (e) {
    result.error = firstLine(e)
      .replace(/^onnxruntime could not load model bytes: /, '')
      // onnxruntime's source location and failed assertion: keep the reason that follows.
      .replace(/^\/onnxruntime_src\/\S+ .* was false\. /, '');
  } finally {
    await session?.release().catch(() => {});
  }
  return result;
}

export interface CheckOptions {
  providers?: readonly Provider[];
  nvidiaSmi?: string;
}

export async function gpuCheck(opts: CheckOptions = {}): Promise<GpuReport> {
  const ort = locateOrt();
  const providers: ProbeResult[] = [];
  for (const p of opts.providers ?? PROVIDERS) providers.push(await probeProvider(p));
  const cpu = providers.find((p) => p.provider === 'cpu');
  return {
    platform: `${process.platform}-${process.arch}`,
    driver: queryNvidiaSmi(opts.nvidiaSmi),
    onnxruntimeNode: {
      version: ort.version,
      binDir: ort.binDir,
      providerBuiltFor: PROVIDER_ORT_VERSION,
      matches: ort.version === PROVIDER_ORT_VERSION,
    },
    providerPackage: `${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`,
    providerLibraries: await providerLibraryStatus(ort.binDir),
    cudaLibraries: findCudaLibraries(),
    providers,
    ok: cpu?.ok === true,
  };
}
