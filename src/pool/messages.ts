// Messages between the inference pool (main thread) and its workers. Tensors travel as plain
// { type, data, dims } objects whose data buffers are transferred, never copied.
import type { Provider } from '../engine/session.js';
import type { TensorArray, TensorMap } from '../types.js';

/** What a worker is started with (workerData). */
export interface WorkerInit {
  /** Model name -> file path or ONNX bytes. */
  models: Record<string, string | Uint8Array>;
  providers: Provider[];
  intraOpNumThreads: number;
}

export interface ModelInfo {
  provider: Provider;
  inputNames: readonly string[];
  outputNames: readonly string[];
}

export type ToWorker = { type: 'run'; id: number; model: string; feeds: TensorMap } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; models: Record<string, ModelInfo> }
  | { type: 'init-error'; message: string }
  | { type: 'log'; line: string }
  | { type: 'result'; id: number; outputs: TensorMap }
  | { type: 'error'; id: number; message: string };

/**
 * The buffers to transfer for a set of tensors. A view that covers only part of its buffer (a
 * subarray of a bigger chunk) is first copied into its own buffer: transferring the shared buffer
 * would detach the caller's other views, and cloning it would copy all of it.
 */
export function transferable(tensors: TensorMap): { tensors: TensorMap; transfer: ArrayBuffer[] } {
  const out: TensorMap = {};
  const transfer = new Set<ArrayBuffer>();
  for (const [name, t] of Object.entries(tensors)) {
    let data = t.data;
    const whole =
      data.buffer instanceof ArrayBuffer &&
      data.byteOffset === 0 &&
      data.byteLength === data.buffer.byteLength &&
      !transfer.has(data.buffer);
    if (!whole) data = data.slice() as TensorArray;
    transfer.add(data.buffer as ArrayBuffer);
    out[name] = { type: t.type, data, dims: t.dims };
  }
  return { tensors: out, transfer: [...transfer] };
}
