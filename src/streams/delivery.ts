// Hands segments to the subscriber under one of two policies:
// - backpressure (files): segments wait in a queue and the source is paused while anything
//   waits, so a slow consumer slows decoding and nothing is dropped;
// - drop-oldest (live): the queue is bounded; on overflow the oldest waiting segment is dropped,
//   counted, and the next delivered segment carries `discontinuity: true`.
// A consumer that finishes segments asynchronously reports each one on `consumed`; at most
// `maxPending` un-acknowledged segments are out at a time. Without `consumed`, a segment counts
// as consumed when the subscriber's next() returns. With `pace`, a segment is not delivered
// before its end time in real time (files with `realtime: true`).
import type { Observable, Subscriber, Subscription } from 'rxjs';
import type { Segment } from '../types.js';

export interface DeliveryOptions {
  policy: 'backpressure' | 'drop-oldest';
  /** Segments delivered but not yet acknowledged on `consumed`. */
  maxPending: number;
  /** drop-oldest: how many segments may wait. */
  queueSize: number;
  consumed?: Observable<unknown>;
  /** Epoch ms of media time 0: deliver segment k no earlier than paceStartMs + t1 * 1000. */
  paceStartMs?: number;
  /** backpressure: called with true when the source should pause, false when it may go on. */
  onPressure?(paused: boolean): void;
  onDrop?(totalDropped: number): void;
}

export class Delivery {
  private readonly queue: Segment[] = [];
  private pending = 0;
  private dropped = 0;
  private gapBeforeNext = false;
  private ending: { error?: unknown } | null = null;
  private paused = false;
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly ackSubscription: Subscription | null;

  constructor(
    private readonly subscriber: Subscriber<Segment>,
    private readonly opts: DeliveryOptions,
  ) {
    this.ackSubscription =
      opts.consumed?.subscribe(() => {
        this.pending = Math.max(0, this.pending - 1);
        this.pump();
      }) ?? null;
  }

  /** Paced delivery from a new media-time origin (a restarted source); no-op without pacing. */
  repace(startMs: number): void {
    if (this.opts.paceStartMs === undefined) return;
    this.opts.paceStartMs = startMs;
    this.pump();
  }

  get droppedCount(): number {
    return this.dropped;
  }

  offer(segment: Segment): void {
    if (this.ending || this.subscriber.closed) return;
    this.queue.push(segment);
    if (this.opts.policy === 'drop-oldest' && this.queue.length > this.opts.queueSize) {
      this.queue.shift();
      this.dropped++;
      this.gapBeforeNext = true;
      this.opts.onDrop?.(this.dropped);
    }
    this.pump();
  }

  /** Completes (or errors) once every waiting segment has been delivered. */
  end(error?: unknown): void {
    if (this.ending) return;
    this.ending = error === undefined ? {} : { error };
    this.pump();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ackSubscription?.unsubscribe();
    this.queue.length = 0;
  }

  private pump(): void {
    // An acknowledgement made synchronously inside next() must not deliver re-entrantly.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.deliverReady();
    } finally {
      this.pumping = false;
    }
    this.setPressure(this.queue.length > 0);
    if (this.ending && this.queue.length === 0 && !this.subscriber.closed) {
      if (this.ending.error === undefined) this.subscriber.complete();
      else this.subscriber.error(this.ending.error);
    }
  }

  private deliverReady(): void {
    while (this.queue.length > 0 && !this.subscriber.closed) {
      if (this.opts.consumed && this.pending >= this.opts.maxPending) break;
      const wait = this.waitMs(this.queue[0]);
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        break;
      }
      const segment = this.queue.shift()!;
      if (this.gapBeforeNext) {
        segment.discontinuity = true;
        this.gapBeforeNext = false;
      }
      if (this.opts.consumed) this.pending++;
      this.subscriber.next(segment);
    }
  }

  private waitMs(segment: Segment): number {
    if (this.opts.paceStartMs === undefined) return 0;
    return this.opts.paceStartMs + segment.t1 * 1000 - Date.now();
  }

  private setPressure(paused: boolean): void {
    if (this.opts.policy !== 'backpressure' || paused === this.paused) return;
    this.paused = paused;
    this.opts.onPressure?.(paused);
  }
}
