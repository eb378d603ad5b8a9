// npm run bench:extract — avvp extract's throughput against the decoding it cannot avoid.
// Input: VIDEOS generated 10 s 640x360 30 fps H.264 + AAC files. Baseline: plain ffmpeg with the
// exact argument list fromMedia uses, outputs to /dev/null, JOBS files at a time. Measured:
// extractFeatures on the same files (JOBS videos at once, JOBS pool workers, bundled encoders,
// .npy files written), then a resumed run over the finished folder. Media seconds per wall
// second and per CPU second (this process, its worker threads and reaped ffmpeg children),
// medians of interleaved runs. Usage: npm run bench:extract [-- --runs=N]
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locateFfmpeg, type FfmpegBinary } from '../src/streams/ffmpeg/locate.js';
import { extractFeatures, fileVideos, openExtractEncoders } from '../src/runtime/extract.js';
import { makeH264Input, plainFfmpegDecode } from './ffmpeg.js';
import { measure, median, type Sample } from './stats.js';

const VIDEOS = 6;
const SECONDS = 10;
const JOBS = 2;
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 3);
const dir = path.join(os.tmpdir(), 'avvp-bench-extract');

async function makeInputs(ffmpeg: FfmpegBinary): Promise<string[]> {
  mkdirSync(path.join(dir, 'videos'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < VIDEOS; i++) {
    const file = path.join(dir, 'videos', `benchvideo${i}_0_${SECONDS}.mp4`);
    files.push(
      await makeH264Input(ffmpeg, {
        width: 640,
        height: 360,
        fps: 30,
        seconds: SECONDS,
        toneHz: 220 * (i + 1),
        file,
      }),
    );
  }
  return files;
}

/** All files, JOBS at a time. */
async function decodeAll(ffmpeg: FfmpegBinary, files: string[]): Promise<void> {
  const queue = [...files];
  await Promise.all(
    Array.from({ length: JOBS }, async () => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) await plainFfmpegDecode(ffmpeg, f);
    }),
  );
}

async function main() {
  const ffmpeg = await locateFfmpeg();
  const files = await makeInputs(ffmpeg);
  const videos = await fileVideos(files);
  const encoders = await openExtractEncoders('models', { workers: JOBS });
  const out = path.join(dir, 'features');
  const extract = () => extractFeatures({ videos, out, encoders, jobs: JOBS });
  console.log(
    `ffmpeg ${ffmpeg.version}; ${VIDEOS} videos of ${SECONDS} s 640x360 30 fps H.264 + AAC, ${JOBS} at a time; ` +
      `${runs} interleaved runs; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`,
  );
  try {
    rmSync(out, { recursive: true, force: true });
    await extract(); // warm-up (page cache, JIT, worker sessions)
    const plain: Sample[] = [];
    const ours: Sample[] = [];
    const resumed: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      plain.push(await measure(() => decodeAll(ffmpeg, files)));
      rmSync(out, { recursive: true, force: true });
      ours.push(await measure(extract));
      resumed.push(await measure(extract));
      console.log(
        `run ${i + 1}: ffmpeg ${plain[i].wall.toFixed(2)} s wall ${plain[i].cpu.toFixed(2)} s CPU | ` +
          `extract ${ours[i].wall.toFixed(2)} s wall ${ours[i].cpu.toFixed(2)} s CPU | ` +
          `resume ${resumed[i].wall.toFixed(3)} s wall`,
      );
    }
    const media = VIDEOS * SECONDS;
    const rate = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => media / s[key]));
    console.log('\n| pipeline | media s / wall s | media s / CPU s |\n|---|---|---|');
    console.log(
      `| ffmpeg -> /dev/null | ${rate(plain, 'wall').toFixed(1)} | ${rate(plain, 'cpu').toFixed(1)} |`,
    );
    console.log(
      `| avvp extract -> .npy | ${rate(ours, 'wall').toFixed(1)} | ${rate(ours, 'cpu').toFixed(1)} |`,
    );
    const wallRatio = rate(ours, 'wall') / rate(plain, 'wall');
    const cpuRatio = rate(ours, 'cpu') / rate(plain, 'cpu');
    console.log(
      `\nratio extract / ffmpeg: ${wallRatio.toFixed(3)} (median wall), ${cpuRatio.toFixed(3)} (median CPU); ` +
        `resumed run over the finished folder: ${(median(resumed.map((s) => s.wall)) * 1000).toFixed(0)} ms for ${VIDEOS} videos`,
    );
  } finally {
    await encoders.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
