// Checkpoint files: everything needed to resume a run exactly (parameters, optimizer slots, Rng
// state, epoch, step, best metric, history). Layout: 'AVVPCKPT' magic, uint32 header length,
// JSON header, then the raw little-endian tensor bytes in header order.
//
// Public API: Checkpoint, saveCheckpoint(path, ckpt), loadCheckpoint(path), CheckpointError.

import { readFile, rename, writeFile } from 'node:fs/promises';

const MAGIC = 'AVVPCKPT';
const VERSION = 1;

export interface CheckpointTensor {
  name: string;
  dtype: 'float32' | 'float64';
  shape: number[];
  data: Float32Array | Float64Array;
}

export interface Checkpoint {
  /** Model name and parameter layout; resuming a different model is refused. */
  model: string;
  fingerprint: string;
  epoch: number;
  step: number;
  rng: number[];
  best?: { metric: string; value: number; epoch: number };
  history: Record<string, number>[];
  tensors: CheckpointTensor[];
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const entries = ckpt.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    bytes: t.data.byteLength,
  }));
  const { tensors: _tensors, ...meta } = ckpt;
  const header = new TextEncoder().encode(JSON.stringify({ version: VERSION, ...meta, tensors: entries }));
  const total = 8 + 4 + header.length + entries.reduce((a, e) => a + e.bytes, 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let offset = 12 + header.length;
  for (const t of ckpt.tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset);
    offset += t.data.byteLength;
  }
  // Write then rename, so an interrupted save never leaves a half-written checkpoint behind.
  await writeFile(`${path}.tmp`, out);
  await rename(`${path}.tmp`, path);
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new CheckpointError(
      `cannot read checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? e}); check the path`,
    );
  }
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointError(`${path} is not an avvp checkpoint (bad magic)`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new CheckpointError(`${path} is truncated (header cut off)`);
  let header: Omit<Checkpoint, 'tensors'> & {
    version: number;
    tensors: { name: string; dtype: 'float32' | 'float64'; shape: number[]; bytes: number }[];
  };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw new CheckpointError(`${path} has a corrupt header`);
  }
  if (header.version !== VERSION)
    throw new CheckpointError(`${path} has version ${header.version}; this build reads ${VERSION}`);
  let offset = 12 + headerLength;
  const tensors = header.tensors.map((t) => {
    if (offset + t.bytes > bytes.length)
      throw new CheckpointError(`${path} is truncated (tensor '${t.name}' cut off)`);
    const copy = bytes.slice(offset, offset + t.bytes).buffer;
    offset += t.bytes;
    const data = t.dtype === 'float64' ? new Float64Array(copy) : new Float32Array(copy);
    return { name: t.name, dtype: t.dtype, shape: t.shape, data };
  });
  if (offset !== bytes.length)
    throw new CheckpointError(`${path} has ${bytes.length - offset} unexpected trailing bytes`);
  const { version: _version, ...meta } = header;
  return { ...meta, tensors };
}
