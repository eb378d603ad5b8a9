// npm run bench:logmel — cost of the CLAP log-mel prefix (src/models/adapters/prefix.ts), which
// computes the windowed DFT as one strided Conv so that it composes with exports of any opset
// from 13 on, against the same features computed with ONNX STFT (opset 17+, FFT-based), the
// baseline. Same input (1 s at 48 kHz repeat-padded to 10 s), same Slaney bank, same dB step.
// One core (intraOpNumThreads 1), batch 1 and 8, median of interleaved runs; prints ms per
// one-second segment and the ratio Conv / STFT. Usage: npm run bench:logmel [-- --runs N]
import * as ort from 'onnxruntime-node';
import { slaneyMelBank } from '../src/models/adapters/melbank.js';
import { CLAP_LOG_MEL, logMelPrefix, logMelFrames } from '../src/models/adapters/prefix.js';
import { Graph } from '../src/engine/onnx/builder.js';
import { Rng } from '../src/util/rng.js';

const at = process.argv.indexOf('--runs');
const RUNS = at > 0 ? Number(process.argv[at + 1]) : 7;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs needs a positive integer');

/** The baseline: the same pipeline with ONNX STFT instead of the Conv DFT. */
function stftLogMel(): Uint8Array {
  const o = CLAP_LOG_MEL;
  const g = new Graph({ name: 'stft_log_mel' });
  const audio = g.input('audio', 'float32', ['batch', o.samples]);
  const copies = o.paddedSamples / o.samples;
  const tiled = g.emit('Tile', [audio, g.ints([1, copies])], {}, [
    { dtype: 'float32', shape: ['batch', o.paddedSamples] },
  ])[0];
  const half = o.fftSize / 2;
  const padded = g.emit('Pad', [tiled, g.ints([0, half, 0, half])], { mode: 'reflect' }, [
    { dtype: 'float32', shape: ['batch', o.paddedSamples + o.fftSize] },
  ])[0];
  const spectrum = g.stft(g.unsqueeze(padded, [2]), o.hop, g.hannWindow(o.fftSize), o.fftSize);
  const power = g.reduceSum(g.mul(spectrum, spectrum), [3]);
  const bank = slaneyMelBank({
    sampleRate: o.sampleRate,
    fftSize: o.fftSize,
    bands: o.bands,
    fMin: o.fMin,
    fMax: o.fMax,
  });
  const mel = g.matmul(power, g.constant(Float32Array.from(bank), [half + 1, o.bands]));
  const floored = g.emit('Max', [mel, g.scalar(1e-10)], {}, [{ dtype: 'float32', shape: mel.shape }])[0];
  g.output(g.unsqueeze(g.mul(g.log(floored), 10 / Math.LN10), [1]), 'input_features');
  return g.toBytes();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
  const conv = await ort.InferenceSession.create(logMelPrefix().toBytes(), options);
  const stft = await ort.InferenceSession.create(stftLogMel(), options);
  const rng = new Rng(1);
  const audio = Float32Array.from({ length: 8 * CLAP_LOG_MEL.samples }, () => rng.normal(0, 0.1));
  console.log(
    `log-mel prefix, ${logMelFrames(CLAP_LOG_MEL)} frames x ${CLAP_LOG_MEL.bands} bands per segment, one core, ${RUNS} runs`,
  );
  console.log('batch  conv ms/segment  stft ms/segment  conv/stft  max |conv - stft| dB');
  for (const batch of [1, 8]) {
    const feeds = {
      audio: new ort.Tensor('float32', audio.subarray(0, batch * CLAP_LOG_MEL.samples), [
        batch,
        CLAP_LOG_MEL.samples,
      ]),
    };
    const a = (await conv.run(feeds)).input_features.data as Float32Array;
    const b = (await stft.run(feeds)).input_features.data as Float32Array;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    const times: Record<'conv' | 'stft', number[]> = { conv: [], stft: [] };
    for (let r = 0; r < RUNS; r++) {
      for (const [name, session] of [
        ['conv', conv],
        ['stft', stft],
      ] as const) {
        const t0 = performance.now();
        await session.run(feeds);
        times[name].push((performance.now() - t0) / batch);
      }
    }
    const c = median(times.conv);
    const s = median(times.stft);
    console.log(
      `${String(batch).padStart(5)}  ${c.toFixed(1).padStart(15)}  ${s.toFixed(1).padStart(15)}  ${(c / s).toFixed(2).padStart(9)}  ${diff.toExponential(1).padStart(20)}`,
    );
  }
  await conv.release();
  await stft.release();
}

await main();
