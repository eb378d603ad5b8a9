// npm run bench:ingest — throughput of fromMedia against plain ffmpeg doing the same conversion.
// Input: a generated 60 s 1280x720 30 fps H.264 + AAC file. Both sides decode it to 224x224 RGB
// at 8 fps + mono 16 kHz float PCM; ffmpeg alone writes to /dev/null, fromMedia delivers
// Segments to a subscriber. Reported: media seconds per wall second and per CPU second
// (ffmpeg's CPU + this process's CPU for fromMedia), medians over interleaved runs, and the ratio.
import { execFile, spawn } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, count } from 'rxjs';
import { buildDecodeArgs } from '../src/streams/ffmpeg/args.js';
import { locateFfmpeg, type FfmpegBinary } from '../src/streams/ffmpeg/locate.js';
import { fromMedia } from '../src/streams/fromMedia.js';
import { measure, median, type Sample } from './stats.js';

const SECONDS = 60;
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);

async function makeInput(ffmpeg: FfmpegBinary): Promise<string> {
  const file = path.join(os.tmpdir(), `avvp-bench-ingest-720p30-${SECONDS}s.mp4`);
  if (existsSync(file)) return file;
  console.log(`generating ${file} (once) ...`);
  const partial = `${file}.part.mp4`;
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=1280x720:r=30:d=${SECONDS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=f=440:r=48000:d=${SECONDS}`,
    '-c:v',
    'libx264',
    '-preset',
    'superfast',
    '-profile:v',
    'high',
    '-b:v',
    '2700k',
    '-g',
    '60',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-b:a',
    '128k',
    partial,
  ];
  await new Promise<void>((resolve, reject) =>
    execFile(ffmpeg.path, args, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
  );
  renameSync(partial, file);
  return file;
}

/** Plain ffmpeg: the exact argument list fromMedia uses, outputs sent to /dev/null. */
function plainFfmpeg(ffmpeg: FfmpegBinary, file: string): Promise<void> {
  const layout = { video: { width: 224, height: 224, fps: 8 }, audioRates: [16000] };
  const args = buildDecodeArgs({ kind: 'file', target: file }, layout, ffmpeg).map((a) =>
    a.startsWith('pipe:') ? '/dev/null' : a,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg.path, ['-y', ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

async function viaFromMedia(ffmpeg: FfmpegBinary, file: string): Promise<void> {
  const segments = await lastValueFrom(fromMedia(file, { ffmpeg }).pipe(count()));
  if (segments !== SECONDS) throw new Error(`expected ${SECONDS} segments, got ${segments}`);
}

async function main() {
  const ffmpeg = await locateFfmpeg();
  const file = await makeInput(ffmpeg);
  console.log(
    `ffmpeg ${ffmpeg.version} (${ffmpeg.path}); ${runs} interleaved runs of each; input ${SECONDS} s 1280x720 30 fps H.264 + AAC`,
  );
  const plain: Sample[] = [];
  const ours: Sample[] = [];
  await viaFromMedia(ffmpeg, file); // warm-up (page cache, JIT)
  for (let i = 0; i < runs; i++) {
    plain.push(await measure(() => plainFfmpeg(ffmpeg, file)));
    ours.push(await measure(() => viaFromMedia(ffmpeg, file)));
    console.log(
      `run ${i + 1}: ffmpeg ${plain[i].wall.toFixed(2)} s wall ${plain[i].cpu.toFixed(2)} s CPU | ` +
        `fromMedia ${ours[i].wall.toFixed(2)} s wall ${ours[i].cpu.toFixed(2)} s CPU`,
    );
  }
  const rate = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => SECONDS / s[key]));
  const rows = [
    ['ffmpeg -> /dev/null', rate(plain, 'wall'), rate(plain, 'cpu')],
    ['fromMedia -> Segments', rate(ours, 'wall'), rate(ours, 'cpu')],
  ] as const;
  console.log('\n| pipeline | media s / wall s | media s / CPU s |\n|---|---|---|');
  for (const [name, wall, cpu] of rows) console.log(`| ${name} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} |`);
  const wallRatio = rows[1][1] / rows[0][1];
  const cpuRatio = rows[1][2] / rows[0][2];
  // On a shared machine other jobs only ever add time: the fastest run is the least disturbed.
  const best = (samples: Sample[]) => Math.min(...samples.map((s) => s.wall));
  const bestRatio = best(plain) / best(ours);
  console.log(
    `\nratio fromMedia / ffmpeg: ${wallRatio.toFixed(3)} (median wall), ${bestRatio.toFixed(3)} (best wall), ` +
      `${cpuRatio.toFixed(3)} (median CPU); target >= 0.9`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
