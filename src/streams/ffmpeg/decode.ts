// One decode run: a single ffmpeg process for one source, its raw pipes fed into a Segmenter,
// a no-data watchdog, pause/resume for backpressure, and a description of how it ended.
import type { SegmentData, SegmenterOptions } from '../segmenter.js';
import { Segmenter } from '../segmenter.js';
import { buildDecodeArgs, outputFds, type DecodeLayout, type InputSpec } from './args.js';
import type { FfmpegBinary } from './locate.js';
import { FfmpegProcess, type ExitInfo } from './process.js';
import { parseSourceInfo, type SourceInfo } from './sourceInfo.js';

/**
 * eof: ffmpeg finished normally. failed: it exited with an error (or could not start).
 * watchdog: no output bytes for `watchdogMs`, killed. layout: the source lacks a requested
 * stream (see `info`), nothing was decoded. audio-change: the audio sample rate or channel
 * layout changed mid-stream, killed (see AUDIO_TIMELINE_BROKEN). stopped: stop() was called.
 */
export type DecodeEndKind = 'eof' | 'failed' | 'watchdog' | 'layout' | 'audio-change' | 'stopped';

/**
 * When the audio format changes mid-stream ffmpeg rebuilds the filter graph, and the new
 * graph's `aresample first_pts=0` pads silence from media time 0 again: the raw audio output
 * would run ahead of the video. The only trace is this muxer warning on the audio output, so
 * the run is stopped there (live sources reconnect; files fail with advice). Video size changes
 * are harmless: `-fps_mode cfr` drops the re-padded frames at the output.
 */
const AUDIO_TIMELINE_BROKEN =
  /^\[f32le @ [^\]]*\] Application provided invalid, non monotonically increasing dts/;

export interface DecodeEnd {
  kind: DecodeEndKind;
  /** One line for status messages. */
  reason: string;
  /** ffmpeg's last stderr lines (for error messages), or ''. */
  detail: string;
  exit: ExitInfo;
  /** Raw output bytes received over all pipes. */
  bytes: number;
  info: SourceInfo | null;
}

export interface DecodeRunOptions {
  ffmpeg: FfmpegBinary;
  input: InputSpec;
  layout: DecodeLayout;
  /** Kill ffmpeg when no output byte arrives for this long while not paused. */
  watchdogMs: number;
  /** Before the first byte (connecting, probing, waiting for a keyframe) the limit is this instead. */
  startTimeoutMs: number;
  /** Niceness added to ffmpeg (0: none). */
  nice?: number;
  segmenter: SegmenterOptions;
  onSegment(data: SegmentData): void;
  onFirstData?(): void;
  onInfo?(info: SourceInfo): void;
}

export class DecodeRun {
  readonly done: Promise<DecodeEnd>;
  private readonly proc: FfmpegProcess;
  private readonly segmenter: Segmenter;
  private bytes = 0;
  private lastActivity = Date.now();
  private paused = false;
  private stopped = false;
  private watchdogFired = false;
  private audioChanged = false;
  private info: SourceInfo | null = null;

  constructor(private readonly opts: DecodeRunOptions) {
    const { layout } = opts;
    this.segmenter = new Segmenter(layout, opts.segmenter);
    const fds = outputFds(layout);
    const dataFds = [...(fds.video === null ? [] : [fds.video]), ...fds.audio];
    this.proc = new FfmpegProcess(
      opts.ffmpeg.path,
      buildDecodeArgs(opts.input, layout, opts.ffmpeg),
      dataFds,
      { nice: opts.nice },
    );
    this.proc.onLine((line) => {
      if (!this.info && /^(Stream mapping:|Output #0)/.test(line)) this.readInfo();
      if (AUDIO_TIMELINE_BROKEN.test(line) && !this.audioChanged) {
        this.audioChanged = true;
        void this.proc.kill();
      }
    });
    const closed = dataFds.map((fd, channel) => this.wirePipe(fd, channel));
    const tick = Math.max(50, Math.min(1000, opts.watchdogMs / 4, opts.startTimeoutMs / 4));
    const timer = setInterval(() => this.checkWatchdog(), tick);
    this.done = Promise.all([this.proc.exited, ...closed]).then(([exit]) => {
      clearInterval(timer);
      return this.conclude(exit);
    });
  }

  /** Stops reading the pipes; ffmpeg blocks on its next write (files: nothing is lost). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const pipe of this.proc.pipes.values()) pipe.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastActivity = Date.now();
    for (const pipe of this.proc.pipes.values()) pipe.resume();
  }

  /** Kills ffmpeg and waits until it is reaped; no further segments are delivered. */
  async stop(): Promise<DecodeEnd> {
    this.stopped = true;
    await this.proc.kill();
    return this.done;
  }

  private wirePipe(fd: number, channel: number): Promise<void> {
    const pipe = this.proc.pipes.get(fd)!;
    pipe.on('data', (chunk: Buffer) => {
      if (this.stopped) return;
      if (this.bytes === 0) this.opts.onFirstData?.();
      this.bytes += chunk.length;
      this.lastActivity = Date.now();
      this.emit(this.segmenter.push(channel, chunk));
    });
    pipe.on('end', () => {
      if (!this.stopped) this.emit(this.segmenter.end(channel));
    });
    pipe.on('error', () => undefined); // EPIPE/ECONNRESET after a kill: the exit status tells the story
    return new Promise((resolve) => pipe.once('close', () => resolve()));
  }

  private emit(segments: SegmentData[]): void {
    for (const s of segments) if (!this.stopped) this.opts.onSegment(s);
  }

  private checkWatchdog(): void {
    if (this.paused || this.stopped || this.watchdogFired) return;
    const limit = this.bytes === 0 ? this.opts.startTimeoutMs : this.opts.watchdogMs;
    if (Date.now() - this.lastActivity < limit) return;
    this.watchdogFired = true;
    void this.proc.kill();
  }

  private readInfo(): void {
    this.info = parseSourceInfo(this.proc.headLines());
    if (this.info) this.opts.onInfo?.(this.info);
  }

  private conclude(exit: ExitInfo): DecodeEnd {
    if (!this.info) this.readInfo();
    const detail = this.proc.tailText();
    const end = (kind: DecodeEndKind, reason: string): DecodeEnd => ({
      kind,
      reason,
      detail,
      exit,
      bytes: this.bytes,
      info: this.info,
    });
    if (this.stopped) return end('stopped', 'stopped');
    this.emit(this.segmenter.finish());
    if (exit.spawnError) return end('failed', `could not start ffmpeg: ${exit.spawnError.message}`);
    if (this.watchdogFired) {
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      const what =
        this.bytes === 0
          ? `no data within ${seconds(this.opts.startTimeoutMs)} s of starting`
          : `no data for ${seconds(this.opts.watchdogMs)} s`;
      return end('watchdog', `${what} (watchdog killed ffmpeg)`);
    }
    if (this.audioChanged)
      return end(
        'audio-change',
        'the audio sample rate or channel layout changed mid-stream (ffmpeg stopped)',
      );
    if (this.bytes === 0 && this.info && this.lacksRequestedStream(this.info))
      return end('layout', 'the source lacks a requested stream');
    if (exit.code === 0) return end('eof', 'ffmpeg exited (end of stream)');
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const last = detail.split('\n').pop();
    return end('failed', `ffmpeg ${how}${last ? `: ${last}` : ''}`);
  }

  private lacksRequestedStream(info: SourceInfo): boolean {
    return (
      (this.opts.layout.video !== null && !info.video) ||
      (this.opts.layout.audioRates.length > 0 && !info.audio)
    );
  }
}
