// `avvp probe <source>`: opens a source with the same code path as the runtime (fromMedia) and
// prints what arrives, one line per one-second segment, then a summary of what the source is.
import type { Subscription } from 'rxjs';
import { fromMedia, type MediaOptions } from '../../streams/fromMedia.js';
import type { SourceInfo } from '../../streams/ffmpeg/sourceInfo.js';
import type { Segment, StreamStatus } from '../../types.js';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';

const usage = `Usage: avvp probe <source> [--seconds N] [--json] [--retries N]

Decodes <source> (a file, rtsp:// or http(s):// URL, any ffmpeg URL, or lavfi:<graph>) into
one-second segments exactly as the runtime does (224x224 RGB at 8 fps, mono 16 kHz) and prints
one line per segment: index, media time [t0, t1), and per modality null or its stats
(audio: samples, RMS; video: frames, mean luma and mean RGB on a 0-255 scale). Then a summary:
codecs, original size / fps / sample rate, reconnects. Live sources retry with backoff.

Options:
  --seconds N   stop after N segments (default: until the source ends; Ctrl-C stops too)
  --json        one JSON object per segment on stdout:
                {"index","t0","t1","audio":{"samples","rms"}|null,
                 "video":{"frames","meanLuma","meanRGB":[r,g,b]}|null}
                (status lines and the summary go to stderr)
  --retries N   live sources: give up after N consecutive failed connection attempts (default 3)
`;

export interface SegmentStats {
  index: number;
  t0: number;
  t1: number;
  audio: { samples: number; rms: number } | null;
  video: { frames: number; meanLuma: number; meanRGB: [number, number, number] } | null;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export function segmentStats(segment: Segment): SegmentStats {
  let audio: SegmentStats['audio'] = null;
  if (segment.audio) {
    let sum = 0;
    for (const x of segment.audio) sum += x * x;
    audio = {
      samples: segment.audio.length,
      rms: round(Math.sqrt(sum / Math.max(1, segment.audio.length)), 6),
    };
  }
  let video: SegmentStats['video'] = null;
  if (segment.frames) {
    const sums = [0, 0, 0];
    let pixels = 0;
    for (const frame of segment.frames) {
      for (let i = 0; i < frame.length; i += 3) {
        sums[0] += frame[i];
        sums[1] += frame[i + 1];
        sums[2] += frame[i + 2];
      }
      pixels += frame.length / 3;
    }
    const [r, g, b] = sums.map((s) => s / Math.max(1, pixels));
    video = {
      frames: segment.frames.length,
      meanLuma: round(0.299 * r + 0.587 * g + 0.114 * b, 2), // BT.601 luma
      meanRGB: [round(r, 2), round(g, 2), round(b, 2)],
    };
  }
  return { index: segment.index, t0: segment.t0, t1: segment.t1, audio, video };
}

function textLine(s: SegmentStats, partial: boolean): string {
  const audio = s.audio ? `audio ${s.audio.samples} samples rms ${s.audio.rms.toFixed(4)}` : 'audio null';
  const video = s.video
    ? `video ${s.video.frames} frames luma ${s.video.meanLuma.toFixed(1)} rgb ${s.video.meanRGB.map((c) => c.toFixed(1)).join(' ')}`
    : 'video null';
  return `#${s.index} [${s.t0}, ${s.t1}) ${audio} | ${video}${partial ? ' (partial)' : ''}`;
}

function summary(
  info: SourceInfo | null,
  segments: number,
  partial: number,
  last: StreamStatus | null,
): string[] {
  const lines = [`summary: ${segments} segments${partial ? ` (${partial} partial)` : ''}`];
  if (info) {
    lines.push(
      `  format: ${info.format}${info.duration !== null ? `, duration ${info.duration.toFixed(2)} s` : ''}`,
    );
    const v = info.video;
    lines.push(
      v
        ? `  video: ${v.codec} ${v.width}x${v.height}${v.fps !== null ? ` ${v.fps} fps` : ''}`
        : '  video: none',
    );
    const a = info.audio;
    lines.push(a ? `  audio: ${a.codec} ${a.sampleRate} Hz ${a.channels}` : '  audio: none');
  }
  lines.push(`  reconnects: ${last?.restarts ?? 0}, dropped: ${last?.dropped ?? 0}`);
  return lines;
}

const probe: Command = {
  name: 'probe',
  summary: 'show what a source delivers: per-second audio/video stats, codecs, sizes, reconnects',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      seconds: { type: 'string' },
      json: { type: 'boolean' },
      retries: { type: 'string' },
    });
    if (positionals.length !== 1) throw new CliError(`expected one <source>, got ${positionals.length}`);
    const seconds = numberFlag('seconds', values.seconds, Infinity, { integer: true, min: 1 });
    const retries = numberFlag('retries', values.retries, 3, { integer: true, min: 0 });
    const json = values.json === true;
    const out = (line: string) => process.stdout.write(line + '\n');
    const note = json ? (line: string) => process.stderr.write(line + '\n') : out;

    let info: SourceInfo | null = null;
    let last: StreamStatus | null = null;
    let count = 0;
    let partial = 0;
    const options: MediaOptions = {
      maxRetries: retries,
      onInfo: (i) => (info = i),
      onStatus: (s) => {
        last = s;
        if (s.state === 'reconnecting') process.stderr.write(`status: reconnecting, ${s.reason}\n`);
      },
    };
    let subscription: Subscription | undefined;
    let settle: (err: Error | null) => void = () => undefined;
    const stop = () => {
      subscription?.unsubscribe();
      settle(null);
    };
    process.once('SIGINT', stop); // Ctrl-C: stop cleanly (ffmpeg killed) and print the summary
    const result = await new Promise<Error | null>((resolve) => {
      settle = resolve;
      subscription = fromMedia(positionals[0], options).subscribe({
        next: (segment) => {
          const stats = segmentStats(segment);
          count++;
          if (segment.partial) partial++;
          out(json ? JSON.stringify(stats) : textLine(stats, segment.partial === true));
          if (count >= seconds) stop();
        },
        error: (err: Error) => resolve(err),
        complete: () => resolve(null),
      });
    });
    process.removeListener('SIGINT', stop);
    if (info || count > 0) for (const line of summary(info, count, partial, last)) note(line);
    if (result) throw new CliError(result.message, 1);
    return 0;
  },
};

export default probe;
