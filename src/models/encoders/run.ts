// Running encoders on Segments: the bundled DSP encoders and any encoder with their I/O contract
// (the CLIP/CLAP exports adapted by `avvp models adapt`), described by an encoder spec (spec.ts).
// Each function takes a `RunModel` (one inference call: the worker pool's
// `(feeds) => pool.run(name, feeds)`, or `sessionRunner(session)` on the main thread), checks every
// segment before anything reaches onnxruntime, stacks the batch into one tensor, runs once and
// splits the outputs per segment. The returned functions have the shapes of the encode operator's
// AudioEncoder and VisualEncoder (src/operators/encode.ts).
//
// Public API: segmentAudioEncoder(run, spec), segmentVisualEncoder(run, spec), dspAudioEncoder(run),
// dspVisualEncoder(run), sessionRunner(session), EncoderInputError.

import * as ort from 'onnxruntime-node';
import type { RunModel, Segment, TensorMap } from '../../types.js';
import { DSP_AUDIO_SPEC, DSP_VISUAL_SPEC, type AudioEncoderSpec, type VisualEncoderSpec } from './spec.js';

export interface SegmentVisualEncoding {
  visual: Float32Array;
  visualMap?: Float32Array;
  mapShape?: [number, number, number];
}

/** The bundled visual encoder always has its map. */
export interface DspVisualEncoding extends SegmentVisualEncoding {
  visualMap: Float32Array;
  mapShape: [number, number, number];
}

/** A segment the encoder cannot take; the message names the stream, the segment and the fix. */
export class EncoderInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderInputError';
  }
}

function where(s: Segment): string {
  return `stream "${s.stream}" segment ${s.index}`;
}

/** Segments -> the spec's audio features [D] each. */
export function segmentAudioEncoder(
  run: RunModel,
  spec: AudioEncoderSpec,
): (segments: readonly Segment[]) => Promise<Float32Array[]> {
  const { name, samples, sampleRate, input, output, features } = spec;
  return async (segments) => {
    if (segments.length === 0) return [];
    const data = new Float32Array(segments.length * samples);
    segments.forEach((s, b) => {
      if (s.audio === null)
        throw new EncoderInputError(`${name}: ${where(s)} has no audio; pass only segments with audio`);
      if (s.sampleRate !== sampleRate || s.audio.length !== samples) {
        throw new EncoderInputError(
          `${name}: ${where(s)} has ${s.audio.length} samples at ${s.sampleRate} Hz; the encoder takes ` +
            `exactly one second at ${sampleRate} Hz (${samples} samples): ingest with sampleRate ${sampleRate}`,
        );
      }
      const bad = s.audio.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        throw new EncoderInputError(
          `${name}: ${where(s)} has a non-finite sample (${s.audio[bad]}) at index ${bad}`,
        );
      }
      data.set(s.audio, b * samples);
    });
    const result = await run({ [input]: { type: 'float32', data, dims: [segments.length, samples] } });
    return split(result, output, segments.length, features);
  };
}

/** Segments -> the spec's visual features [D] and, when it has one, its map [h, w, d] each. */
export function segmentVisualEncoder(
  run: RunModel,
  spec: VisualEncoderSpec,
): (segments: readonly Segment[]) => Promise<SegmentVisualEncoding[]> {
  const { name, frames, width, height, input, output, mapOutput, features, mapShape } = spec;
  const frameBytes = width * height * 3;
  return async (segments) => {
    if (segments.length === 0) return [];
    const data = new Uint8Array(segments.length * frames * frameBytes);
    segments.forEach((s, b) => {
      if (s.frames === null)
        throw new EncoderInputError(`${name}: ${where(s)} has no frames; pass only segments with video`);
      if (s.width !== width || s.height !== height) {
        throw new EncoderInputError(
          `${name}: ${where(s)} is ${s.width}x${s.height}; the encoder takes ${width}x${height} RGB24 frames: ` +
            `ingest with width ${width} and height ${height}`,
        );
      }
      if (s.frames.length !== frames) {
        throw new EncoderInputError(
          `${name}: ${where(s)} has ${s.frames.length} frames; the encoder takes ${frames} per second: ingest with fps ${frames}`,
        );
      }
      s.frames.forEach((f, i) => {
        if (f.length !== frameBytes) {
          throw new EncoderInputError(
            `${name}: ${where(s)} frame ${i} has ${f.length} bytes, not ${frameBytes} (${width}x${height} RGB24)`,
          );
        }
        data.set(f, (b * frames + i) * frameBytes);
      });
    });
    const result = await run({
      [input]: { type: 'uint8', data, dims: [segments.length, frames, height, width, 3] },
    });
    const vectors = split(result, output, segments.length, features);
    if (!mapOutput || !mapShape) return vectors.map((visual) => ({ visual }));
    const maps = split(result, mapOutput, segments.length, mapShape[0] * mapShape[1] * mapShape[2]);
    return vectors.map((visual, b) => ({ visual, visualMap: maps[b], mapShape: [...mapShape] }));
  };
}

/** The bundled dsp-audio encoder: Segments -> audio_features [296] each. */
export function dspAudioEncoder(run: RunModel): (segments: readonly Segment[]) => Promise<Float32Array[]> {
  return segmentAudioEncoder(run, DSP_AUDIO_SPEC);
}

/** The bundled dsp-visual encoder: Segments -> visual_features [91] and visual_map [7, 7, 14] each. */
export function dspVisualEncoder(
  run: RunModel,
): (segments: readonly Segment[]) => Promise<DspVisualEncoding[]> {
  const encode = segmentVisualEncoder(run, DSP_VISUAL_SPEC);
  return async (segments) => (await encode(segments)) as DspVisualEncoding[];
}

/** One float32 output [batch, ...] -> one copied row per segment. */
function split(result: TensorMap, name: string, batch: number, size: number): Float32Array[] {
  const t = result[name];
  if (!t || t.type !== 'float32' || t.data.length !== batch * size) {
    const got = t ? `${t.type} [${t.dims.join(', ')}]` : `none (outputs: ${Object.keys(result).join(', ')})`;
    throw new Error(`encoder output '${name}': expected float32 with ${batch} x ${size} values, got ${got}`);
  }
  const data = t.data as Float32Array;
  return Array.from({ length: batch }, (_, b) => data.slice(b * size, (b + 1) * size));
}

/** A RunModel on an onnxruntime session in this thread. */
export function sessionRunner(session: ort.InferenceSession): RunModel {
  return async (feeds) => {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
    const outputs = await session.run(inputs);
    const result: TensorMap = {};
    for (const [name, t] of Object.entries(outputs)) {
      result[name] = {
        type: t.type as TensorMap[string]['type'],
        data: t.data as TensorMap[string]['data'],
        dims: [...t.dims],
      };
    }
    return result;
  };
}
