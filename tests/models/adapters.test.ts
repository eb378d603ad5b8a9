// Preprocessing prefixes composed in front of small random-weight graphs that have exactly the
// public CLIP/CLAP exports' input/output names and shapes, run in onnxruntime and compared with
// plain float64 computations written here independently of src/models/adapters.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { composePrefix, ComposeError, l2NormalizeOutput } from '../../src/models/adapters/compose.js';
import { CLAP_LOG_MEL, clipPixelPrefix, logMelPrefix } from '../../src/models/adapters/prefix.js';
import { decodeModel, encodeModel, type ModelProto } from '../../src/engine/onnx/proto.js';
import { Rng } from '../../src/util/rng.js';
import { clapAudioLike, clipVisionLike } from './fixtures/tiny-exports.js';

async function run(model: ModelProto | Uint8Array, feeds: Record<string, ort.Tensor>) {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** The same model declared at another opset (its ops are unchanged between the two). */
function atOpset(bytes: Uint8Array, version: number): ModelProto {
  const m = decodeModel(bytes);
  m.opsetImports = m.opsetImports.map((o) => (o.domain === '' ? { ...o, version } : o));
  return m;
}

const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

describe('CLIP pixel prefix', () => {
  const rng = new Rng(5);
  const B = 2;
  const frames = Uint8Array.from({ length: B * 224 * 224 * 3 }, () => rng.int(0, 256));
  // float64 reference: NHWC uint8 -> NCHW, /255, (x - mean) / std.
  const pixels = new Float32Array(B * 3 * 224 * 224);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < 224; y++)
      for (let x = 0; x < 224; x++)
        for (let c = 0; c < 3; c++) {
          const v = frames[((b * 224 + y) * 224 + x) * 3 + c] / 255;
          pixels[((b * 3 + c) * 224 + y) * 224 + x] = (v - MEAN[c]) / STD[c];
        }
  const framesTensor = () => new ort.Tensor('uint8', frames, [B, 224, 224, 3]);

  it('normalises uint8 RGB frames into pixel_values', async () => {
    const out = await run(clipPixelPrefix().toModel(), { frames: framesTensor() });
    const got = out.pixel_values.data as Float32Array;
    expect(out.pixel_values.dims).toEqual([B, 3, 224, 224]);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - pixels[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('composed in front of a CLIP-shaped export (opset 14), with L2-normalised embeddings', async () => {
    const exportBytes = clipVisionLike();
    const model = atOpset(exportBytes, 14);
    const direct = await run(model, { pixel_values: new ort.Tensor('float32', pixels, [B, 3, 224, 224]) });
    const joined = composePrefix(clipPixelPrefix().toModel(), model);
    expect(joined.graph.inputs.map((i) => i.name)).toEqual(['frames']);
    expect(joined.opsetImports).toEqual([{ domain: '', version: 14 }]);
    const composed = await run(joined, { frames: framesTensor() });
    const want = direct.image_embeds.data as Float32Array;
    const got = composed.image_embeds.data as Float32Array;
    expect(composed.image_embeds.dims).toEqual([B, 512]);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);

    l2NormalizeOutput(joined, 'image_embeds');
    const unit = (await run(joined, { frames: framesTensor() })).image_embeds.data as Float32Array;
    for (let b = 0; b < B; b++) {
      const row = want.subarray(b * 512, (b + 1) * 512);
      const norm = Math.hypot(...row);
      for (let j = 0; j < 512; j++) expect(unit[b * 512 + j]).toBeCloseTo(row[j] / norm, 5);
    }
  });

  it('refuses models it cannot be joined to, saying why', () => {
    const prefix = clipPixelPrefix().toModel();
    expect(() => composePrefix(prefix, atOpset(clipVisionLike(), 12))).toThrow(
      new ComposeError('the model uses opset 12; preprocessing prefixes need opset 13 or later'),
    );
    expect(() => composePrefix(prefix, decodeModel(clapAudioLike()))).toThrow(
      "the prefix produces 'pixel_values' but the model has no such input (it has 'input_features')",
    );
    expect(() =>
      composePrefix(clipPixelPrefix({ size: 256 }).toModel(), decodeModel(clipVisionLike())),
    ).toThrow("the prefix output 'pixel_values' has 256 at axis 2, the model input 224");
    expect(() => l2NormalizeOutput(decodeModel(clipVisionLike()), 'embeds')).toThrow(
      "the model has no output 'embeds'",
    );
  });
});

// ---------------------------------------------------------------- CLAP log-mel, float64 reference

/** Slaney mel scale (librosa's htk=False), written out independently of src. */
function slaneyMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function slaneyHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogMel = 1000 / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? 1000 * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/** Filters as weights[band][bin], area-normalised. */
function referenceBank(sr: number, nFft: number, bands: number, fMin: number, fMax: number): number[][] {
  const bins = nFft / 2 + 1;
  const lo = slaneyMel(fMin);
  const hi = slaneyMel(fMax);
  const hz: number[] = [];
  for (let i = 0; i < bands + 2; i++) hz.push(slaneyHz(lo + (i * (hi - lo)) / (bands + 1)));
  return Array.from({ length: bands }, (_, m) => {
    const [left, centre, right] = [hz[m], hz[m + 1], hz[m + 2]];
    const norm = 2 / (right - left);
    return Array.from({ length: bins }, (_, k) => {
      const f = (k * sr) / nFft;
      if (f <= left || f >= right) return 0;
      return norm * (f < centre ? (f - left) / (centre - left) : (right - f) / (right - centre));
    });
  });
}

/** log-mel of the listed frames of `audio` (one second), all in float64. */
function referenceLogMel(audio: Float32Array, frames: number[]): number[][] {
  const { fftSize: n, hop, bands, sampleRate, fMin, fMax, paddedSamples } = CLAP_LOG_MEL;
  const tiled = new Float64Array(paddedSamples);
  for (let i = 0; i < paddedSamples; i++) tiled[i] = audio[i % audio.length];
  const half = n / 2;
  // reflect padding: index -1 -> 1, L -> L-2
  const at = (i: number) => tiled[i < 0 ? -i : i >= paddedSamples ? 2 * (paddedSamples - 1) - i : i];
  const bank = referenceBank(sampleRate, n, bands, fMin, fMax);
  return frames.map((f) => {
    const frame = Array.from(
      { length: n },
      (_, t) => at(f * hop + t - half) * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / n)),
    );
    const power = Array.from({ length: half + 1 }, (_, k) => {
      let re = 0;
      let im = 0;
      for (let t = 0; t < n; t++) {
        const a = (2 * Math.PI * k * t) / n;
        re += frame[t] * Math.cos(a);
        im -= frame[t] * Math.sin(a);
      }
      return re * re + im * im;
    });
    return bank.map(
      (w) =>
        10 *
        Math.log10(
          Math.max(
            1e-10,
            w.reduce((s, wk, k) => s + wk * power[k], 0),
          ),
        ),
    );
  });
}

describe('CLAP log-mel prefix', () => {
  // One second at 48 kHz: three tones, a chirp and noise, so every band has energy.
  const rng = new Rng(11);
  const audio = Float32Array.from({ length: 48000 }, (_, i) => {
    const t = i / 48000;
    return (
      0.3 * Math.sin(2 * Math.PI * 440 * t) +
      0.2 * Math.sin(2 * Math.PI * 3100 * t) +
      0.1 * Math.sin(2 * Math.PI * 9000 * t) +
      0.1 * Math.sin(2 * Math.PI * (200 + 6000 * t) * t) +
      0.05 * rng.normal()
    );
  });

  it('matches a float64 log-mel (repeat-pad to 10 s, reflect centre, Hann, Slaney) within 0.001 dB', async () => {
    const out = await run(logMelPrefix().toModel(), { audio: new ort.Tensor('float32', audio, [1, 48000]) });
    expect(out.input_features.dims).toEqual([1, 1, 1001, 64]);
    const got = out.input_features.data as Float32Array;
    // Both edges (reflect padding), the seams between repeated copies, the middle.
    const frames = [0, 1, 99, 100, 101, 500, 999, 1000];
    const want = referenceLogMel(audio, frames);
    let worst = 0;
    frames.forEach((f, i) => {
      for (let m = 0; m < 64; m++) worst = Math.max(worst, Math.abs(got[f * 64 + m] - want[i][m]));
    });
    // Measured: 3e-5 dB (float32 DFT by convolution vs float64).
    expect(worst).toBeLessThan(1e-3);
  });

  it('composed in front of a CLAP-shaped export (opset 14) feeds it the same features', async () => {
    const batch = new Float32Array(2 * 48000);
    batch.set(audio, 0);
    batch.set(
      audio.map((x) => 0.5 * x),
      48000,
    );
    const features = await run(logMelPrefix().toModel(), {
      audio: new ort.Tensor('float32', batch, [2, 48000]),
    });
    const model = atOpset(clapAudioLike(), 14);
    const direct = await run(model, { input_features: features.input_features });
    const composed = await run(composePrefix(logMelPrefix().toModel(), model), {
      audio: new ort.Tensor('float32', batch, [2, 48000]),
    });
    expect(composed.audio_embeds.dims).toEqual([2, 512]);
    const want = direct.audio_embeds.data as Float32Array;
    const got = composed.audio_embeds.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    // Halving the amplitude lowers every band by 20*log10(2) dB: the two rows differ.
    expect(got.subarray(0, 512)).not.toEqual(got.subarray(512));
  });
});
