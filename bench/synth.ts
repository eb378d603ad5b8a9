// SynthAV generation speed on one core (this thread), against two baselines measured in the same
// run for the same amount of media (80 RGB24 frames of 224x224 + 10 s of 16 kHz PCM per clip):
//   - fill: allocating and filling those buffers with constant bytes (the memory-traffic floor);
//   - lavfi: ffmpeg (one thread) generating testsrc2 + sine of that size as raw media to /dev/null.
// It also measures truth-only generation (scene + labels + boxes, what `avvp synth` writes
// without --mp4). Medians over RUNS repetitions. Usage: npm run bench:synth [-- --clips N --runs R]
import { execFileSync } from 'node:child_process';
import { resolveOptions, SynthClip } from '../src/synth/clip.js';
import { locateFfmpeg } from '../src/streams/ffmpeg/locate.js';
import { median } from './stats.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIPS = arg('clips', 20);
const RUNS = arg('runs', 5);
const TRAINING_SET = 3000;

/** Clips per second of `work(i)` over CLIPS clips, median of RUNS. */
function rate(work: (i: number) => void): number {
  return median(
    Array.from({ length: RUNS }, (_, run) => {
      const t = performance.now();
      for (let i = 0; i < CLIPS; i++) work(run * CLIPS + i);
      return CLIPS / ((performance.now() - t) / 1000);
    }),
  );
}

const options = resolveOptions({ seed: 1 });
let sink = 0; // keeps results alive so nothing is optimised away

const render = rate((i) => {
  const clip = new SynthClip(options, i);
  sink += clip.audio()[100];
  for (let f = 0; f < 80; f++) sink += clip.frame(f)[1000];
});
const truthOnly = rate((i) => {
  sink += new SynthClip(options, i).truth.boxes.length;
});
const fill = rate((i) => {
  sink += new Float32Array(160_000).fill(i)[100];
  for (let f = 0; f < 80; f++) sink += new Uint8Array(224 * 224 * 3).fill(f)[1000];
});
const ffmpeg = await locateFfmpeg();
const lavfi = median(
  Array.from({ length: RUNS }, () => {
    const seconds = CLIPS * 10;
    const t = performance.now();
    execFileSync(ffmpeg.path, [
      '-hide_banner', '-loglevel', 'error', '-y', '-threads', '1', '-filter_threads', '1',
      '-f', 'lavfi', '-i', `testsrc2=s=224x224:r=8:d=${seconds}`,
      '-f', 'lavfi', '-i', `sine=f=440:r=16000:d=${seconds}`,
      '-map', '0:v', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '/dev/null',
      '-map', '1:a', '-f', 'f32le', '-ac', '1', '/dev/null',
    ]); // prettier-ignore
    return CLIPS / ((performance.now() - t) / 1000);
  }),
);

const fmt = (x: number) => x.toFixed(1);
console.log(
  `SynthAV generation, preset default, ${CLIPS} clips x ${RUNS} runs (medians); Node ${process.version}`,
);
console.log('| what | clips/s | vs SynthAV render | 3,000 clips |');
console.log('|---|---|---|---|');
for (const [what, r] of [
  ['SynthAV render (PCM 16 kHz + 80 frames, in memory)', render],
  ['SynthAV truth only (labels, boxes, pseudo-label input)', truthOnly],
  ['baseline: allocate + fill the same buffers', fill],
  [`baseline: ffmpeg ${ffmpeg.version} lavfi testsrc2 + sine, 1 thread, to /dev/null`, lavfi],
] as const) {
  console.log(`| ${what} | ${fmt(r)} | ${(r / render).toFixed(2)}x | ${fmt(TRAINING_SET / r)} s |`);
}
console.log(
  `\nSynthAV render / ffmpeg lavfi = ${(render / lavfi).toFixed(2)}; render / fill = ${(render / fill).toFixed(3)}`,
);
if (sink === 42) console.log('');
