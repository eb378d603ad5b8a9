// The bundled DSP audio encoder as an ONNX graph: one second of 16 kHz mono PCM -> log-mel
// (periodic Hann 512, hop 160, 64 bands, no centre padding) -> 296 fixed statistics of the
// spectrum and its dynamics. No weights are learned; every constant is computed here, so the file
// is reproducible from the repository. docs/models/encoders.md lists what each dimension means.
//
// Public API: buildDspAudioEncoder(opts) -> ONNX bytes; AUDIO_ENCODER (sizes, names, layout);
// melFilterBank(...) (the filter bank stored in the graph).

import { Graph, type Tensor } from '../../engine/onnx/builder.js';
import { featureCount, layout } from './layout.js';

export const AUDIO_SAMPLE_RATE = 16000;
export const AUDIO_SAMPLES = 16000;
export const FFT_SIZE = 512;
export const HOP = 160;
export const MEL_BANDS = 64;
/**
 * No centre padding: frame k covers samples [160k, 160k + 512), so 97 frames span the first
 * 992 ms. Padding (reflect or zeros) would add kinks at the segment edges whose spectral splatter
 * shows up as false onsets; the 8 ms left out fall under the window's tails anyway.
 */
export const FRAMES = Math.floor((AUDIO_SAMPLES - FFT_SIZE) / HOP) + 1; // 97
export const FRAME_RATE = AUDIO_SAMPLE_RATE / HOP; // 100 frames per second
/** Mel bands averaged together for the modulation features. */
export const MOD_GROUPS = 8;
/** Modulation bands of the band envelopes, integer Hz, inclusive. */
export const MOD_BANDS: readonly (readonly [number, number])[] = [
  [1, 3],
  [4, 7],
  [8, 15],
  [16, 31],
];
/** Floor added to powers before every log (the encoder's "silence" is log(1e-10) = -23.0). */
export const LOG_FLOOR = 1e-10;
/**
 * Floor of the modulation energies (an envelope modulation of 0.001 nats): float32 rounding of
 * log-mel values near -23 leaves residues around 1e-10 that LOG_FLOOR would turn into noise.
 */
export const MOD_FLOOR = 1e-6;

/** Feature layout: [name, first index, count]; see docs/models/encoders.md. */
export const AUDIO_LAYOUT = layout([
  ['band_mean', MEL_BANDS],
  ['band_std', MEL_BANDS],
  ['band_max', MEL_BANDS],
  ['band_onset', MEL_BANDS],
  ['modulation', MOD_GROUPS * MOD_BANDS.length],
  ['centroid_mean', 1],
  ['centroid_std', 1],
  ['flatness_mean', 1],
  ['flatness_std', 1],
  ['energy_mean', 1],
  ['energy_std', 1],
  ['energy_max', 1],
  ['onset_peak', 1],
]);

export const AUDIO_FEATURES = featureCount(AUDIO_LAYOUT); // 296

export const AUDIO_ENCODER = {
  input: 'audio',
  output: 'audio_features',
  sampleRate: AUDIO_SAMPLE_RATE,
  samples: AUDIO_SAMPLES,
  features: AUDIO_FEATURES,
} as const;

export interface DspAudioOptions {
  /** Graph name stored in the file (default 'dsp-audio'). */
  name?: string;
}

/** Builds the encoder: input `audio` float32 [batch, 16000] -> `audio_features` float32 [batch, 296]. */
export function buildDspAudioEncoder(opts: DspAudioOptions = {}): Uint8Array {
  const name = opts.name ?? 'dsp-audio';
  const g = new Graph({ name });
  const audio = g.input(AUDIO_ENCODER.input, 'float32', ['batch', AUDIO_SAMPLES]);
  const power = g.scope('spectrum', () => powerSpectrum(g, audio));
  const logMel = g.scope('mel', () => g.log(g.add(g.matmul(power, melMatrix(g)), LOG_FLOOR)));
  const features = g.concat(
    [
      ...g.scope('bands', () => bandStatistics(g, logMel)),
      g.scope('modulation', () => modulation(g, logMel)),
      g.scope('global', () => globalStatistics(g, power, logMel)),
    ],
    1,
  );
  g.output(features, AUDIO_ENCODER.output);
  return g.toBytes({ metadata: { 'avvp.model': name, 'avvp.features': 'docs/models/encoders.md' } });
}

/**
 * [batch, 16000] -> power spectrum [batch, 97, 257], scaled by 1 / sum(window^2) so that white
 * noise of variance s^2 has power s^2 in every bin. The DFT is one MatMul of the frames with a
 * windowed cos|sin basis rather than ONNX STFT: onnxruntime's STFT kernel took 3.2 ms per segment
 * in its profiler, the MatMul 1.2 ms (docs/models/encoders.md).
 */
function powerSpectrum(g: Graph, audio: Tensor): Tensor {
  const bins = FFT_SIZE / 2 + 1;
  const spectrum = g.matmul(frames(g, audio), dftBasis(g)); // [B, T, 2 * bins]: re | im
  const squared = g.mul(spectrum, spectrum);
  return g.add(g.slice(squared, [0], [bins], [2]), g.slice(squared, [bins], [2 * bins], [2]));
}

/** [batch, 16000] -> [batch, 97, 512]: hop-sized chunks side by side (512 = 3 hops + 32 samples). */
function frames(g: Graph, audio: Tensor): Tensor {
  const chunks = g.reshape(audio, [-1, AUDIO_SAMPLES / HOP, HOP]); // [B, 100, 160]
  const whole = Math.floor(FFT_SIZE / HOP);
  const parts = Array.from({ length: whole }, (_, j) => g.slice(chunks, [j], [j + FRAMES], [1]));
  const rest = FFT_SIZE - whole * HOP;
  parts.push(g.slice(chunks, [whole, 0], [whole + FRAMES, rest], [1, 2]));
  return g.concat(parts, 2);
}

/**
 * [512, 514]: periodic Hann window times cos (first 257 columns) and -sin (last 257) of
 * 2 pi k n / 512, over sqrt(sum(window^2)). Computed in the graph from two small index vectors
 * (onnxruntime folds it once at load), so the file stays small; k n is reduced mod 512 in
 * integers first so the angles stay exact in float32.
 */
function dftBasis(g: Graph): Tensor {
  const bins = FFT_SIZE / 2 + 1;
  const n = g.constant(
    Array.from({ length: FFT_SIZE }, (_, i) => i),
    [FFT_SIZE, 1],
    'int64',
  );
  const k = g.constant(
    Array.from({ length: bins }, (_, i) => i),
    [1, bins],
    'int64',
  );
  const kn = g.emit('Mod', [g.mul(n, k), g.constant([FFT_SIZE], [], 'int64')], {}, [
    { dtype: 'int64', shape: [FFT_SIZE, bins] },
  ])[0];
  const angle = g.mul(g.cast(kn, 'float32'), (2 * Math.PI) / FFT_SIZE);
  const trig = (op: string) => g.emit(op, [angle], {}, [{ dtype: 'float32', shape: [FFT_SIZE, bins] }])[0];
  const basis = g.concat([trig('Cos'), g.neg(trig('Sin'))], 1);
  const window = g.mul(g.reshape(g.hannWindow(FFT_SIZE), [FFT_SIZE, 1]), 1 / Math.sqrt((3 * FFT_SIZE) / 8));
  return g.mul(basis, window);
}

function melMatrix(g: Graph): Tensor {
  const bins = FFT_SIZE / 2 + 1;
  return g.constant(melFilterBank(MEL_BANDS, FFT_SIZE, AUDIO_SAMPLE_RATE, 0, AUDIO_SAMPLE_RATE / 2), [
    bins,
    MEL_BANDS,
  ]);
}

const hzToMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);

/** Centre frequency (Hz) of each mel band. */
export function melCentres(bands: number, lowHz: number, highHz: number): number[] {
  const lo = hzToMel(lowHz);
  const step = (hzToMel(highHz) - lo) / (bands + 1);
  return Array.from({ length: bands }, (_, m) => melToHz(lo + (m + 1) * step));
}

/**
 * HTK-scale triangular filters, row-major [fft/2+1, bands], each evaluated at the exact bin
 * frequencies and normalised to sum 1, so a band's value is the mean power density under its
 * triangle (flat for white noise). Computed here rather than by ONNX MelWeightMatrix, whose edges
 * are rounded to whole bins and leave the narrow low bands as single-bin copies of each other.
 */
export function melFilterBank(
  bands: number,
  fftSize: number,
  sampleRate: number,
  lowHz: number,
  highHz: number,
): Float32Array {
  const bins = fftSize / 2 + 1;
  const edges = [lowHz, ...melCentres(bands, lowHz, highHz), highHz];
  const out = new Float32Array(bins * bands);
  for (let m = 0; m < bands; m++) {
    const [left, centre, right] = [edges[m], edges[m + 1], edges[m + 2]];
    let sum = 0;
    const column: number[] = [];
    for (let k = 0; k < bins; k++) {
      const f = (k * sampleRate) / fftSize;
      const w = Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre)));
      column.push(w);
      sum += w;
    }
    if (sum === 0) {
      throw new RangeError(
        `mel band ${m} (${left.toFixed(1)}-${right.toFixed(1)} Hz) contains no FFT bin: use fewer bands or a longer FFT`,
      );
    }
    column.forEach((w, k) => (out[k * bands + m] = w / sum));
  }
  return out;
}

/** Per band over the 97 frames: mean, std, max, mean positive frame-to-frame rise. */
function bandStatistics(g: Graph, logMel: Tensor): Tensor[] {
  const mean = g.reduceMean(logMel, [1]);
  const centred = g.sub(logMel, g.unsqueeze(mean, [1]));
  const std = g.sqrt(g.reduceMean(g.mul(centred, centred), [1]));
  const max = g.reduceMax(logMel, [1]);
  const onset = g.reduceMean(rises(g, logMel), [1]);
  return [mean, std, max, onset];
}

/** relu(x[t+1] - x[t]) along axis 1: [batch, 96, bands]. */
function rises(g: Graph, logMel: Tensor): Tensor {
  const next = g.slice(logMel, [1], [FRAMES], [1]);
  const prev = g.slice(logMel, [0], [FRAMES - 1], [1]);
  return g.relu(g.sub(next, prev));
}

/**
 * Envelope modulation: the log-mel averaged over groups of 8 adjacent bands, mean removed,
 * Hann-tapered over the 97 frames and projected on cos/sin at every integer frequency 1..31 Hz
 * (scaled so a sinusoidal envelope of amplitude a at an integer frequency has magnitude a there);
 * the squared magnitudes are summed per modulation band and logged. [batch, groups * bands], group-major.
 */
function modulation(g: Graph, logMel: Tensor): Tensor {
  const groups = g.matmul(logMel, g.constant(groupMeanMatrix(), [MEL_BANDS, MOD_GROUPS])); // [B, T, G]
  const envelopes = g.transpose(groups, [0, 2, 1]); // [B, G, T]
  const centred = g.sub(envelopes, g.reduceMean(envelopes, [2], true));
  const freqs = MOD_BANDS[MOD_BANDS.length - 1][1];
  const projections = g.matmul(centred, g.constant(modulationBasis(freqs), [FRAMES, 2 * freqs])); // [B, G, 2F]
  const bandPower = g.matmul(
    g.mul(projections, projections),
    g.constant(modulationBandMatrix(freqs), [2 * freqs, MOD_BANDS.length]),
  ); // [B, G, bands]
  return g.reshape(g.log(g.add(bandPower, MOD_FLOOR)), [-1, MOD_GROUPS * MOD_BANDS.length]);
}

function groupMeanMatrix(): Float32Array {
  const per = MEL_BANDS / MOD_GROUPS;
  const m = new Float32Array(MEL_BANDS * MOD_GROUPS);
  for (let b = 0; b < MEL_BANDS; b++) m[b * MOD_GROUPS + Math.floor(b / per)] = 1 / per;
  return m;
}

/** [frames, 2F]: columns cos(f) and sin(f) for f = 1..F Hz, times a periodic Hann taper, times 2 / sum(taper). */
function modulationBasis(freqs: number): Float32Array {
  const taper = Array.from({ length: FRAMES }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FRAMES));
  const scale = 2 / taper.reduce((a, b) => a + b, 0);
  const m = new Float32Array(FRAMES * 2 * freqs);
  for (let n = 0; n < FRAMES; n++) {
    for (let f = 1; f <= freqs; f++) {
      const phase = (2 * Math.PI * f * n) / FRAME_RATE;
      m[n * 2 * freqs + 2 * (f - 1)] = scale * taper[n] * Math.cos(phase);
      m[n * 2 * freqs + 2 * (f - 1) + 1] = scale * taper[n] * Math.sin(phase);
    }
  }
  return m;
}

/** [2F, bands]: sums the cos^2 and sin^2 of the frequencies inside each modulation band. */
function modulationBandMatrix(freqs: number): Float32Array {
  const m = new Float32Array(2 * freqs * MOD_BANDS.length);
  MOD_BANDS.forEach(([lo, hi], band) => {
    for (let f = lo; f <= hi; f++) {
      m[2 * (f - 1) * MOD_BANDS.length + band] = 1;
      m[(2 * (f - 1) + 1) * MOD_BANDS.length + band] = 1;
    }
  });
  return m;
}

/**
 * Whole-spectrum summaries over frames: spectral centroid (kHz) mean and std, spectral flatness
 * (geometric / arithmetic mean of the 257 bin powers) mean and std, frame log-energy (log of the
 * mean bin power) mean, std and max, and the peak over frames of the band-averaged onset.
 */
function globalStatistics(g: Graph, power: Tensor, logMel: Tensor): Tensor {
  const bins = FFT_SIZE / 2 + 1;
  const meanPower = g.reduceMean(power, [2]); // [B, T]
  const binKhz = g.constant(
    Array.from({ length: bins }, (_, k) => (k * AUDIO_SAMPLE_RATE) / FFT_SIZE / 1000),
    [bins, 1],
  );
  const centroid = g.div(g.squeeze(g.matmul(power, binKhz), [2]), g.add(g.mul(meanPower, bins), LOG_FLOOR));
  const geometric = g.exp(g.reduceMean(g.log(g.add(power, LOG_FLOOR)), [2]));
  const flatness = g.div(geometric, g.add(meanPower, LOG_FLOOR));
  const energy = g.log(g.add(meanPower, LOG_FLOOR));
  const onset = g.reduceMax(g.reduceMean(rises(g, logMel), [2]), [1], true);
  return g.concat(
    [
      ...meanStd(g, centroid),
      ...meanStd(g, flatness),
      ...meanStd(g, energy),
      g.reduceMax(energy, [1], true),
      onset,
    ],
    1,
  );
}

/** Mean and (population) std over axis 1 of [B, T], each [B, 1]. */
function meanStd(g: Graph, x: Tensor): [Tensor, Tensor] {
  const mean = g.reduceMean(x, [1], true);
  const centred = g.sub(x, mean);
  return [mean, g.sqrt(g.reduceMean(g.mul(centred, centred), [1], true))];
}
