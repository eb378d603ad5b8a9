// Opening onnxruntime-node sessions. onnxruntime rejects (rather than falls back) when the CUDA
// provider libraries are missing, so openSession tries each provider in order, logs which one it
// got, and turns missing, empty, truncated or non-ONNX files into errors that say what to do.
// Providers: cuda (NVIDIA, libraries installed by `avvp gpu setup`), webgpu (bundled with
// onnxruntime-node on linux/x64, over Vulkan; opt-in: slower than the CPU for these models, see
// docs/gpu.md), cpu. The default order is cuda, then cpu.
//
// Public API: openSession(pathOrBytes, { providers, log }) -> { session, provider },
// parseProviders, DEFAULT_PROVIDERS, checkModelBytes, ModelFileError, ortTensor.

import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ProtoError, Wire, readFields } from './onnx/protobuf.js';
import type { DType, Shape, TypedData } from './onnx/builder.js';

export const PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** cuda when its libraries are installed, else cpu; webgpu only when asked for. */
export const DEFAULT_PROVIDERS: readonly Provider[] = ['cuda', 'cpu'];

/** 'cuda,cpu' -> ['cuda', 'cpu']; an unknown or repeated name is an error that lists the valid ones. */
export function parseProviders(text: string): Provider[] {
  const names = text.split(',').map((s) => s.trim());
  const problem = names.find((n) => !(PROVIDERS as readonly string[]).includes(n));
  if (problem !== undefined)
    throw new RangeError(
      `unknown execution provider '${problem.slice(0, 40)}': use a comma-separated list of ${PROVIDERS.join(', ')}`,
    );
  if (new Set(names).size !== names.length) throw new RangeError(`execution providers repeat: '${text}'`);
  return names as Provider[];
}

export interface OpenOptions {
  /** Providers to try in order (default DEFAULT_PROVIDERS: cuda, then cpu). */
  providers?: Provider[];
  /** Where to report the provider used and fallbacks (default: silent). */
  log?: (line: string) => void;
  intraOpThreads?: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: Provider;
}

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/**
 * Cheap structural check of ONNX bytes: the top-level protobuf fields parse, and ir_version and
 * a graph are present. Catches truncated, empty and non-ONNX files before onnxruntime does.
 */
export function checkModelBytes(bytes: Uint8Array, label: string): void {
  if (bytes.length === 0) throw new ModelFileError(`${label} is empty; re-export or re-download the model`);
  let fields;
  try {
    fields = readFields(bytes, label);
  } catch (e) {
    const reason = e instanceof ProtoError ? e.message : String(e);
    throw new ModelFileError(`${label} is not a valid ONNX file (${reason}); re-export or re-download it`);
  }
  const ir = fields.find((f) => f.field === 1 && f.wire === Wire.Varint);
  const graph = fields.find((f) => f.field === 7 && f.wire === Wire.Bytes);
  if (!ir || !graph) {
    throw new ModelFileError(
      `${label} is not an ONNX model (no ${ir ? 'graph' : 'ir_version'}); check the file path`,
    );
  }
}

async function load(source: string): Promise<Uint8Array> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new ModelFileError(
      `model file ${source} does not exist; check the path or run the command that creates it`,
    );
  }
  if (!info.isFile()) throw new ModelFileError(`model path ${source} is not a file`);
  return new Uint8Array(await readFile(source));
}

/** Opens a session from a file path or ONNX bytes, trying providers in order. */
export async function openSession(
  source: string | Uint8Array,
  opts: OpenOptions = {},
): Promise<OpenedSession> {
  const label = typeof source === 'string' ? `model file ${source}` : 'model bytes';
  const bytes = typeof source === 'string' ? await load(source) : source;
  checkModelBytes(bytes, label);
  const providers = opts.providers ?? DEFAULT_PROVIDERS;
  if (providers.length === 0) throw new Error('openSession: no execution providers given');
  const log = opts.log ?? (() => {});
  let lastError: unknown;
  for (const provider of providers) {
    const next = providers[providers.indexOf(provider) + 1];
    if (provider === 'cuda' && next && cudaLibraryMissing()) {
      // Skip the attempt (and onnxruntime's own error print) when the libraries are not installed.
      log(
        `onnxruntime: cuda provider libraries are not installed (see docs/gpu.md); falling back to ${next}`,
      );
      continue;
    }
    const options: ort.InferenceSession.SessionOptions = {
      // Nodes a device provider cannot run fall back to the CPU inside onnxruntime.
      executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
    };
    try {
      // A path is passed as a path so that external-data files next to it resolve.
      const session =
        typeof source === 'string'
          ? await ort.InferenceSession.create(source, options)
          : await ort.InferenceSession.create(bytes, options);
      log(`onnxruntime: ${label} opened with the ${provider} execution provider`);
      return { session, provider };
    } catch (e) {
      lastError = e;
      if (next)
        log(`onnxruntime: ${provider} provider unavailable (${firstLine(e)}); falling back to ${next}`);
    }
  }
  throw new ModelFileError(`onnxruntime could not load ${label}: ${firstLine(lastError)}`);
}

/**
 * True when onnxruntime-node's CUDA provider library is known to be absent (linux/x64, where the
 * optional postinstall puts it next to the CPU binaries); false when present or unknown.
 */
export function cudaLibraryMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const lib = join(
    dirname(entry),
    '..',
    'bin',
    'napi-v6',
    'linux',
    process.arch,
    'libonnxruntime_providers_cuda.so',
  );
  return !existsSync(lib);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 400);
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  uint8: 'uint8',
};

/** An onnxruntime tensor from typed data and a concrete shape. */
export function ortTensor(dtype: DType, data: TypedData, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[dtype], data, shape as number[]);
}

/** Resolves a builder shape against symbol bindings (e.g. {batch: 32}); throws on unknown symbols. */
export function concreteShape(shape: Shape, bindings: Record<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    let n = 1;
    for (const part of d.split('*')) {
      const v = /^\d+$/.test(part) ? Number(part) : bindings[part];
      if (v === undefined) throw new Error(`cannot resolve dimension '${d}': '${part}' is not bound`);
      n *= v;
    }
    return n;
  });
}
