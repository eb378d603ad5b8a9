// fromMedia(source, options): an Observable of one-second Segments from a file, a URL (rtsp://,
// http(s)://, anything ffmpeg reads) or an ffmpeg lavfi graph (`lavfi:<graph>`). One ffmpeg
// process per source decodes both modalities. Files are read as fast as the consumer takes
// them (or in real time); live sources are supervised, reconnected and never block.
// See docs/ingest.md for the time model and the rules for tails, gaps and reconnects.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Observable, type Subscriber } from 'rxjs';
import type { Segment, StreamState, StreamStatus } from '../types.js';
import { redactSecrets, redactUrl, urlSecrets } from '../util/redact.js';
import { Delivery } from './delivery.js';
import type { DecodeLayout, InputSpec } from './ffmpeg/args.js';
import { DecodeRun, type DecodeEnd } from './ffmpeg/decode.js';
import { locateFfmpeg, type FfmpegBinary } from './ffmpeg/locate.js';
import type { SourceInfo } from './ffmpeg/sourceInfo.js';
import { DEFAULT_BACKOFF, LiveSupervisor, backoffDelay, type BackoffOptions } from './live.js';
import type { SegmentData } from './segmenter.js';

export interface MediaOptions {
  /** Stream name carried by every segment and status (default: file name or URL host+path). */
  stream?: string;
  /** Output frame size and rate (default 224 x 224 at 8 fps; fps must be an integer). */
  width?: number;
  height?: number;
  fps?: number;
  /** Cover the frame size keeping the aspect ratio and crop the centre (CLIP's resize), instead of stretching. */
  centreCrop?: boolean;
  /** Mono PCM rate (default 16000). */
  sampleRate?: number;
  /** Optional second PCM rate, delivered as `audioHi` (e.g. 48000 for CLAP-style encoders). */
  sampleRateHi?: number;
  /** undefined: decode the modality when the source has it; true: require it; false: skip it. */
  video?: boolean;
  audio?: boolean;
  /** Supervise as a live source (default: true for rtsp, rtmp, udp, srt, tcp, rtp URLs). */
  live?: boolean;
  /** Files: deliver segment k no earlier than k + 1 seconds after start. */
  realtime?: boolean;
  /**
   * Non-live sources: when a run dies before the end of its input (watchdog, ffmpeg crash) after it
   * delivered data, restart it with the live backoff (files resume where they stopped; indices
   * continue) instead of failing. The end of the input still ends the stream. Default: `realtime`
   * (a paced source is served like a camera). See docs/ingest.md, "Restarts of finite sources".
   */
  restart?: boolean;
  /** Acknowledge each finished segment here to get flow control for asynchronous consumers. */
  consumed?: Observable<unknown>;
  /** With `consumed`: most segments out without acknowledgement (default 1). */
  maxPending?: number;
  /** Live: segments that may wait for a slow consumer before the oldest is dropped (default 4). */
  queueSize?: number;
  /** Kill ffmpeg after this long without output bytes once data flowed (default 10000 ms). */
  watchdogMs?: number;
  /** Kill ffmpeg when a run yields no byte this long after it started (default 20000 ms). */
  startTimeoutMs?: number;
  /** Socket I/O timeout for rtsp/http inputs (default 5000 ms). */
  ioTimeoutMs?: number;
  /**
   * ffmpeg decoder threads per source (default: ffmpeg's, one per core plus one). Many streams on a
   * few cores run best with 1: frame threads add synchronisation cost and a frame of latency each.
   */
  decodeThreads?: number;
  /**
   * Niceness added to each ffmpeg process (0-19, default 0). A live runtime gives decoding, which
   * buffers, a lower priority than inference, whose delay is the latency users see.
   */
  decodeNice?: number;
  backoff?: Partial<BackoffOptions>;
  /** Live: give up after this many consecutive attempts without data (default Infinity). */
  maxRetries?: number;
  /** The final incomplete second is kept (padded) when it holds at least this much (default 0.5 s). */
  tailMinSeconds?: number;
  /** A lagging modality is given up on for a second once another is this far ahead (default 4 s). */
  maxSkewSeconds?: number;
  onStatus?(status: StreamStatus): void;
  /** Called once per ffmpeg run with what the source delivers (codecs, original size and rates). */
  onInfo?(info: SourceInfo): void;
  /** Use this binary instead of locating one. */
  ffmpeg?: FfmpegBinary;
}

/** A source that cannot be read (missing file, not media, refused, gave up reconnecting...). */
export class MediaSourceError extends Error {
  constructor(
    readonly stream: string,
    message: string,
  ) {
    super(message);
    this.name = 'MediaSourceError';
  }
}

interface Config {
  stream: string;
  /** How the source is named in messages (URL credentials removed). */
  label: string;
  /** The source's literal credentials, masked wherever ffmpeg quotes them (util/redact.ts). */
  secrets: string[];
  /** Non-live: restart after a run that died mid-input (MediaOptions.restart). */
  restart: boolean;
  input: InputSpec;
  live: boolean;
  video: { width: number; height: number; fps: number; centreCrop: boolean };
  audioRates: number[];
  wantVideo: boolean | undefined;
  wantAudio: boolean | undefined;
  options: MediaOptions;
}

const LIVE_SCHEMES = new Set(['rtsp', 'rtsps', 'rtmp', 'rtmps', 'udp', 'srt', 'tcp', 'rtp']);

export function fromMedia(source: string, options: MediaOptions = {}): Observable<Segment> {
  const config = resolveConfig(source, options);
  return new Observable<Segment>((subscriber) => {
    const session = new MediaSession(config, subscriber);
    void session.start();
    return () => void session.stop();
  });
}

/** Validates options and classifies the source; throws RangeError / TypeError on bad options. */
function resolveConfig(source: string, options: MediaOptions): Config {
  if (typeof source !== 'string' || source.trim() === '')
    throw new TypeError('fromMedia: source must be a non-empty string');
  const int = (name: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min || v > max)
      throw new RangeError(`fromMedia: ${name} must be an integer in [${min}, ${max}], got ${value}`);
    return v;
  };
  const video = {
    width: int('width', options.width, 224, 2, 8192),
    height: int('height', options.height, 224, 2, 8192),
    fps: int('fps', options.fps, 8, 1, 240),
    centreCrop: options.centreCrop === true,
  };
  const audioRates = [int('sampleRate', options.sampleRate, 16000, 1000, 384000)];
  if (options.sampleRateHi !== undefined)
    audioRates.push(int('sampleRateHi', options.sampleRateHi, 0, 1000, 384000));
  if (options.video === false && options.audio === false)
    throw new RangeError('fromMedia: video and audio are both disabled; nothing to decode');
  for (const [name, value] of [
    ['watchdogMs', options.watchdogMs],
    ['startTimeoutMs', options.startTimeoutMs],
    ['ioTimeoutMs', options.ioTimeoutMs],
    ['maxSkewSeconds', options.maxSkewSeconds],
    ['backoff.initialMs', options.backoff?.initialMs],
    ['backoff.maxMs', options.backoff?.maxMs],
  ] as const)
    if (value !== undefined && !(value > 0 && Number.isFinite(value)))
      throw new RangeError(`fromMedia: ${name} must be a finite number > 0, got ${value}`);
  // Flow-control sizes: 0 would hold every segment back (a hang) or drop every one.
  for (const [name, value] of [
    ['maxPending', options.maxPending],
    ['queueSize', options.queueSize],
    ['decodeThreads', options.decodeThreads],
  ] as const)
    if (value !== undefined && !(Number.isInteger(value) && value >= 1))
      throw new RangeError(`fromMedia: ${name} must be an integer >= 1, got ${value}`);
  const { maxRetries, tailMinSeconds } = options;
  if (
    maxRetries !== undefined &&
    maxRetries !== Infinity &&
    !(Number.isInteger(maxRetries) && maxRetries >= 0)
  )
    throw new RangeError(`fromMedia: maxRetries must be an integer >= 0 or Infinity, got ${maxRetries}`);
  int('decodeNice', options.decodeNice, 0, 0, 19);
  if (tailMinSeconds !== undefined && !(tailMinSeconds >= 0 && tailMinSeconds <= 1))
    throw new RangeError(`fromMedia: tailMinSeconds must be in [0, 1], got ${tailMinSeconds}`);
  const { factor, jitter } = options.backoff ?? {};
  if (factor !== undefined && !(factor >= 1 && Number.isFinite(factor)))
    throw new RangeError(`fromMedia: backoff.factor must be a finite number >= 1, got ${factor}`);
  if (jitter !== undefined && !(jitter >= 0 && jitter < 1))
    throw new RangeError(`fromMedia: backoff.jitter must be in [0, 1), got ${jitter}`);

  const { input, label, defaultName, liveByDefault } = classify(source);
  return {
    stream: options.stream ?? defaultName,
    label,
    secrets: urlSecrets(source),
    restart: options.restart ?? options.realtime === true,
    input: { ...input, ioTimeoutMs: options.ioTimeoutMs ?? 5000, threads: options.decodeThreads },
    live: options.live ?? liveByDefault,
    video,
    audioRates,
    wantVideo: options.video,
    wantAudio: options.audio,
    options,
  };
}

function classify(source: string): {
  input: InputSpec;
  label: string;
  defaultName: string;
  liveByDefault: boolean;
} {
  if (source.startsWith('lavfi:')) {
    const graph = source.slice('lavfi:'.length);
    return {
      input: { kind: 'lavfi', target: graph },
      label: source,
      defaultName: 'lavfi',
      liveByDefault: false,
    };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'file') {
    let file = source;
    try {
      file = fileURLToPath(source);
    } catch {
      // not a local file URL: ffmpeg's own file: protocol gets it as written
    }
    return {
      input: { kind: 'file', target: file },
      label: file,
      defaultName: path.basename(file),
      liveByDefault: false,
    };
  }
  if (scheme) {
    // Parsed, not pattern-matched: a password may hold '@', '/', ':' or spaces (util/redact.ts).
    const label = redactUrl(source);
    let defaultName = scheme;
    try {
      const url = new URL(source);
      defaultName = `${url.host}${url.pathname}`.replace(/\/$/, '');
    } catch {
      // not parseable by WHATWG URL (ffmpeg may still read it): name it by its scheme
    }
    const kind = scheme.startsWith('rtsp') ? 'rtsp' : scheme.startsWith('http') ? 'http' : 'url';
    return { input: { kind, target: source }, label, defaultName, liveByDefault: LIVE_SCHEMES.has(scheme) };
  }
  return {
    input: { kind: 'file', target: source },
    label: source,
    defaultName: path.basename(source),
    liveByDefault: false,
  };
}

class MediaSession {
  private readonly delivery: Delivery;
  private layout: DecodeLayout;
  private ffmpeg: FfmpegBinary | null = null;
  private run: DecodeRun | null = null;
  private supervisor: LiveSupervisor | null = null;
  private stopped = false;
  /** Completed or failed: no 'ended' status on the unsubscribe that follows. */
  private finished = false;
  private nextIndex = 0;
  /** Respawns of a non-live source after a run died mid-input (live: the supervisor counts). */
  private restarts = 0;
  private wake: (() => void) | null = null;
  private readonly startedMs = Date.now();
  /** Epoch ms of second 0 of the current run. */
  private anchorMs = this.startedMs;

  constructor(
    private readonly config: Config,
    subscriber: Subscriber<Segment>,
  ) {
    const { options, live } = config;
    this.delivery = new Delivery(subscriber, {
      policy: live ? 'drop-oldest' : 'backpressure',
      maxPending: options.maxPending ?? 1,
      queueSize: options.queueSize ?? 4,
      consumed: options.consumed,
      paceStartMs: !live && options.realtime ? this.startedMs : undefined,
      onPressure: (paused) => (paused ? this.run?.pause() : this.run?.resume()),
      onDrop: () => this.status('up', 'dropped the oldest waiting segment: consumer too slow'),
    });
    this.layout = {
      video: config.wantVideo === false ? null : config.video,
      audioRates: config.wantAudio === false ? [] : config.audioRates,
    };
  }

  async start(): Promise<void> {
    this.status('starting');
    try {
      if (this.config.input.kind === 'file') await this.checkFile();
      this.ffmpeg = this.config.options.ffmpeg ?? (await locateFfmpeg());
      if (this.stopped) return;
      if (this.config.live) this.superviseLive();
      else await this.readOnce();
    } catch (err) {
      this.fail(err);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    this.delivery.dispose();
    await Promise.all([this.supervisor?.stop(), this.run?.stop()]);
    if (!this.finished) this.status('ended', 'unsubscribed');
  }

  private async checkFile(): Promise<void> {
    const file = this.config.input.target;
    const info = await stat(file).catch(() => null);
    if (!info)
      throw this.error(`no such file: '${file}' (check the path; URLs need a scheme such as rtsp://)`);
    if (!info.isFile()) throw this.error(`'${file}' is not a regular file`);
  }

  /**
   * Files and other finite sources: one run (plus a restart if a requested stream is absent), and
   * with `restart` a new run, after the live backoff, when one dies mid-input having delivered data.
   */
  private async readOnce(): Promise<void> {
    let failures = 0;
    for (;;) {
      const resumeAt = this.nextIndex;
      const end = await this.connect().done;
      if (this.stopped) return;
      if (end.kind === 'layout') {
        this.adapt(end);
        continue;
      }
      if (end.kind === 'audio-change')
        throw this.error(
          `cannot keep audio aligned in '${this.config.label}': ${end.reason}. Re-encode it with constant ` +
            'audio parameters (e.g. ffmpeg -i in -ar 48000 -ac 2 out.mp4) or decode it with audio: false.',
        );
      if (end.kind !== 'eof' && this.config.restart && this.nextIndex > 0) {
        // It worked and then died (a stall the watchdog killed, a crash): serve it again like a
        // camera, after the same backoff; a file resumes at the first second not yet delivered.
        failures = this.nextIndex > resumeAt ? 1 : failures + 1;
        this.status('down', end.reason);
        const maxRetries = this.config.options.maxRetries ?? Infinity;
        if (failures > maxRetries)
          throw this.error(
            `'${this.config.label}': gave up after ${failures} restarts without data; last: ${end.reason}`,
          );
        const delay = backoffDelay(failures, { ...DEFAULT_BACKOFF, ...this.config.options.backoff });
        this.status('reconnecting', `restart ${failures} in ${(delay / 1000).toFixed(1)} s (${end.reason})`);
        await this.sleep(delay);
        if (this.stopped) return;
        this.restarts++;
        // Paced again from now on: the next second is due one second after the restart.
        this.anchorMs = Date.now() - this.nextIndex * 1000;
        this.delivery.repace(this.anchorMs);
        continue;
      }
      if (end.kind !== 'eof') {
        const what =
          end.kind === 'watchdog'
            ? `no data from '${this.config.label}'`
            : `cannot decode '${this.config.label}'`;
        throw this.error(
          `${what}: ${end.reason}${end.detail && end.kind === 'failed' ? `\n${end.detail}` : ''}`,
        );
      }
      if (this.nextIndex === 0) {
        throw this.error(
          end.bytes === 0
            ? `'${this.config.label}' has no media to decode (zero duration or no decodable frames)`
            : `'${this.config.label}' is shorter than ${this.tailMin()} s: no segment to deliver`,
        );
      }
      this.finished = true;
      this.status('ended', 'end of input');
      this.delivery.end();
      return;
    }
  }

  private superviseLive(): void {
    const { options } = this.config;
    this.supervisor = new LiveSupervisor(
      { backoff: { ...DEFAULT_BACKOFF, ...options.backoff }, maxRetries: options.maxRetries ?? Infinity },
      {
        connect: () => this.connect(),
        adapt: (end) => this.adapt(end),
        status: (state, reason) => this.status(state, reason),
        fail: (err) => this.fail(this.error(`'${this.config.label}': ${err.message}`)),
      },
    );
    this.supervisor.start();
  }

  private connect(): DecodeRun {
    const { options } = this.config;
    const base = this.nextIndex;
    const afterGap = this.nextIndex > 0;
    const { input } = this.config;
    this.run = new DecodeRun({
      ffmpeg: this.ffmpeg!,
      // A restarted file resumes at the first second not delivered yet.
      input: input.kind === 'file' && base > 0 ? { ...input, seekSeconds: base } : input,
      layout: this.layout,
      watchdogMs: options.watchdogMs ?? 10_000,
      startTimeoutMs: options.startTimeoutMs ?? 20_000,
      nice: options.decodeNice,
      segmenter: { maxSkewSeconds: options.maxSkewSeconds ?? 4, tailMinSeconds: this.tailMin() },
      onFirstData: () => {
        if (this.config.live) this.anchorMs = Date.now();
        this.status('up');
      },
      onInfo: (info) => options.onInfo?.(info),
      onSegment: (data) => {
        const segment = this.toSegment(base, data);
        if (afterGap && data.second === 0) segment.discontinuity = true;
        this.nextIndex = segment.index + 1;
        this.delivery.offer(segment);
      },
    });
    return this.run;
  }

  private toSegment(base: number, data: SegmentData): Segment {
    const { video, audioRates, stream } = this.config;
    const index = base + data.second;
    const wallclock = this.config.live ? this.anchorMs + data.second * 1000 : this.anchorMs + index * 1000;
    const segment: Segment = {
      stream,
      index,
      t0: index,
      t1: index + 1,
      wallclock,
      audio: data.audio[0] ?? null,
      frames: data.frames,
      sampleRate: audioRates[0],
      width: video.width,
      height: video.height,
      fps: video.fps,
    };
    if (audioRates.length > 1) {
      segment.audioHi = data.audio[1] ?? null;
      segment.sampleRateHi = audioRates[1];
    }
    if (data.partial) segment.partial = true;
    return segment;
  }

  /** The source lacks a stream we asked for: decode what it has, or fail if it was required. */
  private adapt(end: DecodeEnd): void {
    const info = end.info;
    const { label, wantVideo, wantAudio } = this.config;
    if (!info) throw this.error(`cannot open '${label}': ${end.reason}`);
    if (wantVideo === true && !info.video)
      throw this.error(`'${label}' has no video stream (video: true was requested)`);
    if (wantAudio === true && !info.audio)
      throw this.error(`'${label}' has no audio stream (audio: true was requested)`);
    const next: DecodeLayout = {
      video: info.video && this.layout.video ? this.layout.video : null,
      audioRates: info.audio ? this.layout.audioRates : [],
    };
    if (!next.video && next.audioRates.length === 0)
      throw this.error(`'${label}' has neither a usable video nor an audio stream`);
    if (next.video === this.layout.video && next.audioRates === this.layout.audioRates)
      throw this.error(`cannot decode '${label}': ${end.reason}\n${end.detail}`);
    this.layout = next;
  }

  private tailMin(): number {
    return this.config.options.tailMinSeconds ?? 0.5;
  }

  private status(state: StreamState, reason?: string): void {
    const status: StreamStatus = {
      stream: this.config.stream,
      state,
      at: Date.now(),
      restarts: this.supervisor?.restarts ?? this.restarts,
      dropped: this.delivery.droppedCount,
    };
    // Reasons quote ffmpeg, which prints the URL as given: credentials never leave in them.
    if (reason !== undefined) status.reason = redactSecrets(reason, this.config.secrets);
    this.config.options.onStatus?.(status);
  }

  private fail(err: unknown): void {
    if (this.stopped || this.finished) return;
    this.finished = true;
    const error = err instanceof Error ? err : new Error(String(err));
    this.status('down', error.message.split('\n')[0]);
    this.delivery.end(error);
  }

  private error(message: string): MediaSourceError {
    return new MediaSourceError(this.config.stream, redactSecrets(message, this.config.secrets));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
