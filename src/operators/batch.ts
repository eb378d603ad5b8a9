// Dynamic batching, as DeepStream's nvstreammux does it: items that are ready (from any stream) are
// collected until `maxBatch` of them are waiting or `maxWaitMs` has passed since the first one, then
// run in one call. While every slot is busy, waiting items keep joining the next batch, so batches grow
// exactly when inference is the bottleneck. Results come out in input order, so the order of each
// stream is preserved whatever the concurrency.
import {
  Observable,
  Subject,
  asyncScheduler,
  catchError,
  defaultIfEmpty,
  defer,
  from,
  map,
  of,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { orderedQueue } from './orderedWork.js';

/** Runs one batch; must return exactly one result per item, in the same order. */
export type BatchFn<I, O> = (items: I[]) => ObservableInput<O[]>;

export interface BatchOptions {
  /** Largest batch (default 8). NVIDIA's live advice: the number of sources. */
  maxBatch?: number;
  /** Longest time the first item of a batch waits for company (default 10 ms; 0 = no waiting). */
  maxWaitMs?: number;
  /** Batches in flight at once (default 1); set it to the worker pool size. */
  concurrency?: number;
  /** Called with the size of every batch started (for avvp_inference_batch_size). */
  onBatch?: (size: number) => void;
  /** For virtual-time tests. */
  scheduler?: SchedulerLike;
}

function resolveOptions(
  options: BatchOptions,
): Required<Omit<BatchOptions, 'onBatch'>> & Pick<BatchOptions, 'onBatch'> {
  const resolved = {
    maxBatch: options.maxBatch ?? 8,
    maxWaitMs: options.maxWaitMs ?? 10,
    concurrency: options.concurrency ?? 1,
    scheduler: options.scheduler ?? asyncScheduler,
    onBatch: options.onBatch,
  };
  if (!Number.isInteger(resolved.maxBatch) || resolved.maxBatch < 1) {
    throw new RangeError(`batch: maxBatch must be a positive integer, got ${options.maxBatch}`);
  }
  if (!Number.isFinite(resolved.maxWaitMs) || resolved.maxWaitMs < 0) {
    throw new RangeError(`batch: maxWaitMs must be a number of milliseconds >= 0, got ${options.maxWaitMs}`);
  }
  if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1) {
    throw new RangeError(`batch: concurrency must be a positive integer, got ${options.concurrency}`);
  }
  return resolved;
}

/** Operator: items (from any number of streams) -> results of `run`, batched, in input order. */
export function batch<I, O>(run: BatchFn<I, O>, options: BatchOptions = {}): OperatorFunction<I, O> {
  const { maxBatch, maxWaitMs, concurrency, scheduler, onBatch } = resolveOptions(options);
  return (source) =>
    new Observable<O>((subscriber) =>
      orderedQueue<I, O[], O>(source, subscriber, concurrency, (pump) => {
        // `collecting` is the partial batch; it becomes `due` when its first item has waited maxWaitMs.
        let collecting: I[] = [];
        let due = false;
        let timer: Subscription | undefined;
        const full: I[][] = [];

        const takeCollecting = (): I[] => {
          const items = collecting;
          collecting = [];
          due = false;
          timer?.unsubscribe();
          timer = undefined;
          return items;
        };

        const job = (items: I[]) => {
          onBatch?.(items.length);
          return {
            run: () => run(items),
            outputs: (emitted: O[][]) => {
              const results = emitted[emitted.length - 1];
              if (!results || results.length !== items.length) throw mismatch(results?.length, items.length);
              return results;
            },
          };
        };

        return {
          push: (item) => {
            collecting.push(item);
            if (collecting.length >= maxBatch) full.push(takeCollecting());
            else if (collecting.length === 1) {
              if (maxWaitMs === 0) due = true;
              else
                timer = scheduler.schedule(() => {
                  timer = undefined;
                  due = true;
                  pump();
                }, maxWaitMs);
            }
          },
          next: (sourceDone) => {
            if (full.length > 0) return job(full.shift()!);
            if (collecting.length > 0 && (due || sourceDone)) return job(takeCollecting());
            return undefined;
          },
          empty: () => full.length === 0 && collecting.length === 0,
          stop: () => timer?.unsubscribe(),
        };
      }),
    );
}

/** A batcher shared by many per-stream pipelines: each caller gets its own results back. */
export interface SharedBatcher<I, O> {
  /** Submits items (e.g. one stream's ready items) and emits their results, in order, then completes. */
  run: (items: I[]) => Observable<O[]>;
  /** Stops accepting items; pending ones still finish. */
  close: () => void;
}

type Outcome<O> = { ok: O } | { err: unknown };

interface Pending<I, O> {
  item: I;
  deliver: (outcome: Outcome<O>) => void;
}

/**
 * Cross-stream batching for pipelines that run separately per stream (live sources): every stream's
 * pipeline calls `run`, and items from all of them are batched together by the `batch` operator.
 * `run` has the BatchFn shape itself, so it can stand wherever a batch function is expected.
 * A failed batch fails only the callers whose items were in it.
 */
export function createSharedBatcher<I, O>(
  fn: BatchFn<I, O>,
  options: BatchOptions = {},
): SharedBatcher<I, O> {
  const submissions = new Subject<Pending<I, O>>();
  const runBatch = (pending: Pending<I, O>[]) =>
    from(defer(() => fn(pending.map((p) => p.item)))).pipe(
      defaultIfEmpty(undefined),
      map((results) => {
        if (!results || results.length !== pending.length) throw mismatch(results?.length, pending.length);
        return pending.map((p, i) => ({ p, outcome: { ok: results[i] } as Outcome<O> }));
      }),
      catchError((err: unknown) => of(pending.map((p) => ({ p, outcome: { err } as Outcome<O> })))),
    );
  submissions.pipe(batch(runBatch, options)).subscribe(({ p, outcome }) => p.deliver(outcome));

  return {
    run: (items) =>
      new Observable<O[]>((subscriber) => {
        if (submissions.closed || submissions.isStopped) {
          subscriber.error(new Error('batch: the shared batcher is closed'));
          return;
        }
        const results = new Array<O>(items.length);
        let remaining = items.length;
        let failed = false;
        if (remaining === 0) {
          subscriber.next([]);
          subscriber.complete();
          return;
        }
        items.forEach((item, i) =>
          submissions.next({
            item,
            deliver: (outcome) => {
              if (failed) return;
              if ('err' in outcome) {
                failed = true;
                subscriber.error(outcome.err);
                return;
              }
              results[i] = outcome.ok;
              if (--remaining === 0) {
                subscriber.next(results);
                subscriber.complete();
              }
            },
          }),
        );
      }),
    close: () => submissions.complete(),
  };
}

function mismatch(results: number | undefined, items: number): Error {
  return new Error(
    `batch: the batch function returned ${results ?? 'no'} results for ${items} items; ` +
      'it must return one result per item, in order',
  );
}
