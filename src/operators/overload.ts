// The bounded queue in front of inference. A live source produces a segment every second whatever
// happens downstream; when inference falls behind, waiting segments would pile up and every answer
// would come later than the one before. Instead at most `capacity` segments wait, and when another
// arrives the OLDEST waiting one is dropped (it is the least useful to a live viewer) and counted, so
// latency stays bounded by (capacity + concurrency) x processing time. Files are different: nothing
// is lost by waiting, so mode 'process-all' never drops and reports the backlog instead, which an
// ingest that can pause uses as back-pressure. Apply it per stream (inside each stream's pipeline),
// so that one busy camera never costs another its segments.
import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import { orderedQueue } from './orderedWork.js';

export type OverloadMode = 'drop-oldest' | 'process-all';

export interface OverloadOptions<I> {
  /** 'drop-oldest' for live sources (default), 'process-all' for files. */
  mode?: OverloadMode;
  /** How many items may wait for a free slot before the oldest is dropped (default 2; unused by 'process-all'). */
  capacity?: number;
  /** How many items are processed at once (default 1). */
  concurrency?: number;
  /** Called for every dropped item with the running total, for metrics and for clients. */
  onDrop?: (item: I, droppedSoFar: number) => void;
  /** Called whenever the number of waiting items changes (queue-depth gauge, back-pressure). */
  onBacklog?: (waiting: number) => void;
}

/** Operator: like concatMap(project), but with a bounded, drop-oldest waiting queue. */
export function overload<I, O>(
  project: (item: I) => ObservableInput<O>,
  options: OverloadOptions<I> = {},
): OperatorFunction<I, O> {
  const mode = options.mode ?? 'drop-oldest';
  const capacity = options.capacity ?? 2;
  const concurrency = options.concurrency ?? 1;
  if (mode !== 'drop-oldest' && mode !== 'process-all') {
    throw new RangeError(`overload: mode must be 'drop-oldest' or 'process-all', got '${String(mode)}'`);
  }
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`overload: capacity must be a positive integer, got ${options.capacity}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`overload: concurrency must be a positive integer, got ${options.concurrency}`);
  }

  return (source) =>
    new Observable<O>((subscriber) =>
      orderedQueue<I, O, O>(source, subscriber, concurrency, () => {
        const waiting: I[] = [];
        let dropped = 0;
        const backlogChanged = () => options.onBacklog?.(waiting.length);
        return {
          push: (item) => {
            if (mode === 'drop-oldest' && waiting.length >= capacity) {
              const oldest = waiting.shift()!;
              dropped++;
              options.onDrop?.(oldest, dropped);
            }
            waiting.push(item);
            backlogChanged();
          },
          next: () => {
            if (waiting.length === 0) return undefined;
            const item = waiting.shift()!;
            backlogChanged();
            return { run: () => project(item), outputs: (results: O[]) => results };
          },
          empty: () => waiting.length === 0,
        };
      }),
    );
}
