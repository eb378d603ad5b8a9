// Stage timing. Durations go to an injected `observe(stage, seconds)` callback, so the operators do
// not depend on prom-client: the metrics sink passes its histogram's observe (avvp_stage_duration_seconds).
//   timed(stage, observe, fn)         wraps an async function (an encoder, a head call)
//   instrument(stage, inner, options) wraps an operator and times each item from entry to exit
import { Observable, type OperatorFunction } from 'rxjs';

/** `S` lets a sink restrict stage names (the metrics sink takes its own Stage union). */
export type Observe<S extends string = string> = (stage: S, seconds: number) => void;
/** Milliseconds from an arbitrary origin; injectable for virtual-time tests. */
export type Clock = () => number;

const defaultClock: Clock = () => performance.now();

/** Wraps an async function so every successful call's duration is observed under `stage`. */
export function timed<S extends string, A extends unknown[], R>(
  stage: S,
  observe: Observe<S>,
  fn: (...args: A) => Promise<R>,
  clock: Clock = defaultClock,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const started = clock();
    const result = await fn(...args);
    observe(stage, (clock() - started) / 1000);
    return result;
  };
}

export interface InstrumentOptions<I, O, S extends string = string> {
  observe: Observe<S>;
  /** Identity of an input item, e.g. `${stream}:${index}`. */
  keyIn: (item: I) => string;
  /** Identity of an output item; outputs whose key never entered are passed on untimed. */
  keyOut: (item: O) => string;
  clock?: Clock;
  /**
   * Most entry times remembered (default 1024). Items the inner operator swallows (dropped by
   * overload, say) never come out; the oldest entries are forgotten so memory stays bounded.
   */
  maxPending?: number;
}

/**
 * Times each item through `inner` (any operator, 1:1 or not): from the moment an input with key k
 * enters to the moment the first output with key k leaves. With parse, that includes the lookahead wait,
 * which is the latency a client sees.
 */
export function instrument<I, O, S extends string>(
  stage: S,
  inner: OperatorFunction<I, O>,
  options: InstrumentOptions<I, O, S>,
): OperatorFunction<I, O> {
  const clock = options.clock ?? defaultClock;
  const maxPending = options.maxPending ?? 1024;
  return (source) =>
    new Observable<O>((subscriber) => {
      const entered = new Map<string, number>();
      const stamped = new Observable<I>((innerSubscriber) =>
        source.subscribe({
          next: (item) => {
            const key = options.keyIn(item);
            entered.delete(key); // re-inserting moves the key to the newest end
            entered.set(key, clock());
            if (entered.size > maxPending) entered.delete(entered.keys().next().value!);
            innerSubscriber.next(item);
          },
          error: (err) => innerSubscriber.error(err),
          complete: () => innerSubscriber.complete(),
        }),
      );
      return inner(stamped).subscribe({
        next: (out) => {
          const key = options.keyOut(out);
          const started = entered.get(key);
          if (started !== undefined) {
            entered.delete(key);
            options.observe(stage, (clock() - started) / 1000);
          }
          subscriber.next(out);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

/** The usual key: stream and segment index. */
export const segmentKey = (item: { stream: string; index: number }): string => `${item.stream}:${item.index}`;
