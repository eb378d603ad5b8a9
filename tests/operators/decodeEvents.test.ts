import { describe, expect, it } from 'vitest';
import { Subject, from, lastValueFrom, toArray } from 'rxjs';
import { EventDecoder, decodeEvents } from '../../src/operators/decodeEvents.js';
import type { AvEvent, SegmentPrediction } from '../../src/types.js';

const CLASSES = ['dog', 'car'];

/** Predictions for one stream: per segment, [audio, visual] probabilities per class. */
function predictions(
  rows: Array<{ dog?: [number, number]; car?: [number, number] }>,
  options: { stream?: string; firstIndex?: number; gapsBefore?: number[] } = {},
): SegmentPrediction[] {
  const stream = options.stream ?? 'cam';
  let index = options.firstIndex ?? 0;
  return rows.map((row, i) => {
    if (options.gapsBefore?.includes(i)) index += 3;
    const dog = row.dog ?? [0, 0];
    const car = row.car ?? [0, 0];
    const p: SegmentPrediction = {
      stream,
      index,
      t0: index,
      t1: index + 1,
      wallclock: 1_000_000 + index * 1000,
      classes: CLASSES,
      audio: Float32Array.from([dog[0], car[0]]),
      visual: Float32Array.from([dog[1], car[1]]),
      audioVisual: Float32Array.from([Math.min(...dog), Math.min(...car)]),
    };
    index++;
    return p;
  });
}

function decodeAll(preds: SegmentPrediction[], decoder = new EventDecoder()): AvEvent[] {
  return [...preds.flatMap((p) => decoder.push(p)), ...decoder.flush()];
}

/** Compact view: "phase modality label start-end conf". */
function brief(events: AvEvent[]): string[] {
  return events.map(
    (e) => `${e.phase} ${e.modality} ${e.label} ${e.start}-${e.end} ${e.confidence.toFixed(2)}`,
  );
}

describe('EventDecoder', () => {
  it('emits start, updates and end for an audio-only event', () => {
    const events = decodeAll(
      predictions([{}, { dog: [0.9, 0] }, { dog: [0.7, 0] }, { dog: [0.8, 0.1] }, { dog: [0.1, 0] }, {}]),
    );
    expect(brief(events)).toEqual([
      'start audio dog 1-2 0.90',
      'update audio dog 1-3 0.80',
      'update audio dog 1-4 0.80',
      'end audio dog 1-4 0.80',
    ]);
    expect(new Set(events.map((e) => e.id))).toEqual(new Set(['cam:audio:dog:1']));
    expect(events.every((e) => e.wallclockStart === 1_001_000)).toBe(true);
  });

  it('applies hysteresis: values between off and on keep an event open but do not open one', () => {
    const decoder = new EventDecoder({ thresholds: { on: 0.6, off: 0.3 } });
    const events = decodeAll(
      predictions([
        { dog: [0.5, 0] }, // below on: nothing opens
        { dog: [0.65, 0] }, // opens
        { dog: [0.35, 0] }, // above off: holds
        { dog: [0.31, 0] }, // holds
        { dog: [0.29, 0] }, // below off: ends
        { dog: [0.55, 0] }, // below on again: nothing
      ]),
      decoder,
    );
    expect(brief(events).filter((e) => !e.startsWith('update'))).toEqual([
      'start audio dog 1-2 0.65',
      'end audio dog 1-4 0.44',
    ]);
  });

  it('suppresses events shorter than the minimum duration and announces long ones late, from their onset', () => {
    const decoder = new EventDecoder({ minDuration: 3 });
    const events = decodeAll(
      predictions([
        { car: [0, 0.9] },
        { car: [0, 0.9] }, // two seconds only: never reported
        {},
        { car: [0, 0.8] },
        { car: [0, 0.8] },
        { car: [0, 0.8] }, // third second: start, dated from segment 3
        { car: [0, 0.8] },
        {},
      ]),
      decoder,
    );
    expect(brief(events)).toEqual([
      'start visual car 3-6 0.80',
      'update visual car 3-7 0.80',
      'end visual car 3-7 0.80',
    ]);
  });

  it('reports an audio-visual event only where both modalities hold', () => {
    const events = decodeAll(
      predictions([
        { dog: [0.9, 0.1] },
        { dog: [0.9, 0.8] },
        { dog: [0.9, 0.7] },
        { dog: [0.9, 0.1] },
        { dog: [0.1, 0.1] },
      ]),
    );
    const av = events.filter((e) => e.modality === 'audio-visual');
    expect(brief(av)).toEqual([
      'start audio-visual dog 1-2 0.80',
      'update audio-visual dog 1-3 0.75',
      'end audio-visual dog 1-3 0.75',
    ]);
    const audio = events.filter((e) => e.modality === 'audio' && e.phase !== 'update');
    expect(brief(audio)).toEqual(['start audio dog 0-1 0.90', 'end audio dog 0-4 0.90']);
    const visual = events.filter((e) => e.modality === 'visual' && e.phase !== 'update');
    expect(brief(visual)).toEqual(['start visual dog 1-2 0.80', 'end visual dog 1-3 0.75']);
  });

  it('tracks classes independently and orders events by class then modality', () => {
    const events = decodeAll(predictions([{ dog: [0.9, 0], car: [0.9, 0.9] }, {}]));
    expect(brief(events)).toEqual([
      'start audio dog 0-1 0.90',
      'start audio car 0-1 0.90',
      'start visual car 0-1 0.90',
      'start audio-visual car 0-1 0.90',
      'end audio dog 0-1 0.90',
      'end audio car 0-1 0.90',
      'end visual car 0-1 0.90',
      'end audio-visual car 0-1 0.90',
    ]);
  });

  it('closes events at end of stream', () => {
    const decoder = new EventDecoder();
    const preds = predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }]);
    expect(brief(preds.flatMap((p) => decoder.push(p)))).toEqual([
      'start audio dog 0-1 0.90',
      'update audio dog 0-2 0.90',
    ]);
    expect(brief(decoder.flush())).toEqual(['end audio dog 0-2 0.90']);
    expect(decoder.flush()).toEqual([]);
  });

  it('closes events at a gap in segment indices and restarts them with new ids after it', () => {
    const events = decodeAll(
      predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }, { dog: [0.9, 0] }], { gapsBefore: [2] }),
    );
    expect(brief(events)).toEqual([
      'start audio dog 0-1 0.90',
      'update audio dog 0-2 0.90',
      'end audio dog 0-2 0.90',
      'start audio dog 5-6 0.90',
      'end audio dog 5-6 0.90',
    ]);
    expect(events.map((e) => e.id)).toContain('cam:audio:dog:5');
  });

  it('closes events at a flagged discontinuity even when indices are consecutive', () => {
    const preds = predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }]);
    preds[1].discontinuity = true;
    expect(brief(decodeAll(preds))).toEqual([
      'start audio dog 0-1 0.90',
      'end audio dog 0-1 0.90',
      'start audio dog 1-2 0.90',
      'end audio dog 1-2 0.90',
    ]);
  });

  it('drops a pending (not yet announced) event at a gap without reporting it', () => {
    const decoder = new EventDecoder({ minDuration: 2 });
    const events = decodeAll(
      predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }], { gapsBefore: [1] }),
      decoder,
    );
    expect(events).toEqual([]);
  });

  it('keeps streams apart', () => {
    const a = predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }, {}], { stream: 'a' });
    const b = predictions([{}, { dog: [0.9, 0] }, { dog: [0.9, 0] }], { stream: 'b' });
    const interleaved = a.flatMap((p, i) => [p, b[i]]);
    const events = decodeAll(interleaved);
    expect(events.filter((e) => e.stream === 'a').map((e) => `${e.phase} ${e.start}-${e.end}`)).toEqual([
      'start 0-1',
      'update 0-2',
      'end 0-2',
    ]);
    expect(events.filter((e) => e.stream === 'b').map((e) => `${e.phase} ${e.start}-${e.end}`)).toEqual([
      'start 1-2',
      'update 1-3',
      'end 1-3',
    ]);
  });

  it('uses per-class thresholds when given', () => {
    const decoder = new EventDecoder({ classThresholds: { car: { on: 0.95, off: 0.9 } } });
    const events = decodeAll(predictions([{ dog: [0.9, 0], car: [0.9, 0] }, {}]), decoder);
    expect(events.map((e) => e.label)).toEqual(['dog', 'dog']);
  });

  it('an event that reaches on exactly opens; one that falls exactly to off holds', () => {
    const events = decodeAll(predictions([{ dog: [0.5, 0] }, { dog: [0.3, 0] }, { dog: [0.2, 0] }]));
    expect(brief(events)).toEqual([
      'start audio dog 0-1 0.50',
      'update audio dog 0-2 0.40',
      'end audio dog 0-2 0.40',
    ]);
  });

  it('rejects bad options with a message saying what is allowed', () => {
    expect(() => new EventDecoder({ thresholds: { on: 0.3, off: 0.5 } })).toThrow(/0 <= off < on <= 1/);
    expect(() => new EventDecoder({ thresholds: { on: 1.5, off: 0.5 } })).toThrow(/on=1.5/);
    expect(() => new EventDecoder({ classThresholds: { dog: { on: 0.5, off: 0.5 } } })).toThrow(/"dog"/);
    expect(() => new EventDecoder({ minDuration: -1 })).toThrow(/minDuration/);
    expect(() => new EventDecoder({ minDuration: Number.NaN })).toThrow(/minDuration/);
  });

  it('rejects predictions that do not match the class list or are not probabilities', () => {
    const [p] = predictions([{}]);
    expect(() => new EventDecoder().push({ ...p, audio: new Float32Array(3) })).toThrow(
      /3 audio probabilities for 2 classes/,
    );
    expect(() => new EventDecoder().push({ ...p, visual: Float32Array.from([0, Number.NaN]) })).toThrow(
      /visual probability NaN for "car"/,
    );
    expect(() => new EventDecoder().push({ ...p, audio: Float32Array.from([1.2, 0]) })).toThrow(/\[0, 1\]/);
  });

  it('rejects segments that go backwards', () => {
    const decoder = new EventDecoder();
    const [p0, p1] = predictions([{}, {}]);
    decoder.push(p1);
    expect(() => decoder.push(p0)).toThrow(/went back from segment 1 to 0/);
  });
});

describe('decodeEvents operator', () => {
  it('emits the decoder events and ends open events when the input completes', async () => {
    const events = await lastValueFrom(
      from(predictions([{}, { car: [0.8, 0.8] }, { car: [0.8, 0.8] }])).pipe(decodeEvents(), toArray()),
    );
    expect(brief(events)).toEqual([
      'start audio car 1-2 0.80',
      'start visual car 1-2 0.80',
      'start audio-visual car 1-2 0.80',
      'update audio car 1-3 0.80',
      'update visual car 1-3 0.80',
      'update audio-visual car 1-3 0.80',
      'end audio car 1-3 0.80',
      'end visual car 1-3 0.80',
      'end audio-visual car 1-3 0.80',
    ]);
  });

  it("ends a stream's open events when closeOn names it (a live source went down)", () => {
    const predictions$ = new Subject<SegmentPrediction>();
    const close$ = new Subject<string>();
    const seen: string[] = [];
    predictions$
      .pipe(decodeEvents({ closeOn: close$ }))
      .subscribe((e) => seen.push(`${e.phase} ${e.stream} ${e.start}-${e.end}`));
    const a = predictions([{ dog: [0.9, 0] }, { dog: [0.9, 0] }], { stream: 'a' });
    const b = predictions([{ dog: [0.9, 0] }], { stream: 'b' });
    predictions$.next(a[0]);
    predictions$.next(b[0]);
    close$.next('a');
    expect(seen).toEqual(['start a 0-1', 'start b 0-1', 'end a 0-1']);
    // When the source is back, a new event starts with a new id; b was never touched.
    predictions$.next({ ...a[1], index: 5, t0: 5, t1: 6 });
    predictions$.complete();
    expect(seen.slice(3)).toEqual(['start a 5-6', 'end b 0-1', 'end a 5-6']);
  });

  it('turns a bad prediction into an error notification, not a throw from next()', async () => {
    const [p] = predictions([{}]);
    await expect(
      lastValueFrom(from([{ ...p, audio: new Float32Array(1) }]).pipe(decodeEvents(), toArray())),
    ).rejects.toThrow(/1 audio probabilities/);
  });
});
