// The live runtime behind `avvp serve`: owns N streams (added and removed at run time through the
// REST controller), one operator chain each over one shared inference pool, and turns what they
// produce into WebSocket messages and metrics. It is the HTTP API's StreamController and Readiness.
// Sources added through the API (`add`) are checked against the source policy before ffmpeg sees
// them; the operator's own streams (`addTrusted`: config file, command line) are not. Every source,
// reason and error that leaves (REST, WebSocket, logs) has its credentials masked (util/redact.ts).
//
//   source (fromMedia) -> overload -> encode -> window -> parse -> decodeEvents
//        |  status                         segment --^         event --^
//        v                                  v                    v
//   status message, stream_up/restarts     `segment` message    `event` message, events_total
import { Subject, filter, map, type Subscription } from 'rxjs';
import {
  StreamControllerError,
  type Readiness,
  type StreamController,
  type StreamSummary,
} from '../sinks/http.js';
import type { Metrics } from '../sinks/metrics.js';
import { eventMessage, segmentMessage, statusMessage, type Publishable } from '../sinks/protocol.js';
import { streamNameProblem } from '../sinks/stream-name.js';
import { fromMedia, type MediaOptions } from '../streams/fromMedia.js';
import {
  DEFAULT_SOURCE_POLICY,
  SourcePolicyError,
  checkSource,
  type SourcePolicy,
} from '../streams/sourcePolicy.js';
import type { StreamState, StreamStatus } from '../types.js';
import { redactUrl } from '../util/redact.js';
import { streamPipeline, type Inference, type PipelineOutput } from './pipeline.js';

/** Streams one runtime runs at most unless configured (a 2-core machine holds about 16). */
export const DEFAULT_MAX_STREAMS = 64;

export interface RuntimeOptions {
  inference: Inference;
  metrics: Metrics;
  /** Where messages go: the WebSocket server's publish. */
  publish: (msg: Publishable) => void;
  /** Seconds of future context per prediction (default 2). */
  lookahead?: number;
  /** Segments that may wait for inference per stream before the oldest is dropped (default 2). */
  queue?: number;
  /** Extra ingest options (tests: faster reconnects). */
  media?: Omit<MediaOptions, 'stream' | 'onStatus' | 'sampleRate' | 'fps' | 'width' | 'height'>;
  /** Most streams at once (default 64): each is an ffmpeg process and a share of the CPU. */
  maxStreams?: number;
  /** What `add` (POST /v1/streams) may open (default DEFAULT_SOURCE_POLICY); `addTrusted` is not checked. */
  sourcePolicy?: SourcePolicy;
  log?: (line: string) => void;
}

interface RunningStream {
  name: string;
  source: string;
  status: StreamStatus | null;
  segments: number;
  /** Segments dropped by the overload queue (the ingest's own drops are in its status). */
  overloadDrops: number;
  subscription: Subscription;
}

export class Runtime implements StreamController, Readiness {
  private readonly streamsByName = new Map<string, RunningStream>();
  /** Names of streams whose source went down: their open events end. */
  private readonly outages = new Subject<string>();
  private closed = false;

  constructor(private readonly o: RuntimeOptions) {}

  get classes(): readonly string[] {
    return this.o.inference.models.classes;
  }

  modelsLoaded(): boolean {
    return !this.closed;
  }

  streams(): { name: string; state: StreamState; segments: number }[] {
    return [...this.streamsByName.values()].map((s) => ({
      name: s.name,
      state: s.status?.state ?? 'starting',
      segments: s.segments,
    }));
  }

  list(): StreamSummary[] {
    return [...this.streamsByName.values()].map((s) => ({
      name: s.name,
      source: redactUrl(s.source),
      status: s.status,
    }));
  }

  /**
   * A stream asked for at run time (POST /v1/streams): refused with StreamControllerError('invalid')
   * (400, the rule and how to allow it) unless the source policy allows it, before ffmpeg starts.
   */
  async add(name: string, source: string): Promise<StreamSummary> {
    this.checkName(name);
    try {
      checkSource(source, this.o.sourcePolicy ?? DEFAULT_SOURCE_POLICY);
    } catch (err) {
      if (!(err instanceof SourcePolicyError)) throw err;
      this.o.log?.(`refused stream ${name}: ${err.message}`);
      throw new StreamControllerError('invalid', err.message);
    }
    return this.start(name, source);
  }

  /** A stream the operator configured (config file, command line): trusted, not checked against the policy. */
  async addTrusted(name: string, source: string): Promise<StreamSummary> {
    this.checkName(name);
    return this.start(name, source);
  }

  private checkName(name: string): void {
    const problem = streamNameProblem(name);
    if (problem) throw new StreamControllerError('invalid', problem);
    if (this.closed) throw new StreamControllerError('conflict', 'the runtime is shutting down');
    if (this.streamsByName.has(name))
      throw new StreamControllerError('conflict', `a stream named ${name} already exists`);
    const max = this.o.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (this.streamsByName.size >= max)
      throw new StreamControllerError(
        'limit',
        `this server runs at most ${max} streams (maxStreams); remove one first or raise the limit`,
      );
  }

  private async start(name: string, source: string): Promise<StreamSummary> {
    const stream: RunningStream = {
      name,
      source,
      status: null,
      segments: 0,
      overloadDrops: 0,
      subscription: null!,
    };
    let segments;
    try {
      segments = fromMedia(source, {
        ...this.o.media,
        stream: name,
        ...this.o.inference.models.ingest,
        // A file is served like a camera: one segment per second.
        realtime: true,
        onStatus: (status) => this.onStatus(stream, status),
      });
    } catch (err) {
      throw new StreamControllerError('invalid', redactUrl((err as Error).message));
    }
    this.streamsByName.set(name, stream);
    this.o.metrics.addStream(name);
    const counted = segments.pipe(
      map((s) => {
        stream.segments++;
        // Decode stage: from the end of the segment's second to its arrival here.
        this.o.metrics.observeStage('decode', Math.max(0, Date.now() - s.wallclock - 1000) / 1000);
        return s;
      }),
    );
    stream.subscription = streamPipeline(counted, this.o.inference, {
      mode: 'drop-oldest',
      capacity: this.o.queue,
      lookahead: this.o.lookahead,
      onDrop: () => {
        stream.overloadDrops++;
        this.o.metrics.segmentDropped(name, 'overload');
      },
      closeEvents: this.outages.pipe(filter((n) => n === name)),
    }).subscribe({
      next: (out) => this.deliver(out),
      error: (err: unknown) => this.failed(stream, err),
    });
    return { name, source: redactUrl(source), status: stream.status };
  }

  async remove(name: string): Promise<void> {
    const stream = this.streamsByName.get(name);
    if (!stream) throw new StreamControllerError('not-found', `no stream named ${name}`);
    this.outages.next(name); // open events end now, so clients see their 'end'
    stream.subscription.unsubscribe(); // kills ffmpeg; the source reports 'ended'
    this.streamsByName.delete(name);
    this.o.metrics.removeStream(name);
  }

  /** Stops every stream (ffmpeg killed, open events ended) and the inference workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const name of [...this.streamsByName.keys()]) await this.remove(name);
    this.outages.complete();
    await this.o.inference.close();
  }

  private deliver(out: PipelineOutput): void {
    try {
      this.publish(out);
    } catch (err) {
      // A message the sink refuses (too large) is lost, not the stream.
      this.o.log?.(`cannot publish a ${out.kind} message: ${(err as Error).message}`);
    }
  }

  private publish(out: PipelineOutput): void {
    if (out.kind === 'segment') {
      this.o.metrics.segmentParsed(out.prediction.stream);
      this.o.publish(segmentMessage(out.prediction));
    } else {
      if (out.event.phase === 'start') this.o.metrics.eventStarted(out.event.stream, out.event.modality);
      this.o.publish(eventMessage(out.event));
    }
  }

  private onStatus(stream: RunningStream, status: StreamStatus): void {
    const full = { ...status, dropped: status.dropped + stream.overloadDrops };
    // fromMedia masks its reasons already; masked again here for any other source of statuses.
    if (full.reason !== undefined) full.reason = redactUrl(full.reason);
    stream.status = full;
    // A removed stream still reports its 'ended' to clients, but its metric series are gone.
    const current = this.streamsByName.get(stream.name) === stream;
    if (current) this.o.metrics.streamStatus(full);
    if (current || full.state === 'ended') {
      const msg = statusMessage(full);
      this.o.publish(msg);
      this.o.log?.(`stream ${stream.name}: ${msg.state}${msg.reason ? ` (${msg.reason})` : ''}`);
    }
    if (full.state === 'down' || full.state === 'reconnecting') this.outages.next(stream.name);
  }

  private failed(stream: RunningStream, err: unknown): void {
    const message = redactUrl((err as Error)?.message ?? String(err));
    this.o.log?.(`stream ${stream.name} stopped: ${message}`);
    if (stream.status?.state === 'down') return; // the source already said why
    this.onStatus(stream, {
      stream: stream.name,
      state: 'down',
      at: Date.now(),
      reason: message.split('\n')[0],
      restarts: stream.status?.restarts ?? 0,
      dropped: stream.status?.dropped ?? 0,
    });
  }
}
