// The Prometheus metric set of the runtime, in one registry (docs/metrics.md lists every metric).
// Stream labels are configured names, checked here, so a source URL with credentials can never
// reach a label.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Modality, StreamStatus } from '../types.js';
import { assertStreamName } from './stream-name.js';

export const STAGES = [
  'decode',
  'encode_audio',
  'encode_visual',
  'parse',
  'localize',
  'embed',
  'sink',
] as const;
export type Stage = (typeof STAGES)[number];

const MODALITIES: readonly Modality[] = ['audio', 'visual', 'audio-visual'];

/** Reasons a segment is dropped before it is parsed. */
export const SEGMENT_DROP_REASONS = ['overload', 'decode_error', 'shutdown'] as const;
export type SegmentDropReason = (typeof SEGMENT_DROP_REASONS)[number];

/** Per-stage work is milliseconds to a second: a stage near 1 s cannot keep up with real time. */
export const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Segment end to message sent includes the parser's lookahead (seconds), hence the long tail. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30];
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

export interface MetricsOptions {
  /** Also export prom-client's default process metrics (CPU, memory, event loop lag, GC). */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  readonly stageDuration = new Histogram({
    name: 'avvp_stage_duration_seconds',
    help: 'Time one segment (or one batch) spent in a pipeline stage.',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  readonly segmentLatency = new Histogram({
    name: 'avvp_segment_latency_seconds',
    help: 'Wall-clock time from the end of a segment to its message being sent to clients.',
    labelNames: ['stream'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly segments = new Counter({
    name: 'avvp_segments_total',
    help: 'Segments parsed.',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly segmentsDropped = new Counter({
    name: 'avvp_segments_dropped_total',
    help: 'Segments dropped before parsing, by reason.',
    labelNames: ['stream', 'reason'] as const,
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'avvp_events_total',
    help: 'Events started, by modality.',
    labelNames: ['stream', 'modality'] as const,
    registers: [this.registry],
  });
  readonly streamUp = new Gauge({
    name: 'avvp_stream_up',
    help: '1 while the stream delivers media, else 0.',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly streamRestarts = new Counter({
    name: 'avvp_stream_restarts_total',
    help: 'Restarts of the stream source (reconnects of live sources).',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'avvp_inference_batch_size',
    help: 'Segments per inference call (cross-stream batching).',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly modelProviders = new Gauge({
    name: 'avvp_model_provider',
    help: 'The execution provider each loaded model runs on (1 for the provider in use).',
    labelNames: ['model', 'provider'] as const,
    registers: [this.registry],
  });
  readonly wsClients = new Gauge({
    name: 'avvp_ws_clients',
    help: 'Connected WebSocket clients.',
    registers: [this.registry],
  });
  readonly wsDropped = new Counter({
    name: 'avvp_ws_messages_dropped_total',
    help: 'Messages a connected WebSocket client lost because it read too slowly.',
    registers: [this.registry],
  });

  /** Restart count last seen per stream, to turn StreamStatus.restarts into counter increments. */
  private readonly restartsSeen = new Map<string, number>();

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Creates every per-stream series at 0, so rates and absence alerts work from the start. */
  addStream(stream: string): void {
    assertStreamName(stream);
    this.segments.inc({ stream }, 0);
    this.streamRestarts.inc({ stream }, 0);
    this.streamUp.set({ stream }, 0);
    for (const modality of MODALITIES) this.events.inc({ stream, modality }, 0);
    for (const reason of SEGMENT_DROP_REASONS) this.segmentsDropped.inc({ stream, reason }, 0);
    this.restartsSeen.set(stream, 0);
  }

  /** Removes a stream's series (runtime removal), so no stale series lingers. */
  removeStream(stream: string): void {
    for (const metric of [this.segments, this.streamRestarts, this.streamUp, this.segmentLatency]) {
      metric.remove({ stream });
    }
    for (const modality of MODALITIES) this.events.remove({ stream, modality });
    for (const reason of SEGMENT_DROP_REASONS) this.segmentsDropped.remove({ stream, reason });
    this.restartsSeen.delete(stream);
  }

  /** Records the execution provider a model got (cuda, webgpu or cpu). */
  modelProvider(model: string, provider: string): void {
    this.modelProviders.set({ model, provider }, 1);
  }

  observeStage(stage: Stage, seconds: number): void {
    this.stageDuration.observe({ stage }, seconds);
  }

  segmentParsed(stream: string): void {
    assertStreamName(stream);
    this.segments.inc({ stream });
  }

  segmentDropped(stream: string, reason: SegmentDropReason, count = 1): void {
    assertStreamName(stream);
    this.segmentsDropped.inc({ stream, reason }, count);
  }

  eventStarted(stream: string, modality: Modality): void {
    assertStreamName(stream);
    this.events.inc({ stream, modality });
  }

  /** Records segment-end-to-sent latency for a segment that ended at `segmentEndMs` (epoch). */
  observeLatency(stream: string, segmentEndMs: number, sentMs = Date.now()): void {
    assertStreamName(stream);
    this.segmentLatency.observe({ stream }, Math.max(0, sentMs - segmentEndMs) / 1000);
  }

  /** Applies a lifecycle notification: up gauge and restart counter. */
  streamStatus(status: StreamStatus): void {
    const { stream } = status;
    assertStreamName(stream);
    this.streamUp.set({ stream }, status.state === 'up' ? 1 : 0);
    const seen = this.restartsSeen.get(stream) ?? 0;
    if (status.restarts > seen) {
      this.streamRestarts.inc({ stream }, status.restarts - seen);
      this.restartsSeen.set(stream, status.restarts);
    }
  }

  inferenceBatch(size: number): void {
    this.batchSize.observe(size);
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
