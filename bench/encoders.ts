// npm run bench:encoders — cost of the bundled DSP encoders against the cost of decoding the same
// media, and how well their features separate the SynthAV classes.
//  1. Speed: segments per CPU second (one core: onnxruntime intraOpNumThreads 1) of dsp-audio and
//     dsp-visual at batch 1 and batch 16, on SynthAV segments; baseline: ffmpeg decoding a generated
//     1280x720 30 fps H.264 + AAC file to 224x224 RGB24 at 8 fps + mono 16 kHz f32 (the ingest
//     layer's exact command line), in CPU seconds per media second. Medians over interleaved runs.
//     Reported: encoder CPU per segment as a fraction of decode CPU per media second (target < 10%).
//  2. Separability on the SynthAV seconds where exactly one class is audible (audio) or visible
//     (visual): accuracy on 'test' clips of two classifiers fitted on 'train' clips, both on
//     z-scored features: nearest class mean, and softmax regression (full-batch gradient descent,
//     a stand-in for the learned heads). Chance is 10%.
// Usage: npm run bench:encoders [-- --runs N] [--clips N]
import {
  buildDspAudioEncoder,
  buildDspVisualEncoder,
  dspAudioEncoder,
  dspVisualEncoder,
  sessionRunner,
  VISUAL_LAYOUT,
} from '../src/models/encoders/index.js';
import { openSession } from '../src/engine/session.js';
import { locateFfmpeg, type FfmpegBinary } from '../src/streams/ffmpeg/locate.js';
import { synthClip } from '../src/synth/clip.js';
import type { Segment } from '../src/types.js';
import { makeH264Input, plainFfmpegDecode } from './ffmpeg.js';
import { measure, median } from './stats.js';

const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
};
const RUNS = flag('--runs', 5);
const CLIPS = flag('--clips', 300);
const MEDIA_SECONDS = 20;
const SEGMENTS_PER_RUN = 64;
/** CPU seconds per media second of ffmpeg decoding the file as the ingest layer does. */
async function decodeCost(ffmpeg: FfmpegBinary, file: string): Promise<number> {
  return (await measure(() => plainFfmpegDecode(ffmpeg, file))).cpu / MEDIA_SECONDS;
}

type Encode = (segments: readonly Segment[]) => Promise<unknown[]>;

/** CPU milliseconds per segment of `encode` over SEGMENTS_PER_RUN segments in batches of `batch`. */
async function encodeCost(encode: Encode, segments: Segment[], batch: number): Promise<number> {
  const before = process.cpuUsage(); // microseconds; /proc ticks are too coarse here
  for (let i = 0; i < SEGMENTS_PER_RUN; i += batch)
    await encode(segments.slice(i % segments.length, (i % segments.length) + batch));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / SEGMENTS_PER_RUN;
}

async function speed(): Promise<void> {
  const ffmpeg = await locateFfmpeg();
  const file = await makeH264Input(ffmpeg, { width: 1280, height: 720, fps: 30, seconds: MEDIA_SECONDS });
  const open = async (bytes: Uint8Array) =>
    sessionRunner((await openSession(bytes, { providers: ['cpu'], intraOpThreads: 1 })).session);
  const encoders: [string, Encode][] = [
    ['dsp-audio', dspAudioEncoder(await open(buildDspAudioEncoder()))],
    ['dsp-visual', dspVisualEncoder(await open(buildDspVisualEncoder()))],
  ];
  const segments = synthClip({ seed: 1, duration: 16 }, 0).segments();
  const costs = new Map<string, number[]>();
  const decode: number[] = [];
  for (const [, encode] of encoders) await encode(segments.slice(0, 16)); // warm-up
  for (let run = 0; run < RUNS; run++) {
    decode.push(await decodeCost(ffmpeg, file));
    for (const [name, encode] of encoders) {
      for (const batch of [1, 16]) {
        const key = `${name} batch ${batch}`;
        costs.set(key, [...(costs.get(key) ?? []), await encodeCost(encode, segments, batch)]);
      }
    }
    console.log(`run ${run + 1}/${RUNS}: decode ${(decode[run] * 1000).toFixed(1)} CPU ms per media s`);
  }
  const decodeMs = median(decode) * 1000;
  console.log(
    `\nffmpeg ${ffmpeg.version}; ${RUNS} runs; medians; CPU time (encoders on one onnxruntime thread)\n`,
  );
  console.log('| work per media second | CPU ms | segments / CPU s | share of decode |\n|---|---|---|---|');
  console.log(
    `| ffmpeg decode 720p30 H.264+AAC -> 224x224 rgb24 8 fps + 16 kHz f32 | ${decodeMs.toFixed(1)} | | 100% |`,
  );
  for (const [key, values] of costs) {
    const ms = median(values);
    console.log(
      `| ${key} | ${ms.toFixed(2)} | ${(1000 / ms).toFixed(0)} | ${((100 * ms) / decodeMs).toFixed(1)}% |`,
    );
  }
  for (const batch of [1, 16]) {
    const both =
      median(costs.get(`dsp-audio batch ${batch}`)!) + median(costs.get(`dsp-visual batch ${batch}`)!);
    console.log(
      `\nboth encoders at batch ${batch}: ${both.toFixed(2)} CPU ms per segment = ${((100 * both) / decodeMs).toFixed(1)}% of decode (target < 10%)`,
    );
  }
}

interface Sample {
  label: string;
  x: Float32Array;
}

/** Seconds with exactly one audible (visible) class, encoded, from clips 0..n-1 of a split. */
async function samples(
  split: string,
  n: number,
  audio: Encode,
  visual: Encode,
): Promise<Record<'audio' | 'visual' | 'visualMap', Sample[]>> {
  const out: Record<'audio' | 'visual' | 'visualMap', Sample[]> = { audio: [], visual: [], visualMap: [] };
  for (let i = 0; i < n; i++) {
    const clip = synthClip({ seed: 7, split }, i);
    const { classes, segments } = clip.truth;
    const only = (m: Uint8Array, k: number) => {
      const on = classes.filter((_, c) => m[k * classes.length + c] === 1);
      return on.length === 1 ? on[0] : null;
    };
    const a: [string, Segment][] = [];
    const v: [string, Segment][] = [];
    for (let k = 0; k < segments; k++) {
      const al = only(clip.truth.audio, k);
      const vl = only(clip.truth.visual, k);
      if (al === null && vl === null) continue;
      const s = clip.segment(k);
      if (al !== null) a.push([al, s]);
      if (vl !== null) v.push([vl, s]);
    }
    const af = (await audio(a.map(([, s]) => s))) as Float32Array[];
    const vf = (await visual(v.map(([, s]) => s))) as { visual: Float32Array; visualMap: Float32Array }[];
    a.forEach(([label], j) => out.audio.push({ label, x: af[j] }));
    v.forEach(([label], j) => {
      out.visual.push({ label, x: vf[j].visual });
      out.visualMap.push({ label, x: Float32Array.from([...vf[j].visual, ...vf[j].visualMap]) });
    });
  }
  return out;
}

/** z-scoring with the training set's per-dimension mean and std. */
function standardiser(train: Sample[]): (x: Float32Array) => Float64Array {
  const d = train[0].x.length;
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const s of train) s.x.forEach((v, i) => (mu[i] += v / train.length));
  for (const s of train) s.x.forEach((v, i) => (sd[i] += (v - mu[i]) ** 2 / train.length));
  return (x) => Float64Array.from(x, (v, i) => (v - mu[i]) / (Math.sqrt(sd[i]) + 1e-6));
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((acc, v, i) => acc + v * b[i], 0);

/** Accuracy on `test` of a classifier `fit` on `train` (it returns scores per class, highest wins). */
function accuracy(
  train: Sample[],
  test: Sample[],
  fit: (x: Float64Array[], y: number[], classes: number) => (x: Float64Array) => number[],
): number {
  const z = standardiser(train);
  const labels = [...new Set(train.map((s) => s.label))].sort();
  const score = fit(
    train.map((s) => z(s.x)),
    train.map((s) => labels.indexOf(s.label)),
    labels.length,
  );
  const correct = test.filter((s) => {
    const scores = score(z(s.x));
    return labels[scores.indexOf(Math.max(...scores))] === s.label;
  }).length;
  return correct / test.length;
}

/** Nearest class mean (scores are negative squared distances). */
function nearestCentroid(x: Float64Array[], y: number[], classes: number): (x: Float64Array) => number[] {
  const means = Array.from({ length: classes }, (_, c) => {
    const members = x.filter((_, n) => y[n] === c);
    return Float64Array.from(x[0], (_, i) => members.reduce((acc, m) => acc + m[i], 0) / members.length);
  });
  return (v) => means.map((m) => -m.reduce((acc, mi, i) => acc + (v[i] - mi) ** 2, 0));
}

/** Multinomial logistic regression, 300 steps of full-batch gradient descent (rate 0.5, L2 1e-3). */
function softmaxRegression(x: Float64Array[], y: number[], classes: number): (x: Float64Array) => number[] {
  const d = x[0].length;
  const w = Array.from({ length: classes }, () => new Float64Array(d));
  const bias = new Float64Array(classes);
  const logits = (v: Float64Array) => w.map((wc, c) => dot(wc, v) + bias[c]);
  for (let step = 0; step < 300; step++) {
    const gw = Array.from({ length: classes }, () => new Float64Array(d));
    const gb = new Float64Array(classes);
    x.forEach((v, n) => {
      const l = logits(v);
      const top = Math.max(...l);
      const e = l.map((li) => Math.exp(li - top));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < classes; c++) {
        const g = (e[c] / sum - (c === y[n] ? 1 : 0)) / x.length;
        for (let i = 0; i < d; i++) gw[c][i] += g * v[i];
        gb[c] += g;
      }
    });
    for (let c = 0; c < classes; c++) {
      for (let i = 0; i < d; i++) w[c][i] -= 0.5 * (gw[c][i] + 1e-3 * w[c][i]);
      bias[c] -= 0.5 * gb[c];
    }
  }
  return logits;
}

async function separability(): Promise<void> {
  const open = async (bytes: Uint8Array) =>
    sessionRunner((await openSession(bytes, { providers: ['cpu'] })).session);
  const audio = dspAudioEncoder(await open(buildDspAudioEncoder()));
  const visual = dspVisualEncoder(await open(buildDspVisualEncoder()));
  const testClips = Math.max(1, Math.round(CLIPS / 3));
  const train = await samples('train', CLIPS, audio, visual);
  const test = await samples('test', testClips, audio, visual);
  console.log(
    `\nSynthAV (seed 7, default preset): ${CLIPS} train clips, ${testClips} test clips; single-class seconds only\n`,
  );
  console.log(
    '| features | dims | train / test seconds | nearest class mean | softmax regression |\n|---|---|---|---|---|',
  );
  const salient = VISUAL_LAYOUT.find(([name]) => name === 'salient_colour')!;
  const only = (samples: Sample[]) =>
    samples.map((s) => ({ label: s.label, x: s.x.slice(salient[1], salient[1] + salient[2]) }));
  const rows: [string, Sample[], Sample[]][] = [
    ['audio_features', train.audio, test.audio],
    ['visual_features', train.visual, test.visual],
    [
      'visual_features without salient_colour',
      withoutBlock(train.visual, salient),
      withoutBlock(test.visual, salient),
    ],
    ['salient_colour only', only(train.visual), only(test.visual)],
    ['visual_features + visual_map', train.visualMap, test.visualMap],
  ];
  for (const [name, tr, te] of rows) {
    const nc = accuracy(tr, te, nearestCentroid);
    const sr = accuracy(tr, te, softmaxRegression);
    console.log(
      `| ${name} | ${tr[0].x.length} | ${tr.length} / ${te.length} | ${(100 * nc).toFixed(1)}% | ${(100 * sr).toFixed(1)}% |`,
    );
  }
}

function withoutBlock(samples: Sample[], [, first, count]: readonly [string, number, number]): Sample[] {
  return samples.map((s) => ({
    label: s.label,
    x: Float32Array.from([...s.x.slice(0, first), ...s.x.slice(first + count)]),
  }));
}

async function main() {
  await speed();
  await separability();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
