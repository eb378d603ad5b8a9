// Encoder specs from manifests: the bundled manifests give exactly the runners' DSP constants, an
// adapted CLAP/CLIP-shaped manifest gives its own format, and every manifest that no Segment runner
// can feed is refused naming the tensor and the reason.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  DSP_AUDIO_SPEC,
  DSP_VISUAL_SPEC,
  EncoderSpecError,
  audioEncoderSpec,
  ingestFormat,
  visualEncoderSpec,
} from '../../../src/models/encoders/index.js';
import { parseManifest, type ModelManifest } from '../../../src/models/manifest.js';

const bundled = async (name: string) =>
  parseManifest(JSON.parse(await readFile(`models/${name}.json`, 'utf8')));

const audio = (o: Partial<ModelManifest> = {}): ModelManifest => ({
  name: 'clap-like',
  kind: 'audio-encoder',
  version: '1',
  file: 'a.onnx',
  sha256: '0'.repeat(64),
  inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', 48000] }],
  outputs: [{ name: 'audio_features', dtype: 'float32', shape: ['batch', 512] }],
  preprocessing: { sampleRate: 48000 },
  ...o,
});

const visual = (o: Partial<ModelManifest> = {}): ModelManifest => ({
  name: 'clip-like',
  kind: 'visual-encoder',
  version: '1',
  file: 'v.onnx',
  sha256: '0'.repeat(64),
  inputs: [{ name: 'frames', dtype: 'uint8', shape: ['batch', 4, 224, 224, 3] }],
  outputs: [{ name: 'visual_features', dtype: 'float32', shape: ['batch', 512] }],
  ...o,
});

describe('encoder specs', () => {
  it('the bundled manifests give the DSP runners their constants', async () => {
    expect(audioEncoderSpec(await bundled('dsp-audio'))).toEqual(DSP_AUDIO_SPEC);
    expect(visualEncoderSpec(await bundled('dsp-visual'))).toEqual(DSP_VISUAL_SPEC);
    expect(ingestFormat(DSP_AUDIO_SPEC, DSP_VISUAL_SPEC)).toEqual({
      sampleRate: 16000,
      fps: 8,
      width: 224,
      height: 224,
      centreCrop: false,
    });
  });

  it('an adapted CLAP/CLIP-shaped pair gives its own format; no map output means no map', () => {
    const a = audioEncoderSpec(audio());
    const v = visualEncoderSpec(visual());
    expect(a).toMatchObject({ sampleRate: 48000, samples: 48000, features: 512 });
    expect(v).toMatchObject({ frames: 4, width: 224, height: 224, features: 512 });
    expect(v.mapOutput).toBeUndefined();
    expect(ingestFormat(a, v)).toEqual({
      sampleRate: 48000,
      fps: 4,
      width: 224,
      height: 224,
      centreCrop: false,
    });
    // CLIP was trained on centre crops; the adapted manifest says so and the ingest follows
    const cropped = visualEncoderSpec(visual({ preprocessing: { resize: 'centre-crop' } }));
    expect(ingestFormat(a, cropped).centreCrop).toBe(true);
  });

  it.each([
    ['a visual encoder as audio', () => audioEncoderSpec(visual()), /kind is 'visual-encoder'/],
    [
      'preprocessed input',
      () =>
        audioEncoderSpec(
          audio({ inputs: [{ name: 'input_features', dtype: 'float32', shape: ['batch', 1, 1001, 64] }] }),
        ),
      /no input 'audio' \(has input_features\)/,
    ],
    [
      'dynamic sample count',
      () => audioEncoderSpec(audio({ inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', 'n'] }] })),
      /'audio' \[batch, n\] needs a fixed size on axis 1/,
    ],
    [
      'not one second',
      () => audioEncoderSpec(audio({ preprocessing: { sampleRate: 16000 } })),
      /takes 48000 samples at 16000 Hz, not one second/,
    ],
    ['no sample rate', () => audioEncoderSpec(audio({ preprocessing: {} })), /no preprocessing\.sampleRate/],
    [
      'int64 PCM',
      () => audioEncoderSpec(audio({ inputs: [{ name: 'audio', dtype: 'int64', shape: ['batch', 48000] }] })),
      /'audio' is int64, not float32 PCM/,
    ],
    [
      'float frames',
      () =>
        visualEncoderSpec(
          visual({ inputs: [{ name: 'frames', dtype: 'float32', shape: ['batch', 4, 224, 224, 3] }] }),
        ),
      /'frames' is float32, not uint8 RGB24/,
    ],
    [
      'planar frames',
      () =>
        visualEncoderSpec(
          visual({ inputs: [{ name: 'frames', dtype: 'uint8', shape: ['batch', 4, 3, 224, 224] }] }),
        ),
      /must end with 3 \(RGB\) channels/,
    ],
    [
      'no features output',
      () =>
        visualEncoderSpec(
          visual({ outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['batch', 512] }] }),
        ),
      /no output 'visual_features' \(has image_embeds\)/,
    ],
  ])('refuses %s, naming the fix', (_, make, message) => {
    expect(make).toThrow(EncoderSpecError);
    expect(make).toThrow(message);
    expect(make).toThrow(/avvp models adapt/);
  });
});
