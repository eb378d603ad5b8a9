// MP4 (H.264 + AAC) of a clip for the decode path and the demo: frames go into ffmpeg's stdin and
// PCM into a second pipe (fd 3) of the same process, so nothing raw touches the disk. Flags make
// the file depend only on its content (no encoder version string or creation time).
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { locateFfmpeg, type FfmpegBinary } from '../streams/ffmpeg/locate.js';
import type { SynthClip } from './clip.js';
import { FRAME_HEIGHT, FRAME_WIDTH } from './scene.js';

export class Mp4Error extends Error {}

export async function writeMp4(clip: SynthClip, path: string, ffmpeg?: FfmpegBinary): Promise<void> {
  const binary = ffmpeg ?? (await locateFfmpeg());
  const { fps, duration } = clip.options;
  const rate = clip.options.sampleRateHi ?? clip.options.sampleRate;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${FRAME_WIDTH}x${FRAME_HEIGHT}`, '-r', String(fps), '-i', 'pipe:0',
    '-f', 'f32le', '-ar', String(rate), '-ac', '1', '-i', 'pipe:3',
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-threads', '1',
    '-c:a', 'aac', '-b:a', '128k',
    '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact',
    '-f', 'mp4', path,
  ]; // prettier-ignore
  const child = spawn(binary.path, args, { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000); // bounded: only the tail is useful
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const video = child.stdin!;
  const audio = child.stdio[3] as Writable;
  // a pipe error (ffmpeg died) shows up as the exit code below; do not let it throw here
  video.on('error', () => {});
  audio.on('error', () => {});
  const pcm = clip.audio(rate);
  audio.end(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  for (let f = 0; f < duration * fps && !video.destroyed; f++) {
    if (!video.write(clip.frame(f))) await drainedOrClosed(video);
  }
  video.end();
  const code = await exited;
  if (code !== 0) {
    throw new Mp4Error(
      `ffmpeg (${binary.path}) failed writing ${path} with exit code ${code}: ${stderr.trim()}`,
    );
  }
}

/** Resolves when the pipe can take more data, or is gone (then the exit code tells why). */
function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
