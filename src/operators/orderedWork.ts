// Shared by batch and overload: runs several jobs at once and emits their outputs in the order the
// jobs were started, whatever order they finish in (so each stream's order survives concurrency), and
// orderedQueue, the subscribe / pump / complete / teardown plumbing both operators are built on.
import {
  defer,
  from,
  type Observable,
  type ObservableInput,
  type Subscriber,
  type Subscription,
  type TeardownLogic,
} from 'rxjs';

export class OrderedWork<O> {
  /** Jobs started and not yet completed. */
  active = 0;
  private readonly running = new Set<Subscription>();
  private readonly finished = new Map<number, O[]>();
  private nextToStart = 0;
  private nextToEmit = 0;

  constructor(private readonly out: Subscriber<O>) {}

  /**
   * Subscribes to `work()`; when it completes, `toOutputs(values)` are emitted after the outputs of
   * every job started earlier, then `onFinished` runs. An error (from the job or from `toOutputs`)
   * goes to the output subscriber.
   */
  start<R>(work: () => ObservableInput<R>, toOutputs: (values: R[]) => O[], onFinished: () => void): void {
    const seq = this.nextToStart++;
    const values: R[] = [];
    let completed = false;
    let subscription: Subscription | undefined = undefined;
    this.active++;
    subscription = from(defer(work)).subscribe({
      next: (value) => values.push(value),
      error: (err) => this.out.error(err),
      complete: () => {
        completed = true;
        if (subscription) this.running.delete(subscription);
        this.active--;
        try {
          this.finished.set(seq, toOutputs(values));
        } catch (err) {
          this.out.error(err);
          return;
        }
        this.emitReady();
        onFinished();
      },
    });
    // A job that completed synchronously is already done and must not be tracked.
    if (!completed) this.running.add(subscription);
  }

  /** Unsubscribes from every running job (teardown). */
  stop(): void {
    for (const subscription of this.running) subscription.unsubscribe();
    this.running.clear();
  }

  private emitReady(): void {
    while (this.finished.has(this.nextToEmit)) {
      const outputs = this.finished.get(this.nextToEmit)!;
      this.finished.delete(this.nextToEmit++);
      for (const o of outputs) this.out.next(o);
    }
  }
}

/** One unit of work a queue hands out: run it, then turn what it emitted into outputs. */
export interface QueuedJob<R, O> {
  run: () => ObservableInput<R>;
  outputs: (values: R[]) => O[];
}

/** The policy of an operator built on orderedQueue: what to do with an item, what to start next. */
export interface QueuePolicy<I, R, O> {
  /** Takes an item from upstream (queue it, drop another, start a timer that calls pump...). */
  push(item: I): void;
  /** The next job to start, or undefined when none is ready yet (`sourceDone`: upstream completed). */
  next(sourceDone: boolean): QueuedJob<R, O> | undefined;
  /** True when nothing is waiting. */
  empty(): boolean;
  /** Extra teardown (timers). */
  stop?(): void;
}

/**
 * The plumbing that batch and overload share: subscribes upstream, starts up to `concurrency` jobs
 * from the policy, emits their outputs in start order, completes when upstream has completed and all
 * work is done, and tears everything down on unsubscribe. `policy(pump)` receives the function that
 * re-checks for work (for timers). Jobs that complete synchronously call pump from inside pump; the
 * outer loop carries on instead, so a long backlog cannot grow the call stack.
 */
export function orderedQueue<I, R, O>(
  source: Observable<I>,
  subscriber: Subscriber<O>,
  concurrency: number,
  policy: (pump: () => void) => QueuePolicy<I, R, O>,
): TeardownLogic {
  const work = new OrderedWork<O>(subscriber);
  let sourceDone = false;
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    while (work.active < concurrency && !subscriber.closed) {
      const job = queue.next(sourceDone);
      if (!job) break;
      work.start(job.run, job.outputs, pump);
    }
    pumping = false;
    if (sourceDone && work.active === 0 && queue.empty()) subscriber.complete();
  };
  const queue = policy(pump);
  const upstream = source.subscribe({
    next: (item) => {
      queue.push(item);
      pump();
    },
    error: (err) => subscriber.error(err),
    complete: () => {
      sourceDone = true;
      pump();
    },
  });
  return () => {
    upstream.unsubscribe();
    queue.stop?.();
    work.stop();
  };
}
