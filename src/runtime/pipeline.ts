// The operator chain of one stream, shared by `avvp serve` (live, many streams) and `avvp parse`
// (offline, one file): overload -> encode -> slidingWindow -> predictSegments -> decodeEvents. Inference runs in
// one worker pool behind two shared batchers (encoders, head), so segments of every stream batch
// together. The chain emits every parsed segment and every event; the caller decides where they go.
import { firstValueFrom, from, map, merge, share, tap, type Observable } from 'rxjs';
import { segmentAudioEncoder, segmentVisualEncoder } from '../models/encoders/index.js';
import { InferencePool } from '../pool/pool.js';
import type { Provider } from '../engine/session.js';
import { createSharedBatcher, type SharedBatcher } from '../operators/batch.js';
import { decodeEvents } from '../operators/decodeEvents.js';
import { encodeBatch } from '../operators/encode.js';
import { timed } from '../operators/instrument.js';
import { onnxWindowHead } from '../operators/onnxHead.js';
import { overload } from '../operators/overload.js';
import {
  predictSegments,
  DEFAULT_LOOKAHEAD,
  type WindowProbabilities,
} from '../operators/predictSegments.js';
import { slidingWindow, type FeatureWindow } from '../operators/window.js';
import type { Stage } from '../sinks/metrics.js';
import type { AvEvent, Features, Segment, SegmentPrediction } from '../types.js';
import type { RuntimeModels } from './models.js';

export interface InferenceOptions {
  /** Worker threads (default min(2, cores)) and onnxruntime threads per worker (default 1). */
  workers?: number;
  intraOpThreads?: number;
  /** Execution providers to try, in order (default cuda, then cpu). */
  providers?: readonly Provider[];
  /**
   * Largest cross-stream encoder batch (default 2 on the CPU, which gains nothing from more,
   * docs/runtime.md; 32 when the encoders run on a GPU, where a call costs about the same for 1 or
   * 32 segments, docs/gpu.md).
   */
  encodeBatch?: number;
  /** Largest cross-stream head batch (default 16, 64 on a GPU: per-call overhead dominates). */
  headBatch?: number;
  /** Longest an item waits for a batch to fill (default 10 ms, well under the 1 s segment period). */
  maxWaitMs?: number;
  observeStage?: (stage: Stage, seconds: number) => void;
  onBatch?: (size: number) => void;
  log?: (line: string) => void;
}

/** The worker pool and the shared batchers of one runtime. */
export class Inference {
  private constructor(
    readonly models: RuntimeModels,
    readonly pool: InferencePool,
    readonly encode: SharedBatcher<Segment, Features>,
    readonly head: SharedBatcher<FeatureWindow<Features>, WindowProbabilities>,
  ) {}

  static async create(models: RuntimeModels, o: InferenceOptions = {}): Promise<Inference> {
    const pool = await InferencePool.create({
      models: models.files,
      size: o.workers,
      intraOpNumThreads: o.intraOpThreads,
      providers: o.providers,
      log: o.log,
    });
    const observe = o.observeStage ?? (() => {});
    const encoders = {
      audio: timed(
        'encode_audio',
        observe,
        segmentAudioEncoder((f) => pool.run('audio', f), models.encoders.audio),
      ),
      visual: timed(
        'encode_visual',
        observe,
        segmentVisualEncoder((f) => pool.run('visual', f), models.encoders.visual),
      ),
    };
    const onnxHead = onnxWindowHead((f) => pool.run('head', f), models.io);
    const headFn = timed('parse', observe, (w: FeatureWindow<Features>[]) =>
      firstValueFrom(from(onnxHead(w))),
    );
    const wait = o.maxWaitMs ?? 10;
    const onGpu = (model: string) => pool.modelInfo[model]?.provider !== 'cpu';
    const encode = createSharedBatcher(encodeBatch(encoders), {
      maxBatch: o.encodeBatch ?? (onGpu('audio') && onGpu('visual') ? 32 : 2),
      maxWaitMs: wait,
      concurrency: pool.size,
      onBatch: o.onBatch,
    });
    const head = createSharedBatcher(headFn, {
      maxBatch: o.headBatch ?? (onGpu('head') ? 64 : 16),
      maxWaitMs: wait,
      onBatch: o.onBatch,
    });
    return new Inference(models, pool, encode, head);
  }

  /** Lets queued work finish, then stops the workers. */
  async close(): Promise<void> {
    this.encode.close();
    this.head.close();
    await this.pool.close();
  }
}

export type PipelineOutput =
  { kind: 'segment'; prediction: SegmentPrediction } | { kind: 'event'; event: AvEvent };

export interface PipelineOptions {
  /** Seconds of future context per prediction (default 2). */
  lookahead?: number;
  /** Live: drop the oldest waiting segment when inference falls behind; files: process every one. */
  mode: 'drop-oldest' | 'process-all';
  /** Segments that may wait for inference before the oldest is dropped (default 2). */
  capacity?: number;
  onDrop?: (segment: Segment) => void;
  /** Called once per segment whose features are ready (flow control for files: fromMedia's `consumed`). */
  onEncoded?: () => void;
  /**
   * Stream names whose source went down: the segments waiting for lookahead are predicted now from
   * what is known, then the open events end (instead of holding them through the outage).
   */
  closeEvents?: Observable<string>;
}

/** One stream's chain, from its segments to its parsed segments and events. */
export function streamPipeline(
  segments: Observable<Segment>,
  inference: Inference,
  o: PipelineOptions,
): Observable<PipelineOutput> {
  const { models } = inference;
  const predictions = segments.pipe(
    overload((s: Segment) => inference.encode.run([s]).pipe(map(([f]) => f)), {
      mode: o.mode,
      capacity: o.capacity ?? 2,
      onDrop: (s) => o.onDrop?.(s),
    }),
    tap(() => o.onEncoded?.()),
    slidingWindow<Features>(models.window),
    predictSegments({
      head: inference.head.run,
      classes: models.classes,
      lookahead: o.lookahead ?? DEFAULT_LOOKAHEAD,
      // Cross-stream batching happens in the shared batcher; nothing to gain per stream.
      batch: { maxBatch: 1, maxWaitMs: 0 },
      // Subscribed before decodeEvents' closeOn (which subscribes after its source), so the flushed
      // predictions reach the event decoder before it closes the stream's events.
      flushOn: o.closeEvents,
    }),
    share(),
  );
  const events = predictions.pipe(
    decodeEvents({ classThresholds: models.classThresholds, closeOn: o.closeEvents }),
  );
  return merge(
    predictions.pipe(map((prediction): PipelineOutput => ({ kind: 'segment', prediction }))),
    events.pipe(map((event): PipelineOutput => ({ kind: 'event', event }))),
  );
}
