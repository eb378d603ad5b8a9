// Sliding window of the last `size` per-segment items of each stream (LINK and HAN look at T = 10
// seconds at once). Gap policy: a gap RESETS the window. Seconds on both sides of a reconnect or of
// dropped segments are not neighbours, and a temporal model must not attend across them as if they
// were. Windows that are not yet full are padded at the front by repeating the oldest real item
// (edge padding keeps the input in distribution, unlike zeros); `valid` says how many items are real.
import { Observable, type OperatorFunction } from 'rxjs';

/** What the window needs to know about an item: its stream, its position, and whether a gap precedes it. */
export interface Sequenced {
  stream: string;
  index: number;
  discontinuity?: boolean;
}

export interface FeatureWindow<T extends Sequenced> {
  stream: string;
  /** Exactly `size` items, oldest first; the newest (the item that triggered this window) is last. */
  items: readonly T[];
  /** How many of the trailing items are real; the leading `size - valid` repeat the oldest real one. */
  valid: number;
  /** True when this window starts a new run: the stream's first item or the first after a gap. */
  restarted: boolean;
}

export const DEFAULT_WINDOW_SIZE = 10;

/**
 * Operator: items of one or many interleaved streams -> one window per item, ending at that item.
 * A gap is an index that is not the previous index + 1, or an item flagged `discontinuity`.
 */
export function slidingWindow<T extends Sequenced>(
  size = DEFAULT_WINDOW_SIZE,
): OperatorFunction<T, FeatureWindow<T>> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`slidingWindow: size must be a positive integer, got ${size}`);
  }
  return (source) =>
    new Observable<FeatureWindow<T>>((subscriber) => {
      const recent = new Map<string, T[]>();
      return source.subscribe({
        next: (item) => {
          const run = recent.get(item.stream);
          const last = run?.[run.length - 1];
          if (last && item.index <= last.index) {
            subscriber.error(
              new Error(
                `slidingWindow: stream "${item.stream}" went back from segment ${last.index} to ${item.index}; ` +
                  'items must arrive in increasing segment order',
              ),
            );
            return;
          }
          const restarted = !last || item.discontinuity === true || item.index !== last.index + 1;
          const current = restarted ? [item] : [...run!.slice(Math.max(0, run!.length - (size - 1))), item];
          recent.set(item.stream, current);
          const padding = new Array<T>(size - current.length).fill(current[0]);
          subscriber.next({
            stream: item.stream,
            items: [...padding, ...current],
            valid: current.length,
            restarted,
          });
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
