// Manifests of the bundled DSP encoders, derived from the built bytes (sha256) and the encoder
// constants, with no timestamp so that `npm run models:build` is reproducible byte for byte.
import { sha256Bytes } from '../../util/sha256.js';
import { parseManifest, type ModelManifest } from '../manifest.js';
import { AUDIO_ENCODER, FFT_SIZE, HOP, MEL_BANDS, buildDspAudioEncoder } from './audio.js';
import { VISUAL_ENCODER, buildDspVisualEncoder } from './visual.js';

export const DSP_VERSION = '1';

export interface BuiltModel {
  manifest: ModelManifest;
  bytes: Uint8Array;
}

const provenance = {
  source: 'avvp-stream src/models/encoders (fixed DSP graph, no learned weights)',
  command: 'npm run models:build',
  sha256Source: 'export',
} as const;

export function dspAudioModel(): BuiltModel {
  const bytes = buildDspAudioEncoder();
  const e = AUDIO_ENCODER;
  const manifest = parseManifest(
    {
      name: 'dsp-audio',
      kind: 'audio-encoder',
      version: DSP_VERSION,
      file: 'dsp-audio.onnx',
      sha256: sha256Bytes(bytes),
      inputs: [{ name: e.input, dtype: 'float32', shape: ['batch', e.samples] }],
      outputs: [{ name: e.output, dtype: 'float32', shape: ['batch', e.features] }],
      preprocessing: {
        sampleRate: e.sampleRate,
        samples: e.samples,
        fftSize: FFT_SIZE,
        hop: HOP,
        melBands: MEL_BANDS,
      },
      features: { audio: e.features },
      provenance,
    },
    'dsp-audio manifest',
  );
  return { manifest, bytes };
}

export function dspVisualModel(): BuiltModel {
  const bytes = buildDspVisualEncoder();
  const e = VISUAL_ENCODER;
  const manifest = parseManifest(
    {
      name: 'dsp-visual',
      kind: 'visual-encoder',
      version: DSP_VERSION,
      file: 'dsp-visual.onnx',
      sha256: sha256Bytes(bytes),
      inputs: [{ name: e.input, dtype: 'uint8', shape: ['batch', e.frames, e.height, e.width, 3] }],
      outputs: [
        { name: e.mapOutput, dtype: 'float32', shape: ['batch', ...e.mapShape] },
        { name: e.output, dtype: 'float32', shape: ['batch', e.features] },
      ],
      preprocessing: { fps: e.fps, width: e.width, height: e.height, pixelFormat: 'rgb24' },
      features: { visual: e.features, visualMap: [...e.mapShape] },
      provenance,
    },
    'dsp-visual manifest',
  );
  return { manifest, bytes };
}

/** Every model `npm run models:build` writes, in order. */
export const BUNDLED_MODELS: readonly (() => BuiltModel)[] = [dspAudioModel, dspVisualModel];
