import { describe, expect, it } from 'vitest';
import {
  binarizePrediction,
  evaluateLlp,
  evaluateVideo,
  eventCounts,
  eventRuns,
  runsMatch,
  segmentCounts,
  summarize,
  videoF,
  type LlpTruth,
} from '../../src/eval/llp.js';
import { LLP_CLASSES } from '../../src/datasets/llp.js';

const C = LLP_CLASSES.length;
const T = 10;
type Runs = Partial<Record<string, [number, number][]>>;

/** A (segments, classes) matrix with `value` on the given runs of the named classes. */
function matrix(runs: Runs = {}, value = 1): Float64Array {
  const m = new Float64Array(T * C);
  for (const [name, list] of Object.entries(runs)) {
    const c = LLP_CLASSES.indexOf(name);
    if (c < 0) throw new Error(`test bug: class ${name}`);
    for (const [s, e] of list ?? []) for (let t = s; t < e; t++) m[t * C + c] = value;
  }
  return m;
}

/** Probabilities of 1 on the runs; clip-level 1 for the classes predicted anywhere. */
function predict(audio: Runs = {}, visual: Runs = {}) {
  const video = new Float64Array(C);
  for (const name of [...Object.keys(audio), ...Object.keys(visual)]) video[LLP_CLASSES.indexOf(name)] = 1;
  return { video, audio: matrix(audio), visual: matrix(visual) };
}

function truth(audio: Runs = {}, visual: Runs = {}): LlpTruth {
  return { audio: matrix(audio), visual: matrix(visual) };
}

const speechAll: Runs = { Speech: [[0, 10]] };

describe('the research note worked examples (values from the original code)', () => {
  it('everything empty: all four values are 1.0 at both levels', () => {
    const r = evaluateVideo(predict(), truth());
    for (const level of [r.segment, r.event]) expect(level).toEqual({ audio: 1, visual: 1, av: 1, event: 1 });
  });

  it('no prediction, GT Speech [0,10): A 0 and Event@AV 0; V and AV are empty on both sides', () => {
    const r = evaluateVideo(predict(), truth(speechAll));
    expect(r.segment).toEqual({ audio: 0, visual: 1, av: 1, event: 0 });
    expect(r.event).toEqual({ audio: 0, visual: 1, av: 1, event: 0 });
  });

  it('pred [0,5) vs GT [0,10): segment 2/3, event 1 (IoU exactly 0.5 matches)', () => {
    const r = evaluateVideo(predict({ Speech: [[0, 5]] }), truth(speechAll));
    expect(r.segment.audio).toBeCloseTo(0.6667, 4);
    expect(r.event.audio).toBe(1);
  });

  it('pred [0,4) vs GT [0,10): segment 0.5714, event 0 (IoU 0.4)', () => {
    const r = evaluateVideo(predict({ Speech: [[0, 4]] }), truth(speechAll));
    expect(r.segment.audio).toBeCloseTo(0.5714, 4);
    expect(r.event.audio).toBe(0);
  });

  it('pred [0,3)+[4,10) vs GT [0,10): segment 0.9474, event 2/3 (tp 1, fp 1, fn 0)', () => {
    const r = evaluateVideo(
      predict({
        Speech: [
          [0, 3],
          [4, 10],
        ],
      }),
      truth(speechAll),
    );
    expect(r.segment.audio).toBeCloseTo(0.9474, 4);
    expect(r.event.audio).toBeCloseTo(2 / 3, 12);
  });

  it('pred [0,10) vs GT [0,3)+[7,10): segment 0.75, event 0 (tp 0, fp 1, fn 2)', () => {
    const gt = truth({
      Speech: [
        [0, 3],
        [7, 10],
      ],
    });
    const r = evaluateVideo(predict(speechAll), gt);
    expect(r.segment.audio).toBe(0.75);
    expect(r.event.audio).toBe(0);
  });

  it('visual predicts class 5 on all segments, GT audio Speech only: A 0, V 0, Event@AV 0, AV 1', () => {
    const r = evaluateVideo(predict({}, { 'Frying_(food)': [[0, 10]] }), truth(speechAll));
    for (const level of [r.segment, r.event]) expect(level).toEqual({ audio: 0, visual: 0, av: 1, event: 0 });
  });
});

describe('binarisation and masking by the predicted clip labels', () => {
  it('thresholds are >= 0.5, inclusive, for clip and segment probabilities', () => {
    const p = { video: new Float64Array(C), audio: new Float64Array(T * C), visual: new Float64Array(T * C) };
    p.video[0] = 0.5;
    p.video[1] = 0.4999999;
    p.audio[0] = 0.5; // segment 0, Speech
    p.audio[1] = 0.9; // segment 0, Car: masked, its clip probability is below 0.5
    p.audio[C] = 0.49999999; // segment 1, Speech
    p.visual[2 * C] = 1; // segment 2, Speech
    const b = binarizePrediction(p);
    expect([...b.audio.keys()].filter((i) => b.audio[i])).toEqual([0]);
    expect([...b.visual.keys()].filter((i) => b.visual[i])).toEqual([2 * C]);
    expect(b.av.every((x) => x === 0)).toBe(true);
  });

  it('segments of a class the model does not predict at clip level are dropped, even when correct', () => {
    const p = predict(speechAll);
    p.video[0] = 0.3;
    const r = evaluateVideo(p, truth(speechAll));
    expect(r.segment.audio).toBe(0);
  });

  it('the mask is the prediction, not the ground-truth weak label: an unlabelled class counts as false positive', () => {
    const r = evaluateVideo(predict({ Speech: [[0, 10]], Dog: [[2, 4]] }), truth(speechAll));
    // Speech perfect (F 1), Dog predicted only (F 0): mean over the two scored classes.
    expect(r.segment.audio).toBe(0.5);
    expect(r.event.audio).toBe(0.5);
  });

  it('AV is the product of the modalities, for both the prediction and the ground truth', () => {
    const gt = truth({ Speech: [[0, 6]] }, { Speech: [[4, 10]] }); // AV GT: [4, 6)
    const r = evaluateVideo(predict(speechAll, speechAll), gt); // AV prediction: [0, 10)
    expect(r.segment.av).toBeCloseTo(4 / 12, 12); // tp 2, fp 8
    expect(r.event.av).toBe(0); // IoU 0.2
    const exact = evaluateVideo(predict({ Speech: [[0, 6]] }, { Speech: [[4, 10]] }), gt);
    expect(exact.segment.av).toBe(1);
    expect(exact.event.av).toBe(1);
  });
});

describe('per-video F: skip rule and the 1.0 rule', () => {
  const counts = (rows: [number, number, number][]) => ({
    tp: Int32Array.from(rows, (r) => r[0]),
    fp: Int32Array.from(rows, (r) => r[1]),
    fn: Int32Array.from(rows, (r) => r[2]),
  });

  it('classes with no predicted and no GT positive are left out of the mean', () => {
    expect(
      videoF(
        counts([
          [3, 1, 0],
          [0, 0, 0],
          [0, 0, 0],
        ]),
      ),
    ).toBeCloseTo(6 / 7, 12);
    expect(
      videoF(
        counts([
          [1, 0, 0],
          [0, 2, 0],
          [0, 0, 1],
        ]),
      ),
    ).toBeCloseTo(1 / 3, 12);
  });

  it('is 1.0 when no class is scored', () => {
    expect(videoF(counts([[0, 0, 0]]))).toBe(1);
  });
});

describe('segment counts', () => {
  it('counts per class over segments', () => {
    const pred = Uint8Array.from(matrix({ Speech: [[0, 5]], Dog: [[0, 1]] }));
    const gt = Uint8Array.from(matrix({ Speech: [[3, 10]], Cat: [[9, 10]] }));
    const c = segmentCounts(pred, gt, C);
    expect([c.tp[0], c.fp[0], c.fn[0]]).toEqual([2, 3, 5]);
    expect([c.tp[3], c.fp[3], c.fn[3]]).toEqual([0, 1, 0]);
    expect([c.tp[4], c.fp[4], c.fn[4]]).toEqual([0, 0, 1]);
  });
});

describe('event extraction and matching', () => {
  const row = (bits: number[]) => Uint8Array.from(bits);

  it('finds maximal runs, half-open, including runs that end at the last segment', () => {
    expect(eventRuns(row([1, 1, 0, 1, 0, 0, 0, 0, 1, 1]), 0, 1)).toEqual([
      [0, 2],
      [3, 4],
      [8, 10],
    ]);
    expect(eventRuns(row([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 0, 1)).toEqual([[0, 10]]);
    expect(eventRuns(row([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0, 1)).toEqual([]);
    expect(eventRuns(row([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0, 1)).toEqual([[9, 10]]);
  });

  it('reads one class of a (segments, classes) matrix', () => {
    const m = Uint8Array.from(matrix({ Cat: [[2, 5]], Dog: [[0, 10]] }));
    expect(eventRuns(m, LLP_CLASSES.indexOf('Cat'), C)).toEqual([[2, 5]]);
  });

  it('IoU >= 0.5 matches, inclusive, counted in segments', () => {
    expect(runsMatch([0, 3], [1, 4])).toBe(true); // 2 / 4
    expect(runsMatch([0, 2], [0, 4])).toBe(true); // 2 / 4
    expect(runsMatch([0, 2], [1, 3])).toBe(false); // 1 / 3
    expect(runsMatch([5, 6], [5, 6])).toBe(true);
    expect(runsMatch([0, 1], [1, 2])).toBe(false); // adjacent, disjoint
    expect(runsMatch([0, 5], [5, 10])).toBe(false);
  });

  it('counts tp and fp over predicted runs and fn over GT runs', () => {
    // GT [0,4): pred [0,2) matches (2/4), pred [3,4) does not (1/4).
    const pred = Uint8Array.from(
      matrix({
        Speech: [
          [0, 2],
          [3, 4],
        ],
      }),
    );
    const c = eventCounts(pred, Uint8Array.from(matrix({ Speech: [[0, 4]] })), C);
    expect([c.tp[0], c.fp[0], c.fn[0]]).toEqual([1, 1, 0]);
  });

  it('every predicted run is a false positive when GT is empty, every GT run a false negative when the prediction is', () => {
    const runs = matrix({
      Dog: [
        [0, 1],
        [4, 6],
        [9, 10],
      ],
    });
    const none = new Uint8Array(T * C);
    const d = LLP_CLASSES.indexOf('Dog');
    const fp = eventCounts(Uint8Array.from(runs), none, C);
    expect([fp.tp[d], fp.fp[d], fp.fn[d]]).toEqual([0, 3, 0]);
    const fn = eventCounts(none, Uint8Array.from(runs), C);
    expect([fn.tp[d], fn.fp[d], fn.fn[d]]).toEqual([0, 0, 3]);
  });

  it('an event match on another class does not count', () => {
    const r = evaluateVideo(predict({ Dog: [[0, 10]] }), truth({ Cat: [[0, 10]] }));
    expect(r.event.audio).toBe(0);
  });
});

describe('Event@AV adds the audio and visual counts per class', () => {
  it('at the segment and event level', () => {
    const pred = predict({ Speech: [[0, 5]] }, { Speech: [[0, 2]] });
    const gt = truth({ Speech: [[0, 10]] }, { Speech: [[5, 10]] });
    const r = evaluateVideo(pred, gt);
    // segments: audio tp 5, fn 5; visual fp 2, fn 5 -> tp 5, fp 2, fn 10.
    expect(r.segment.event).toBeCloseTo(10 / 22, 12);
    // events: audio tp 1; visual fp 1, fn 1 -> 2 / (2 + 2).
    expect(r.event.event).toBe(0.5);
    expect(r.event.audio).toBe(1);
    expect(r.event.visual).toBe(0);
  });

  it('leaves the AV matrices out of the sum', () => {
    const r = evaluateVideo(predict(speechAll, speechAll), truth(speechAll, speechAll));
    expect(r.segment).toEqual({ audio: 1, visual: 1, av: 1, event: 1 });
  });
});

describe('dataset level', () => {
  it('is 100 x the mean over videos; Type@AV is the mean of the A, V and AV percentages', () => {
    const m = evaluateLlp([
      { prediction: predict(), truth: truth() },
      { prediction: predict({ Speech: [[0, 5]] }), truth: truth(speechAll) },
      { prediction: predict({ Dog: [[0, 10]] }), truth: truth({}, { Dog: [[0, 10]] }) },
    ]);
    // Per video, segment level: A 1, 2/3, 0; V 1, 1, 0; AV 1, 1, 1; Event@AV 1, 2/3, 0.
    expect(m.segment.audio).toBeCloseTo((100 * (1 + 2 / 3)) / 3, 10);
    expect(m.segment.visual).toBeCloseTo((100 * 2) / 3, 10);
    expect(m.segment.av).toBeCloseTo(100, 10);
    expect(m.segment.type).toBeCloseTo((m.segment.audio + m.segment.visual + m.segment.av) / 3, 12);
    expect(m.segment.event).toBeCloseTo((100 * (1 + 2 / 3)) / 3, 10);
    // Event level: the [0,5) run matches, so the second video is perfect on audio.
    expect(m.event.audio).toBeCloseTo((100 * 2) / 3, 10);
    expect(Object.keys(m.segment)).toEqual(['audio', 'visual', 'av', 'type', 'event']);
  });

  it('rejects an empty split and mismatched sizes', () => {
    expect(() => summarize([])).toThrow(/no videos/);
    const p = predict();
    expect(() => evaluateVideo({ ...p, audio: new Float64Array(7) }, truth())).toThrow(/sizes disagree/);
    expect(() => evaluateVideo(p, { audio: new Float64Array(T * C), visual: new Float64Array(3) })).toThrow(
      /sizes differ/,
    );
  });

  it('works for any number of classes and segments (e.g. SynthAV)', () => {
    // 2 classes, 4 segments: audio class 1 on [1,3) predicted exactly.
    const audio = [0, 0, 0, 1, 0, 1, 0, 0];
    const r = evaluateVideo(
      { video: [0, 1], audio, visual: new Array(8).fill(0) },
      { audio, visual: new Array(8).fill(0) },
    );
    expect(r.segment).toEqual({ audio: 1, visual: 1, av: 1, event: 1 });
    expect(r.event).toEqual({ audio: 1, visual: 1, av: 1, event: 1 });
  });
});
