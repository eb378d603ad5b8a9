// Adapts an ONNX window-level parser (LINK / HAN exported by this project, run by the worker pool)
// to parse's WindowHead: windows -> float32 [B, T, D] inputs per modality; [B, T, C] outputs -> one
// WindowProbabilities per window. A segment without a modality (a stream with no audio track) is fed
// zeros for it: the head still answers for the other modality, and its probabilities for the
// missing one are low rather than invented.
import type { Features, RunModel, TensorMap } from '../types.js';
import type { WindowProbabilities } from './predictSegments.js';
import type { FeatureWindow } from './window.js';

export interface OnnxHeadIo {
  audioInput: string;
  visualInput: string;
  audioDim: number;
  visualDim: number;
  audioOutput: string;
  visualOutput: string;
  /** Optional: when absent, parse derives audio-visual as min(audio, visual). */
  audioVisualOutput?: string;
}

/** A WindowHead that returns a Promise (so `timed` can wrap it). */
export type PromisedWindowHead = (windows: FeatureWindow<Features>[]) => Promise<WindowProbabilities[]>;

export function onnxWindowHead(run: RunModel, io: OnnxHeadIo): PromisedWindowHead {
  return async (windows) => {
    if (windows.length === 0) return [];
    const size = windows[0].items.length;
    const feeds: TensorMap = {
      [io.audioInput]: stack(windows, size, io.audioDim, 'audio'),
      [io.visualInput]: stack(windows, size, io.visualDim, 'visual'),
    };
    const outputs = await run(feeds);
    const rows = (name: string) => perWindow(outputs, name, windows.length, size);
    const audio = rows(io.audioOutput);
    const visual = rows(io.visualOutput);
    const audioVisual = io.audioVisualOutput ? rows(io.audioVisualOutput) : undefined;
    return windows.map((_, b): WindowProbabilities => ({
      audio: audio[b],
      visual: visual[b],
      ...(audioVisual ? { audioVisual: audioVisual[b] } : {}),
    }));
  };
}

function stack(
  windows: readonly FeatureWindow<Features>[],
  size: number,
  dim: number,
  modality: 'audio' | 'visual',
): TensorMap[string] {
  const data = new Float32Array(windows.length * size * dim);
  windows.forEach((w, b) => {
    if (w.items.length !== size) {
      throw new Error(
        `onnx head: windows in one batch must have the same size (${size} and ${w.items.length})`,
      );
    }
    w.items.forEach((item, t) => {
      const v = item[modality];
      if (!v) return; // zeros: the segment has no such modality
      if (v.length !== dim) {
        throw new Error(
          `onnx head: stream "${item.stream}" segment ${item.index} has ${v.length}-d ${modality} features ` +
            `but the head expects ${dim}; pair the head with the encoder it was trained on`,
        );
      }
      data.set(v, (b * size + t) * dim);
    });
  });
  return { type: 'float32', data, dims: [windows.length, size, dim] };
}

function perWindow(outputs: TensorMap, name: string, batch: number, size: number): Float32Array[] {
  const t = outputs[name];
  if (!t) {
    throw new Error(
      `onnx head: the model has no output '${name}' (outputs: ${Object.keys(outputs).join(', ')})`,
    );
  }
  if (!(t.data instanceof Float32Array) || t.dims.length !== 3 || t.dims[0] !== batch || t.dims[1] !== size) {
    throw new Error(
      `onnx head: output '${name}' is ${t.type} [${t.dims.join(', ')}], expected float32 [${batch}, ${size}, classes]`,
    );
  }
  const stride = size * t.dims[2];
  return Array.from({ length: batch }, (_, b) => t.data.slice(b * stride, (b + 1) * stride) as Float32Array);
}
