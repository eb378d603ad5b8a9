// ffmpeg pieces shared by the benchmarks: generated H.264+AAC inputs (cached in the temp
// folder) and the plain-ffmpeg decode baseline that the ingest, encoder and extraction
// benchmarks compare against.
import { execFile, spawn } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDecodeArgs } from '../src/streams/ffmpeg/args.js';
import type { FfmpegBinary } from '../src/streams/ffmpeg/locate.js';

export interface H264Input {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /** Sine frequency of the stereo AAC track. */
  toneHz?: number;
  /** File path; default: a name in the temp folder derived from the other fields. */
  file?: string;
}

/** Writes (once) a testsrc2 H.264 High + AAC MP4 like a camera recording; returns its path. */
export async function makeH264Input(ffmpeg: FfmpegBinary, input: H264Input): Promise<string> {
  const { width, height, fps, seconds, toneHz = 440 } = input;
  const file =
    input.file ?? path.join(os.tmpdir(), `avvp-bench-${width}x${height}p${fps}-${seconds}s-${toneHz}.mp4`);
  if (existsSync(file)) return file;
  const partial = `${file}.part.mp4`;
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=${fps}:d=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=f=${toneHz}:r=48000:d=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'superfast', '-profile:v', 'high', '-b:v', '2700k', '-g', '60'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-b:a', '128k', partial],
  ];
  await new Promise<void>((resolve, reject) =>
    execFile(ffmpeg.path, args, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
  );
  renameSync(partial, file);
  return file;
}

/** Plain ffmpeg running fromMedia's exact argument list (default layout), outputs to /dev/null. */
export function plainFfmpegDecode(ffmpeg: FfmpegBinary, file: string): Promise<void> {
  const layout = { video: { width: 224, height: 224, fps: 8 }, audioRates: [16000] };
  const args = buildDecodeArgs({ kind: 'file', target: file }, layout, ffmpeg).map((a) =>
    a.startsWith('pipe:') ? '/dev/null' : a,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg.path, ['-y', ...args], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}
