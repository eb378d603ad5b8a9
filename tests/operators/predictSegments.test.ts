import { describe, expect, it } from 'vitest';
import { Subject, from, lastValueFrom, tap, toArray } from 'rxjs';
import { decodeEvents } from '../../src/operators/decodeEvents.js';
import {
  predictSegments,
  type WindowHead,
  type WindowProbabilities,
} from '../../src/operators/predictSegments.js';
import { slidingWindow, type FeatureWindow } from '../../src/operators/window.js';
import type { Features, SegmentPrediction } from '../../src/types.js';

const CLASSES = ['dog', 'car'];

function features(stream: string, indices: number[], flagged: number[] = []): Features[] {
  return indices.map((index) => ({
    stream,
    index,
    t0: index,
    t1: index + 1,
    wallclock: 5000 + index * 1000,
    audio: Float32Array.of(index),
    ...(flagged.includes(index) ? { discontinuity: true } : {}),
  }));
}

/**
 * A head whose output says which window scored each position: audio[dog] = newest index / 100,
 * visual[dog] = position / 100, car = 0. That lets a test see exactly when each prediction was made.
 */
function tracingHead(calls: number[] = []): WindowHead {
  return async (windows) => {
    calls.push(windows.length);
    return windows.map((w): WindowProbabilities => {
      const t = w.items.length;
      const audio = new Float32Array(t * 2);
      const visual = new Float32Array(t * 2);
      for (let p = 0; p < t; p++) {
        audio[p * 2] = w.items[t - 1].index / 100;
        visual[p * 2] = p / 100;
      }
      return { audio, visual };
    });
  };
}

async function run(input: Features[], lookahead: number, size = 4, head = tracingHead()) {
  const out = await lastValueFrom(
    from(input).pipe(
      slidingWindow<Features>(size),
      predictSegments({ head, classes: CLASSES, lookahead }),
      toArray(),
    ),
  );
  return out;
}

/** "segment k <- window ending at n" for each prediction. */
function scoredBy(predictions: SegmentPrediction[]): string[] {
  return predictions.map((p) => `${p.stream}:${p.index}<-${Math.round(p.audio[0] * 100)}`);
}

describe('predictSegments with lookahead', () => {
  it('L = 0 predicts each segment from the window that ends at it', async () => {
    expect(scoredBy(await run(features('cam', [0, 1, 2, 3, 4]), 0))).toEqual([
      'cam:0<-0',
      'cam:1<-1',
      'cam:2<-2',
      'cam:3<-3',
      'cam:4<-4',
    ]);
  });

  it('L = 2 predicts segment k once k + 2 has arrived, and flushes the tail at the end', async () => {
    const out = await run(features('cam', [0, 1, 2, 3, 4, 5]), 2);
    expect(scoredBy(out)).toEqual(['cam:0<-2', 'cam:1<-3', 'cam:2<-4', 'cam:3<-5', 'cam:4<-5', 'cam:5<-5']);
    // Each prediction reads the head's row for that segment's position in the window.
    const positions = out.map((p) => Math.round(p.visual[0] * 100));
    expect(positions).toEqual([1, 1, 1, 1, 2, 3]);
  });

  it('emits predictions with the segment identity, times and a min(audio, visual) audio-visual row', async () => {
    const [first] = await run(features('cam', [0, 1, 2]), 1);
    expect(first).toMatchObject({ stream: 'cam', index: 0, t0: 0, t1: 1, wallclock: 5000, classes: CLASSES });
    // Window [0, 0, 0, 1] scores segment 0 at position 2: audio 0.01, visual 0.02.
    expect(Array.from(first.audioVisual)).toEqual([Math.fround(0.01), 0]);
    const head: WindowHead = async (ws) =>
      ws.map(() => ({
        audio: new Float32Array(8).fill(0.8),
        visual: new Float32Array(8).fill(0.6),
      }));
    const [p] = await run(features('cam', [0]), 0, 4, head);
    expect(Array.from(p.audioVisual)).toEqual([Math.fround(0.6), Math.fround(0.6)]);
  });

  it('uses the head audio-visual output when it has one', async () => {
    const head: WindowHead = async (ws) =>
      ws.map(() => ({
        audio: new Float32Array(8),
        visual: new Float32Array(8),
        audioVisual: new Float32Array(8).fill(1),
      }));
    const [p] = await run(features('cam', [0]), 0, 4, head);
    expect(Array.from(p.audioVisual)).toEqual([1, 1]);
  });

  it('flushes pending segments before a gap and starts afresh after it', async () => {
    const out = await run(features('cam', [0, 1, 2, 10, 11, 12, 13]), 2);
    expect(scoredBy(out)).toEqual([
      'cam:0<-2',
      'cam:1<-2', // flushed by the gap
      'cam:2<-2',
      'cam:10<-12',
      'cam:11<-13',
      'cam:12<-13',
      'cam:13<-13',
    ]);
  });

  it('passes a flagged discontinuity on to the prediction', async () => {
    const out = await run(features('cam', [0, 1, 2], [1]), 0);
    expect(out.map((p) => p.discontinuity ?? false)).toEqual([false, true, false]);
  });

  it('handles interleaved streams independently, each in order', async () => {
    const a = features('a', [0, 1, 2, 3]);
    const b = features('b', [0, 1, 2, 3]);
    const out = await run(
      a.flatMap((f, i) => [f, b[i]]),
      1,
    );
    expect(scoredBy(out.filter((p) => p.stream === 'a'))).toEqual(['a:0<-1', 'a:1<-2', 'a:2<-3', 'a:3<-3']);
    expect(scoredBy(out.filter((p) => p.stream === 'b'))).toEqual(['b:0<-1', 'b:1<-2', 'b:2<-3', 'b:3<-3']);
  });

  it('batches head calls across windows that are ready together', async () => {
    const calls: number[] = [];
    await run(features('cam', [0, 1, 2, 3, 4, 5, 6, 7]), 1, 4, tracingHead(calls));
    expect(calls.reduce((a, b) => a + b, 0)).toBe(8);
    expect(Math.max(...calls)).toBeGreaterThan(1);
  });

  it('emits a prediction as soon as its lookahead arrives, before the input ends', async () => {
    const windows = await lastValueFrom(
      from(features('cam', [0, 1, 2])).pipe(slidingWindow<Features>(4), toArray()),
    );
    const input = new Subject<FeatureWindow<Features>>();
    const seen: number[] = [];
    const done = new Promise<void>((resolve) =>
      input
        .pipe(
          predictSegments({ head: tracingHead(), classes: CLASSES, lookahead: 1, batch: { maxWaitMs: 0 } }),
        )
        .subscribe({ next: (p) => seen.push(p.index), complete: resolve }),
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    input.next(windows[0]);
    await settle();
    expect(seen).toEqual([]);
    input.next(windows[1]);
    await settle();
    expect(seen).toEqual([0]);
    input.complete();
    await done;
    expect(seen).toEqual([0, 1]);
  });

  it('predicts the segments waiting for lookahead when flushOn names their stream', async () => {
    const windows = await lastValueFrom(
      from(features('cam', [0, 1, 2, 3, 4])).pipe(slidingWindow<Features>(4), toArray()),
    );
    const input = new Subject<FeatureWindow<Features>>();
    const down = new Subject<string>();
    const seen: string[] = [];
    const events: string[] = [];
    const predictions = input.pipe(
      predictSegments({
        head: tracingHead(),
        classes: CLASSES,
        lookahead: 2,
        batch: { maxWaitMs: 0 },
        flushOn: down,
      }),
      tap((p) => seen.push(`${p.index}<-${Math.round(p.audio[0] * 100)}`)),
    );
    // The same observable closes the events after predictSegments has flushed: the event ends at segment 4.
    predictions
      .pipe(decodeEvents({ thresholds: { on: 0.001, off: 0.0005 }, closeOn: down }))
      .subscribe((e) => events.push(`${e.phase} ${e.start}-${e.end}`));
    for (const w of windows) input.next(w);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['0<-2', '1<-3', '2<-4']);
    down.next('other'); // another stream: nothing happens here
    down.next('cam');
    expect(seen).toEqual(['0<-2', '1<-3', '2<-4', '3<-4', '4<-4']);
    expect(events[events.length - 1]).toBe('end 0-5');
  });

  it('rejects bad options and bad head output with clear errors', async () => {
    expect(() => predictSegments({ head: tracingHead(), classes: CLASSES, lookahead: -1 })).toThrow(
      /lookahead must be/,
    );
    expect(() => predictSegments({ head: tracingHead(), classes: CLASSES, lookahead: 0.5 })).toThrow(
      /lookahead/,
    );
    expect(() => predictSegments({ head: tracingHead(), classes: [] })).toThrow(/no classes/);
    await expect(run(features('cam', [0]), 4, 4)).rejects.toThrow(
      /lookahead 4 must be smaller than the window size 4/,
    );
    const short: WindowHead = async (ws) =>
      ws.map(() => ({ audio: new Float32Array(3), visual: new Float32Array(8) }));
    await expect(run(features('cam', [0]), 0, 4, short)).rejects.toThrow(
      /returned 3 audio values for a window of 4 segments x 2 classes \(expected 8\)/,
    );
    const missing = (async (ws: unknown[]) => ws.map(() => ({ audio: [0.5] }))) as unknown as WindowHead;
    await expect(run(features('cam', [0]), 0, 4, missing)).rejects.toThrow(/must return Float32Array/);
    const wrongCount: WindowHead = async () => [];
    await expect(run(features('cam', [0]), 0, 4, wrongCount)).rejects.toThrow(/one result per item/);
  });
});
