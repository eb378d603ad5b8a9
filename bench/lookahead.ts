// The accuracy side of predictSegments' lookahead trade-off (the latency side is exact: L seconds).
// SynthAV test clips (never seen in training) are encoded with the bundled DSP encoders and streamed
// one clip after another through slidingWindow(10) + predictSegments(lookahead L) with the trained LINK parser,
// each clip starting a new run (as after a reconnect). Segment k of a clip is then scored from
// segments max(0, k+L-9) .. min(9, k+L); L = 9 is the offline setting (every segment sees its whole
// clip), the baseline. Reported: LLP segment-level and event-level F1 (audio, visual, audio-visual)
// of the per-segment probabilities at 0.5, without the clip-level gate of the official metric (a
// stream has no clip), plus the official gated offline numbers for reference.
// Usage: npm run bench:lookahead [-- --clips N] [-- --model models/link-synthav.onnx]
import { existsSync } from 'node:fs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { evaluateLlp, type LlpMetrics, type LlpPrediction } from '../src/eval/llp.js';
import { readManifest } from '../src/models/manifest.js';
import { PARSER_IO } from '../src/models/parsers/index.js';
import { openSession, ortTensor } from '../src/engine/session.js';
import { sessionRunner } from '../src/models/encoders/index.js';
import { onnxWindowHead } from '../src/operators/onnxHead.js';
import { predictSegments } from '../src/operators/predictSegments.js';
import { slidingWindow } from '../src/operators/window.js';
import { openEncoders, synthSplit, type ParserData } from '../src/train/parser.js';
import type { Features } from '../src/types.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CLIPS = Number(arg('--clips', '200'));
const MODEL = arg('--model', 'models/link-synthav.onnx');
const T = 10;

if (!existsSync(MODEL)) {
  console.error(`bench:lookahead: no trained parser at ${MODEL}; build it with 'npm run models:train' first`);
  process.exit(1);
}
const manifest = await readManifest(MODEL.replace(/\.onnx$/, '.json'));
const classes = manifest.classes ?? [];
const C = classes.length;
const { session } = await openSession(MODEL, { providers: ['cpu'] });

console.log(`Encoding ${CLIPS} SynthAV test clips (preset default, seed 7) with the bundled DSP encoders...`);
const data: ParserData = await synthSplit({
  seed: 7,
  split: 'test',
  clips: CLIPS,
  preset: 'default',
  encode: await openEncoders('models'),
});

/** Clip i as segments 10i .. 10i+9 of one stream, each clip starting a new run. */
function features(): Features[] {
  const out: Features[] = [];
  for (let i = 0; i < CLIPS; i++) {
    for (let k = 0; k < T; k++) {
      const row = i * T + k;
      out.push({
        stream: 'synthav',
        index: row,
        t0: row,
        t1: row + 1,
        wallclock: row * 1000,
        audio: data.audio.slice(row * data.audioDim, (row + 1) * data.audioDim),
        visual: data.visual.slice(row * data.visualDim, (row + 1) * data.visualDim),
        ...(k === 0 && i > 0 ? { discontinuity: true } : {}),
      });
    }
  }
  return out;
}

const head = onnxWindowHead(sessionRunner(session), {
  audioInput: PARSER_IO.audio,
  visualInput: PARSER_IO.visual,
  audioDim: data.audioDim,
  visualDim: data.visualDim,
  audioOutput: PARSER_IO.audioProb,
  visualOutput: PARSER_IO.visualProb,
});

async function streamed(lookahead: number): Promise<LlpMetrics> {
  const predictions = await lastValueFrom(
    from(features()).pipe(
      slidingWindow<Features>(T),
      predictSegments({ head, classes, lookahead, batch: { maxBatch: 64, maxWaitMs: 0 } }),
      toArray(),
    ),
  );
  const ungated = new Float32Array(C).fill(1);
  const videos: LlpPrediction[] = Array.from({ length: CLIPS }, () => ({
    video: ungated,
    audio: new Float32Array(T * C),
    visual: new Float32Array(T * C),
  }));
  for (const p of predictions) {
    const clip = videos[Math.floor(p.index / T)];
    (clip.audio as Float32Array).set(p.audio, (p.index % T) * C);
    (clip.visual as Float32Array).set(p.visual, (p.index % T) * C);
  }
  return evaluateLlp(videos.map((prediction, i) => ({ prediction, truth: data.truth![i] })));
}

/** The official metric: whole clips in one window, segment probabilities gated by the clip output. */
async function offlineGated(): Promise<LlpMetrics> {
  const out = await session.run({
    [PARSER_IO.audio]: ortTensor('float32', data.audio, [CLIPS, T, data.audioDim]),
    [PARSER_IO.visual]: ortTensor('float32', data.visual, [CLIPS, T, data.visualDim]),
  });
  const get = (name: string) => out[name].data as Float32Array;
  const videos = Array.from({ length: CLIPS }, (_, i) => ({
    video: get(PARSER_IO.video).slice(i * C, (i + 1) * C),
    audio: get(PARSER_IO.audioProb).slice(i * T * C, (i + 1) * T * C),
    visual: get(PARSER_IO.visualProb).slice(i * T * C, (i + 1) * T * C),
  }));
  return evaluateLlp(videos.map((prediction, i) => ({ prediction, truth: data.truth![i] })));
}

const pct = (x: number) => x.toFixed(1); // the LLP metrics are percentages already
console.log(
  `\nLINK parser ${MODEL}, ${CLIPS} test clips; F1 in %, per-segment probabilities at 0.5, no clip gate\n`,
);
console.log(
  '| lookahead L (latency s) | seg audio | seg visual | seg a-v | event audio | event visual | event a-v |',
);
console.log('|---|---|---|---|---|---|---|');
let offline: LlpMetrics | undefined;
const rows: Array<[number, LlpMetrics]> = [];
for (const lookahead of [0, 1, 2, 3, 5, 9]) {
  const m = await streamed(lookahead);
  rows.push([lookahead, m]);
  if (lookahead === 9) offline = m;
}
for (const [lookahead, m] of rows) {
  const label = lookahead === 9 ? '9 (= offline, whole clip)' : String(lookahead);
  const s = m.segment;
  const e = m.event;
  console.log(
    `| ${label} | ${pct(s.audio)} | ${pct(s.visual)} | ${pct(s.av)} | ${pct(e.audio)} | ${pct(e.visual)} | ${pct(e.av)} |`,
  );
}
const mean = (m: LlpMetrics) => (m.segment.audio + m.segment.visual + m.segment.av) / 3;
console.log('\nMean segment-level F1 relative to offline (L = 9):');
for (const [lookahead, m] of rows)
  console.log(`  L = ${lookahead}: ${(mean(m) / mean(offline!)).toFixed(3)}`);
const gated = await offlineGated();
console.log(
  `\nOfficial LLP metric, offline (clip-gated): segment a/v/av ${pct(gated.segment.audio)} / ` +
    `${pct(gated.segment.visual)} / ${pct(gated.segment.av)}, event a/v/av ${pct(gated.event.audio)} / ` +
    `${pct(gated.event.visual)} / ${pct(gated.event.av)}`,
);
await session.release();
