// Test media generated at test time with ffmpeg's lavfi sources: a solid background with
// full-frame colour boxes and sine tones switched on and off at known seconds, so tests can
// check per-segment image content and audio energy against the schedule exactly.
// Reusable by every suite: makeTestMedia() writes a file, lavfiSource() gives the same
// content as a `lavfi:` source for fromMedia without a file.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDirsSync } from './temp-dirs.js';

/** Media seconds [from, to). */
export interface Span {
  from: number;
  to: number;
}

export interface ColourSpan extends Span {
  /** ffmpeg colour: a name ('white', 'red') or 0xRRGGBB. */
  color: string;
}

export interface ToneSpan extends Span {
  /** Hz (default 440). */
  freq?: number;
  /** Peak amplitude, 0-1 (default 0.5). */
  amplitude?: number;
}

export interface TestMediaSpec {
  seconds: number;
  /** Source video; false for audio-only. Default: 160x120 at 24 fps, black, no boxes. */
  video?:
    | false
    | { width?: number; height?: number; fps?: number | string; background?: string; boxes?: ColourSpan[] };
  /** Source audio; false for video-only. Default: 48 kHz mono, silent. */
  audio?: false | { sampleRate?: number; channels?: 1 | 2; tones?: ToneSpan[] };
}

export interface FileOptions {
  /** mp4 (H.264 + AAC, default), mkv (H.264 + PCM: sample-exact audio), ts (H.264 + AAC in MPEG-TS). */
  container?: 'mp4' | 'mkv' | 'ts';
}

const on = (s: Span) => `gte(t,${s.from})*lt(t,${s.to})`;

/** lavfi video chain for the spec (no output label). */
export function videoGraph(spec: TestMediaSpec): string | null {
  if (spec.video === false) return null;
  const v = spec.video ?? {};
  const base = `color=c=${v.background ?? 'black'}:s=${v.width ?? 160}x${v.height ?? 120}:r=${v.fps ?? 24}:d=${spec.seconds}`;
  const boxes = (v.boxes ?? []).map(
    (b) => `drawbox=x=0:y=0:w=iw:h=ih:color=${b.color}:t=fill:enable='${on(b)}'`,
  );
  return [base, ...boxes].join(',');
}

/** lavfi audio chain for the spec (no output label). */
export function audioGraph(spec: TestMediaSpec): string | null {
  if (spec.audio === false) return null;
  const a = spec.audio ?? {};
  const tones = (a.tones ?? []).map((t) => `${t.amplitude ?? 0.5}*sin(2*PI*${t.freq ?? 440}*t)*${on(t)}`);
  const expr = tones.length > 0 ? tones.join('+') : '0';
  const channels = a.channels === 2 ? `${expr}|${expr}` : expr;
  return `aevalsrc=exprs='${channels}':s=${a.sampleRate ?? 48000}:d=${spec.seconds}`;
}

/** The spec as a fromMedia source string, decoded straight from lavfi (no file). */
export function lavfiSource(spec: TestMediaSpec): string {
  const parts: string[] = [];
  const v = videoGraph(spec);
  const a = audioGraph(spec);
  if (v) parts.push(`${v}[out0]`);
  if (a) parts.push(`${a}[out${parts.length}]`);
  return `lavfi:${parts.join(';')}`;
}

/** Encodes the spec into `file` and resolves to its path. */
export async function makeTestMedia(
  file: string,
  spec: TestMediaSpec,
  options: FileOptions = {},
): Promise<string> {
  const container = options.container ?? 'mp4';
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  const v = videoGraph(spec);
  const a = audioGraph(spec);
  if (v) args.push('-f', 'lavfi', '-i', v);
  if (a) args.push('-f', 'lavfi', '-i', a);
  if (v) args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '24');
  if (a) args.push(...(container === 'mkv' ? ['-c:a', 'pcm_s16le'] : ['-c:a', 'aac', '-b:a', '128k']));
  args.push(file);
  await ffmpeg(args);
  return file;
}

/** Runs ffmpeg (the system one) and rejects with its stderr on failure. */
export function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', args, { maxBuffer: 16 << 20 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`ffmpeg ${args.join(' ')} failed: ${stderr}`)) : resolve(),
    );
  });
}

/** A fresh temporary directory, removed after the tests (see temp-dirs.ts); remove() drops it sooner. */
export function tempDir(prefix = 'avvp-test-'): { dir: string; file(name: string): string; remove(): void } {
  const dir = tempDirsSync(prefix)();
  return {
    dir,
    file: (name) => path.join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Root mean square of PCM samples. */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Mean R, G, B (0-255) of one RGB24 frame. */
export function meanRgb(frame: Uint8Array): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < frame.length; i += 3) {
    sums[0] += frame[i];
    sums[1] += frame[i + 1];
    sums[2] += frame[i + 2];
  }
  const n = frame.length / 3;
  return [sums[0] / n, sums[1] / n, sums[2] / n];
}

/** PIDs of this process's live child processes with the given command name (Linux /proc). */
export async function childPids(command = 'ffmpeg'): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
    if (m && m[1] === command && Number(m[3]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

/** True while `pid` exists in any state, zombies included. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
