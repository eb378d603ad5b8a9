// What a Segment runner needs to know about an encoder, read from its manifest: tensor names,
// the one-second input layout (PCM samples at a rate; F frames of W x H RGB24) and the output
// sizes. The bundled DSP encoders and the CLIP/CLAP exports adapted by `avvp models adapt` share
// the same I/O contract, so one runner serves both; anything else is refused with the reason.
//
// Public API: AudioEncoderSpec, VisualEncoderSpec, audioEncoderSpec(manifest),
// visualEncoderSpec(manifest), ingestFormat(audio, visual), IngestFormat, DSP_AUDIO_SPEC,
// DSP_VISUAL_SPEC, EncoderSpecError.

import type { ModelManifest, TensorSpec } from '../manifest.js';
import { AUDIO_ENCODER } from './audio.js';
import { VISUAL_ENCODER } from './visual.js';

export interface AudioEncoderSpec {
  name: string;
  input: string;
  output: string;
  sampleRate: number;
  /** Samples per one-second segment (= sampleRate). */
  samples: number;
  features: number;
}

export interface VisualEncoderSpec {
  name: string;
  input: string;
  output: string;
  /** Frames per one-second segment (= the ingest fps). */
  frames: number;
  width: number;
  height: number;
  /** Frames are scaled to cover W x H and centre-cropped (manifest preprocessing.resize 'centre-crop'), else stretched. */
  centreCrop: boolean;
  features: number;
  /** The spatial map output (h x w x d), when the encoder has one. */
  mapOutput?: string;
  mapShape?: [number, number, number];
}

/** How sources must be decoded for a pair of encoders (fromMedia's / synthSource's options). */
export interface IngestFormat {
  sampleRate: number;
  fps: number;
  width: number;
  height: number;
  centreCrop: boolean;
}

export function ingestFormat(audio: AudioEncoderSpec, visual: VisualEncoderSpec): IngestFormat {
  const { frames: fps, width, height, centreCrop } = visual;
  return { sampleRate: audio.sampleRate, fps, width, height, centreCrop };
}

/** An encoder whose manifest does not describe a runnable one-second Segment encoder. */
export class EncoderSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderSpecError';
  }
}

export const DSP_AUDIO_SPEC: AudioEncoderSpec = {
  name: 'dsp-audio',
  input: AUDIO_ENCODER.input,
  output: AUDIO_ENCODER.output,
  sampleRate: AUDIO_ENCODER.sampleRate,
  samples: AUDIO_ENCODER.samples,
  features: AUDIO_ENCODER.features,
};

export const DSP_VISUAL_SPEC: VisualEncoderSpec = {
  name: 'dsp-visual',
  input: VISUAL_ENCODER.input,
  output: VISUAL_ENCODER.output,
  frames: VISUAL_ENCODER.frames,
  width: VISUAL_ENCODER.width,
  height: VISUAL_ENCODER.height,
  // the whole scene, stretched: a sound source at the edge of the picture stays in it
  centreCrop: false,
  features: VISUAL_ENCODER.features,
  mapOutput: VISUAL_ENCODER.mapOutput,
  mapShape: [...VISUAL_ENCODER.mapShape],
};

const CONTRACT =
  'a Segment encoder takes one second of raw media (audio [batch, samples] at preprocessing.sampleRate, ' +
  'or frames uint8 [batch, fps, height, width, 3]) and gives [batch, D] features: the bundled DSP encoders ' +
  "and 'avvp models adapt' outputs have it";

function fail(m: ModelManifest, why: string): never {
  throw new EncoderSpecError(`encoder '${m.name}': ${why}; ${CONTRACT}`);
}

/** A fixed positive size, or a failure naming the tensor. */
function fixed(m: ModelManifest, t: TensorSpec, axis: number): number {
  const d = t.shape[axis];
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1)
    fail(m, `'${t.name}' [${t.shape.join(', ')}] needs a fixed size on axis ${axis}`);
  return d;
}

function tensor(m: ModelManifest, list: TensorSpec[], name: string, rank: number, what: string): TensorSpec {
  const t = list.find((x) => x.name === name);
  if (!t) fail(m, `no ${what} '${name}' (has ${list.map((x) => x.name).join(', ') || 'none'})`);
  if (t.shape.length !== rank) fail(m, `${what} '${name}' has rank ${t.shape.length}, expected ${rank}`);
  return t;
}

/** Audio encoder: input `audio` float32 [batch, S] with S = preprocessing.sampleRate, output `audio_features` [batch, D]. */
export function audioEncoderSpec(m: ModelManifest): AudioEncoderSpec {
  if (m.kind !== 'audio-encoder') fail(m, `kind is '${m.kind}', not 'audio-encoder'`);
  const input = tensor(m, m.inputs, DSP_AUDIO_SPEC.input, 2, 'input');
  if (input.dtype !== 'float32') fail(m, `input '${input.name}' is ${input.dtype}, not float32 PCM`);
  const samples = fixed(m, input, 1);
  const rate = m.preprocessing?.sampleRate;
  if (typeof rate !== 'number') fail(m, 'the manifest has no preprocessing.sampleRate');
  if (rate !== samples)
    fail(m, `input '${input.name}' takes ${samples} samples at ${rate} Hz, not one second`);
  const output = tensor(m, m.outputs, DSP_AUDIO_SPEC.output, 2, 'output');
  return {
    name: m.name,
    input: input.name,
    output: output.name,
    sampleRate: rate,
    samples,
    features: fixed(m, output, 1),
  };
}

/** Visual encoder: input `frames` uint8 [batch, F, H, W, 3], output `visual_features` [batch, D], optional `visual_map` [batch, h, w, d]. */
export function visualEncoderSpec(m: ModelManifest): VisualEncoderSpec {
  if (m.kind !== 'visual-encoder') fail(m, `kind is '${m.kind}', not 'visual-encoder'`);
  const input = tensor(m, m.inputs, DSP_VISUAL_SPEC.input, 5, 'input');
  if (input.dtype !== 'uint8') fail(m, `input '${input.name}' is ${input.dtype}, not uint8 RGB24`);
  if (fixed(m, input, 4) !== 3) fail(m, `input '${input.name}' must end with 3 (RGB) channels`);
  const output = tensor(m, m.outputs, DSP_VISUAL_SPEC.output, 2, 'output');
  const map = m.outputs.find((t) => t.name === DSP_VISUAL_SPEC.mapOutput && t.shape.length === 4);
  return {
    name: m.name,
    input: input.name,
    output: output.name,
    frames: fixed(m, input, 1),
    height: fixed(m, input, 2),
    width: fixed(m, input, 3),
    centreCrop: m.preprocessing?.resize === 'centre-crop',
    features: fixed(m, output, 1),
    ...(map ? { mapOutput: map.name, mapShape: [fixed(m, map, 1), fixed(m, map, 2), fixed(m, map, 3)] } : {}),
  };
}
