// Preprocessing prefix graphs for the public CLIP and CLAP exports, so that the runtime feeds raw
// segment data (uint8 RGB frames, 48 kHz PCM) and the model file does the rest. Each builder
// returns a Graph whose output has exactly the name, dtype and shape of the export's input; see
// compose.ts for joining it in front of the export. Parameters: docs/models.md ("Adapters").
//
// Only ops whose definition is unchanged from opset 13 to 18 are used (Cast, Transpose, Mul,
// Sub, Tile, Pad, Conv, Reshape, ReduceSum, MatMul, Max, Log, Unsqueeze): the composed model keeps
// the export's own opset, whatever it is from 13 on, so the export's nodes keep their meaning.
import { Graph } from '../../engine/onnx/builder.js';
import { slaneyMelBank } from './melbank.js';

/** CLIP image normalisation (CLIP preprocessor config; research note section 10). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * frames uint8 [B, size, size, 3] (RGB24, already resized and centre-cropped to `size`) ->
 * pixel_values float32 [B, 3, size, size] = (x / 255 - mean) / std per channel. With
 * `frames: F` the input is a segment's frames [B, F, size, size, 3] and the output stacks them,
 * [B*F, 3, size, size] (see poolFrames in compose.ts for the way back).
 */
export function clipPixelPrefix(
  opts: { size?: number; frames?: number; input?: string; output?: string } = {},
): Graph {
  const size = opts.size ?? 224;
  const g = new Graph({ name: 'clip_pixel_prefix' });
  const name = opts.input ?? 'frames';
  const images =
    opts.frames === undefined
      ? g.input(name, 'uint8', ['batch', size, size, 3])
      : g.reshape(g.input(name, 'uint8', ['batch', opts.frames, size, size, 3]), [-1, size, size, 3]);
  const nchw = g.transpose(g.cast(images, 'float32'), [0, 3, 1, 2]);
  const scale = g.constant(
    CLIP_STD.map((s) => 1 / (255 * s)),
    [1, 3, 1, 1],
  );
  const shift = g.constant(
    CLIP_MEAN.map((m, c) => m / CLIP_STD[c]),
    [1, 3, 1, 1],
  );
  g.output(g.sub(g.mul(nchw, scale), shift), opts.output ?? 'pixel_values');
  return g;
}

export interface LogMelOptions {
  sampleRate: number;
  /** Samples per input clip (one segment). */
  samples: number;
  /** Length the clip is repeat-padded to, in samples. */
  paddedSamples: number;
  fftSize: number;
  hop: number;
  bands: number;
  fMin: number;
  fMax: number;
  input?: string;
  output?: string;
}

/** CLAP HTSAT-unfused feature extraction for one-second 48 kHz segments. */
export const CLAP_LOG_MEL: LogMelOptions = {
  sampleRate: 48000,
  samples: 48000,
  paddedSamples: 480000,
  fftSize: 1024,
  hop: 480,
  bands: 64,
  fMin: 50,
  fMax: 14000,
};

/** Number of STFT frames with centre (reflect) padding of fftSize/2 on both sides. */
export function logMelFrames(o: Pick<LogMelOptions, 'paddedSamples' | 'hop'>): number {
  return Math.floor(o.paddedSamples / o.hop) + 1;
}

/**
 * audio float32 [B, samples] -> input_features float32 [B, 1, frames, bands]:
 * repeat-pad to `paddedSamples` (whole copies, then zeros, as the Python CLAP extractor's
 * "repeatpad"), reflect-pad fftSize/2 each side, periodic-Hann power spectrum, Slaney mel,
 * 10*log10(max(power, 1e-10)).
 *
 * The windowed DFT is one strided Conv whose 2*(fftSize/2+1) kernels are the window times the
 * cosine and sine rows: opset-13 compatible (STFT needs 17) and exact in float32 to about 1e-6
 * of the frame energy.
 */
export function logMelPrefix(o: LogMelOptions = CLAP_LOG_MEL): Graph {
  const g = new Graph({ name: 'log_mel_prefix' });
  const audio = g.input(o.input ?? 'audio', 'float32', ['batch', o.samples]);
  const copies = Math.floor(o.paddedSamples / o.samples);
  if (copies < 1)
    throw new Error(
      `logMelPrefix: paddedSamples (${o.paddedSamples}) is shorter than samples (${o.samples})`,
    );
  let signal = g.emit('Tile', [audio, g.ints([1, copies])], {}, [
    { dtype: 'float32', shape: ['batch', copies * o.samples] },
  ])[0];
  const rest = o.paddedSamples - copies * o.samples;
  if (rest > 0) signal = g.pad(signal, [0, 0, 0, rest]);
  const half = o.fftSize / 2;
  const padded = g.emit(
    'Pad',
    [g.unsqueeze(signal, [1]), g.ints([0, 0, half, 0, 0, half])],
    { mode: 'reflect' },
    [{ dtype: 'float32', shape: ['batch', 1, o.paddedSamples + o.fftSize] }],
  )[0];
  const bins = half + 1;
  const frames = logMelFrames(o);
  const spectrum = g.emit(
    'Conv',
    [padded, g.constant(dftKernels(o.fftSize), [2 * bins, 1, o.fftSize])],
    { strides: [o.hop] },
    [{ dtype: 'float32', shape: ['batch', 2 * bins, frames] }],
  )[0];
  // [B, 2, bins, frames]: real and imaginary halves; power = re^2 + im^2.
  const parts = g.reshape(spectrum, [0, 2, bins, frames]);
  const power = g.reduceSum(g.mul(parts, parts), [1]);
  const bank = Float32Array.from(
    slaneyMelBank({
      sampleRate: o.sampleRate,
      fftSize: o.fftSize,
      bands: o.bands,
      fMin: o.fMin,
      fMax: o.fMax,
    }),
  );
  const mel = g.matmul(g.transpose(power, [0, 2, 1]), g.constant(bank, [bins, o.bands]));
  const floored = g.emit('Max', [mel, g.scalar(1e-10)], {}, [{ dtype: 'float32', shape: mel.shape }])[0];
  const db = g.mul(g.log(floored), 10 / Math.LN10);
  g.output(g.unsqueeze(db, [1]), o.output ?? 'input_features');
  return g;
}

/** Conv kernels [2*(n/2+1), 1, n]: periodic Hann times cos (real part), then times -sin (imaginary). */
function dftKernels(n: number): Float32Array {
  const bins = n / 2 + 1;
  const out = new Float32Array(2 * bins * n);
  for (let t = 0; t < n; t++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / n);
    for (let k = 0; k < bins; k++) {
      const phase = (2 * Math.PI * ((k * t) % n)) / n;
      out[k * n + t] = w * Math.cos(phase);
      out[(bins + k) * n + t] = -w * Math.sin(phase);
    }
  }
  return out;
}
