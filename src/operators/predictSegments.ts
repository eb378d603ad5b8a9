// The parser stage (LINK / HAN heads): windows of T features -> per-segment probabilities, with a
// configurable lookahead L. The head sees the window ending at the newest segment n and scores all T
// positions; the prediction for segment k is taken from the window that ends at k + L, i.e. once L
// later seconds are known. L = 0 answers fastest from past context only; larger L costs L seconds of
// latency and lets the head use what happens next (see docs/runtime.md). Segments still waiting for
// their lookahead are predicted from the last window at the end of the stream or before a gap.
import { Observable, from, map, type OperatorFunction } from 'rxjs';
import type { Features, SegmentPrediction } from '../types.js';
import { batch, type BatchFn, type BatchOptions } from './batch.js';
import type { FeatureWindow } from './window.js';

/** A head's output for one window: row-major [T, C] probabilities per modality. */
export interface WindowProbabilities {
  audio: Float32Array;
  visual: Float32Array;
  /** When the head has no audio-visual output, min(audio, visual) is used: audible AND visible. */
  audioVisual?: Float32Array;
}

/** Any async window-level head: one WindowProbabilities per window, in order. */
export type WindowHead = BatchFn<FeatureWindow<Features>, WindowProbabilities>;

export interface PredictSegmentsOptions {
  head: WindowHead;
  /** Class names, in the order of the head's output columns. */
  classes: readonly string[];
  /** Seconds of future context per prediction (default 2); must be smaller than the window size. */
  lookahead?: number;
  /** Batching of head calls (default: up to 8 windows, 10 ms wait). */
  batch?: BatchOptions;
  /**
   * Stream names whose segments still waiting for lookahead must be predicted now, from what is
   * known, e.g. when a live source goes down (otherwise they wait for the source to come back).
   */
  flushOn?: Observable<string>;
}

export const DEFAULT_LOOKAHEAD = 2;

interface Scored {
  window: FeatureWindow<Features>;
  probs: WindowProbabilities;
}

interface StreamState extends Scored {
  lastEmitted: number;
}

/** Operator: windows (one or many streams) -> SegmentPrediction, each segment once, in order. */
export function predictSegments(
  options: PredictSegmentsOptions,
): OperatorFunction<FeatureWindow<Features>, SegmentPrediction> {
  const lookahead = options.lookahead ?? DEFAULT_LOOKAHEAD;
  if (!Number.isInteger(lookahead) || lookahead < 0) {
    throw new RangeError(
      `predictSegments: lookahead must be a whole number of segments >= 0, got ${options.lookahead}`,
    );
  }
  const classes = options.classes;
  if (classes.length === 0)
    throw new RangeError('predictSegments: the head has no classes; pass its class list');
  const scoreBatch = (windows: FeatureWindow<Features>[]) =>
    from(options.head(windows)).pipe(
      map((all) => all.map((probs, i): Scored => ({ window: windows[i], probs }))),
    );

  return (source) =>
    new Observable<SegmentPrediction>((subscriber) => {
      const streams = new Map<string, StreamState>();

      const emitThrough = (state: StreamState, upTo: number) => {
        const { window, probs } = state;
        const size = window.items.length;
        for (let p = size - window.valid; p < size; p++) {
          const item = window.items[p];
          if (item.index <= state.lastEmitted || item.index > upTo) continue;
          subscriber.next(prediction(item, probs, p, classes));
          state.lastEmitted = item.index;
        }
      };

      const scored = source.pipe(batch(scoreBatch, options.batch)).subscribe({
        next: ({ window, probs }) => {
          const size = window.items.length;
          const problem =
            lookahead >= size
              ? `lookahead ${lookahead} must be smaller than the window size ${size}`
              : shapeProblem(probs, size, classes.length);
          if (problem) {
            subscriber.error(new Error(`predictSegments: stream "${window.stream}": ${problem}`));
            return;
          }
          const previous = streams.get(window.stream);
          // Before a gap, the segments still waiting for lookahead get the best answer there is.
          if (previous && window.restarted) emitThrough(previous, Infinity);
          const state: StreamState = {
            window,
            probs,
            lastEmitted: previous && !window.restarted ? previous.lastEmitted : -Infinity,
          };
          streams.set(window.stream, state);
          emitThrough(state, window.items[size - 1].index - lookahead);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          for (const state of streams.values()) emitThrough(state, Infinity);
          subscriber.complete();
        },
      });
      const flushing = options.flushOn?.subscribe({
        next: (stream) => {
          const state = streams.get(stream);
          if (state) emitThrough(state, Infinity);
        },
        error: (err) => subscriber.error(err),
      });
      return () => {
        scored.unsubscribe();
        flushing?.unsubscribe();
      };
    });
}

function shapeProblem(probs: WindowProbabilities, size: number, classCount: number): string | undefined {
  if (!(probs?.audio instanceof Float32Array) || !(probs.visual instanceof Float32Array)) {
    return 'the head must return Float32Array audio and visual probabilities for every window';
  }
  const expected = size * classCount;
  for (const [name, values] of Object.entries(probs) as [string, Float32Array | undefined][]) {
    if (values && values.length !== expected) {
      return (
        `the head returned ${values.length} ${name} values for a window of ${size} segments x ` +
        `${classCount} classes (expected ${expected}); check the head's output shape and class list`
      );
    }
  }
  return undefined;
}

function prediction(
  item: Features,
  probs: WindowProbabilities,
  position: number,
  classes: readonly string[],
): SegmentPrediction {
  const c = classes.length;
  const row = (values: Float32Array) => values.slice(position * c, (position + 1) * c);
  const audio = row(probs.audio);
  const visual = row(probs.visual);
  const audioVisual = probs.audioVisual
    ? row(probs.audioVisual)
    : audio.map((a, i) => Math.min(a, visual[i]));
  return {
    stream: item.stream,
    index: item.index,
    t0: item.t0,
    t1: item.t1,
    wallclock: item.wallclock,
    classes,
    audio,
    visual,
    audioVisual,
    ...(item.discontinuity ? { discontinuity: true } : {}),
  };
}
