// The DSP audio encoder against a float64 reference and against what known signals must give.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AUDIO_FEATURES,
  AUDIO_LAYOUT,
  EncoderInputError,
  melFilterBank,
} from '../../../src/models/encoders/index.js';
import type { Segment } from '../../../src/types.js';
import { audioEncoder, clicks, modulatedNoise, segment, tones, worstError } from './helpers.js';
import { referenceAudio, referenceCentres } from './reference.js';

let encoder: Awaited<ReturnType<typeof audioEncoder>>;
beforeAll(async () => {
  encoder = await audioEncoder();
});
afterAll(async () => {
  await encoder.session.release();
});

const range = (name: string): [number, number] => {
  const entry = AUDIO_LAYOUT.find(([n]) => n === name);
  if (!entry) throw new Error(`no feature block ${name}`);
  return [entry[1], entry[1] + entry[2]];
};
const block = (f: Float32Array, name: string) => Array.from(f.slice(...range(name)));
const one = (f: Float32Array, name: string) => f[range(name)[0]];
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function encodeOne(pcm: Float32Array): Promise<Float32Array> {
  const [f] = await encoder.encode([segment({ audio: pcm })]);
  return f;
}

describe('dsp-audio', () => {
  test('layout covers 296 dimensions without gaps', () => {
    expect(AUDIO_FEATURES).toBe(296);
    let next = 0;
    for (const [, first, count] of AUDIO_LAYOUT) {
      expect(first).toBe(next);
      next += count;
    }
    expect(next).toBe(AUDIO_FEATURES);
  });

  // Tolerance |onnx - reference| <= 1e-3 + 1e-3 |reference| for every dimension (measured worst:
  // about 3% of that, float32 against float64).
  test.each([
    [
      'two tones in noise',
      tones(
        [
          [440, 0.3],
          [3000, 0.1],
        ],
        0.01,
      ),
    ],
    ['noise amplitude-modulated at 5 Hz', modulatedNoise(5, 0.9)],
    ['clicks every 250 ms', clicks(4000)],
    ['silence', new Float32Array(16000)],
  ])('%s: all 296 features match the float64 reference', async (_, pcm) => {
    const got = await encodeOne(pcm);
    const worst = worstError(got, referenceAudio(pcm), 1e-3, 1e-3);
    expect(worst.ratio, `dimension ${worst.at}`).toBeLessThanOrEqual(1);
  });

  test('a sine lands in the mel band whose centre is nearest, and sets the centroid', async () => {
    const centres = referenceCentres();
    for (const hz of [300, 1000, 2500, 6000]) {
      const f = await encodeOne(tones([[hz, 0.3]], 0.001));
      const nearest = argmax(centres.map((c) => -Math.abs(Math.log(c / hz))));
      expect(argmax(block(f, 'band_mean')), `${hz} Hz`).toBe(nearest);
      expect(argmax(block(f, 'band_max')), `${hz} Hz`).toBe(nearest);
      expect(one(f, 'centroid_mean')).toBeCloseTo(hz / 1000, 1); // kHz, within 0.05
      expect(one(f, 'flatness_mean')).toBeLessThan(0.01); // tonal
    }
  });

  test('white noise is flat: every band near log(variance), flatness near 0.56 (exp(-gamma))', async () => {
    const f = await encodeOne(tones([], 0.1));
    // The mean of a log of exponentially distributed powers sits up to gamma = 0.577 below the
    // log of the mean (single-bin bands); wide bands average bins first and come closer.
    for (const v of block(f, 'band_mean')) {
      expect(v).toBeLessThan(Math.log(0.01) + 0.1);
      expect(v).toBeGreaterThan(Math.log(0.01) - 0.7);
    }
    // The geometric/arithmetic mean ratio of exponential (chi-square 2) powers is exp(-0.5772).
    expect(one(f, 'flatness_mean')).toBeGreaterThan(0.45);
    expect(one(f, 'flatness_mean')).toBeLessThan(0.65);
  });

  test('clicks give onset energy that steady noise of the same power does not', async () => {
    const click = clicks(4000);
    const rms = Math.sqrt(mean(Array.from(click, (x) => x * x)));
    const steady = await encodeOne(tones([], rms, 9));
    const clicked = await encodeOne(click);
    // Steady noise also rises and falls from frame to frame (the log of a random power), so the
    // mean rise only doubles (measured 0.55 vs 0.30); the peak rise (7.7 vs 0.44) and the
    // energy spread (2.5 vs 0.08) separate clearly.
    expect(mean(block(clicked, 'band_onset'))).toBeGreaterThan(1.5 * mean(block(steady, 'band_onset')));
    expect(one(clicked, 'onset_peak')).toBeGreaterThan(5 * one(steady, 'onset_peak'));
    expect(one(clicked, 'energy_std')).toBeGreaterThan(5 * one(steady, 'energy_std'));
  });

  test('amplitude modulation puts the most envelope energy in the matching modulation band', async () => {
    for (const [rate, band] of [
      [5, 1],
      [10, 2],
      [20, 3],
    ]) {
      const f = block(await encodeOne(modulatedNoise(rate, 0.9)), 'modulation');
      for (let group = 0; group < 8; group++) {
        expect(argmax(f.slice(group * 4, group * 4 + 4)), `${rate} Hz, group ${group}`).toBe(band);
      }
    }
  });

  test('silence gives the documented floor values', async () => {
    const f = await encodeOne(new Float32Array(16000));
    for (const v of block(f, 'band_mean')) expect(v).toBeCloseTo(Math.log(1e-10), 4);
    // float32 leaves residues near 1e-9 under the 1e-6 modulation floor.
    for (const v of block(f, 'modulation')) expect(v).toBeCloseTo(Math.log(1e-6), 2);
    expect(one(f, 'flatness_mean')).toBeCloseTo(1, 4);
    expect(one(f, 'centroid_mean')).toBe(0);
  });

  // Tolerance 1e-4 + 1e-4 |value|: the MatMul kernels sum in a different order for other batch
  // sizes (measured differences up to about 2e-5).
  test('batch of 16 equals 16 batches of 1', async () => {
    const segments = Array.from({ length: 16 }, (_, i) =>
      segment({ audio: tones([[200 + 300 * i, 0.2]], 0.01 * (1 + (i % 3)), i), index: i }),
    );
    const batched = await encoder.encode(segments);
    expect(batched).toHaveLength(16);
    for (let i = 0; i < 16; i++) {
      const [single] = await encoder.encode([segments[i]]);
      expect(worstError(batched[i], single, 1e-4, 1e-4).ratio).toBeLessThanOrEqual(1);
    }
  });

  test('a filter bank with bands narrower than the bin spacing is refused', () => {
    expect(() => melFilterBank(128, 64, 16000, 0, 8000)).toThrow(
      /mel band 0 .* contains no FFT bin: use fewer bands or a longer FFT/,
    );
    const bank = melFilterBank(64, 512, 16000, 0, 8000);
    for (let m = 0; m < 64; m++) {
      let sum = 0;
      for (let k = 0; k < 257; k++) sum += bank[k * 64 + m];
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  test('an empty batch gives no features', async () => {
    expect(await encoder.encode([])).toEqual([]);
  });
});

describe('dsp-audio input checks (before onnxruntime is called)', () => {
  const encode = async (s: Segment) => {
    const { dspAudioEncoder } = await import('../../../src/models/encoders/index.js');
    let called = false;
    const run = dspAudioEncoder(async () => {
      called = true;
      return {};
    });
    const result = run([segment({ audio: new Float32Array(16000) }), s]).catch((e: unknown) => e);
    const error = await result;
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(EncoderInputError);
    return (error as Error).message;
  };

  test('wrong number of samples', async () => {
    const message = await encode({ ...segment({ audio: new Float32Array(15999), index: 7 }) });
    expect(message).toMatch(/stream "test" segment 7 has 15999 samples at 16000 Hz/);
    expect(message).toMatch(/ingest with sampleRate 16000/);
  });

  test('wrong sample rate', async () => {
    const message = await encode({ ...segment({ audio: new Float32Array(48000) }), sampleRate: 48000 });
    expect(message).toMatch(/48000 samples at 48000 Hz.*exactly one second at 16000 Hz/);
  });

  test('a NaN sample', async () => {
    const audio = new Float32Array(16000);
    audio[1234] = NaN;
    expect(await encode(segment({ audio }))).toMatch(/has a non-finite sample \(NaN\) at index 1234/);
  });

  test('no audio', async () => {
    expect(await encode(segment({ audio: null }))).toMatch(/has no audio/);
  });
});
