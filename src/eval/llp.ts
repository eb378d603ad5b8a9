// The official LLP / AVVP metric (YapengTian/AVVP-ECCV20 utils/eval_metrics.py and the `eval`
// function of main_avvp.py), restated. Every rule is listed in docs/eval.md.
// Matrices are (segments, classes) in row-major order: element [t * classes + c].
// Pure functions: used by `avvp eval llp` and by training for per-epoch validation.

/** Both the clip-level and the segment-level probabilities are binarised with `>= 0.5`. */
export const LLP_THRESHOLD = 0.5;

/** One video's model outputs, all probabilities (after the sigmoid). */
export interface LlpPrediction {
  /** Clip-level (MMIL global) probability per class. */
  video: ArrayLike<number>;
  /** (segments, classes) audio probabilities. */
  audio: ArrayLike<number>;
  /** (segments, classes) visual probabilities. */
  visual: ArrayLike<number>;
}

/** One video's dense ground truth: (segments, classes) 0/1 matrices. */
export interface LlpTruth {
  audio: ArrayLike<number>;
  visual: ArrayLike<number>;
}

/** Per-class true positive, false positive and false negative counts. */
export interface ClassCounts {
  tp: Int32Array;
  fp: Int32Array;
  fn: Int32Array;
}

/** One video's four values at one level, each in [0, 1]. */
export interface LlpVideoScores {
  audio: number;
  visual: number;
  av: number;
  /** Event@AV: F over the per-class sums of the audio and visual counts. */
  event: number;
}

/** Dataset-level values in percent. `type` is Type@AV = (audio + visual + av) / 3. */
export interface LlpLevelMetrics {
  audio: number;
  visual: number;
  av: number;
  type: number;
  event: number;
}

export interface LlpMetrics {
  segment: LlpLevelMetrics;
  event: LlpLevelMetrics;
}

export interface LlpBinary {
  audio: Uint8Array;
  visual: Uint8Array;
  /** audio AND visual, element-wise. */
  av: Uint8Array;
}

function dims(prediction: LlpPrediction): { classes: number; segments: number } {
  const classes = prediction.video.length;
  const segments = prediction.audio.length / classes;
  if (classes === 0 || !Number.isInteger(segments) || prediction.visual.length !== prediction.audio.length) {
    throw new RangeError(
      `prediction sizes disagree: video ${classes}, audio ${prediction.audio.length}, visual ${prediction.visual.length} (audio and visual must be segments x classes)`,
    );
  }
  return { classes, segments };
}

/**
 * Thresholds the segment probabilities and masks them with the model's own predicted clip
 * labels (not the ground-truth weak labels); the AV prediction is the product of the two.
 */
export function binarizePrediction(prediction: LlpPrediction): LlpBinary {
  const { classes } = dims(prediction);
  const n = prediction.audio.length;
  const audio = new Uint8Array(n);
  const visual = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const clip = prediction.video[i % classes] >= LLP_THRESHOLD;
    audio[i] = clip && prediction.audio[i] >= LLP_THRESHOLD ? 1 : 0;
    visual[i] = clip && prediction.visual[i] >= LLP_THRESHOLD ? 1 : 0;
  }
  return { audio, visual, av: product(audio, visual) };
}

/** The ground truth as binary matrices, with AV = audio AND visual. */
export function binarizeTruth(truth: LlpTruth): LlpBinary {
  const audio = Uint8Array.from(truth.audio, (x) => (x ? 1 : 0));
  const visual = Uint8Array.from(truth.visual, (x) => (x ? 1 : 0));
  return { audio, visual, av: product(audio, visual) };
}

function product(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x & b[i]);
}

function emptyCounts(classes: number): ClassCounts {
  return { tp: new Int32Array(classes), fp: new Int32Array(classes), fn: new Int32Array(classes) };
}

/** Segment level: every (segment, class) cell is one decision. */
export function segmentCounts(pred: Uint8Array, truth: Uint8Array, classes: number): ClassCounts {
  const counts = emptyCounts(classes);
  for (let i = 0; i < pred.length; i++) {
    const c = i % classes;
    if (pred[i] && truth[i]) counts.tp[c]++;
    else if (pred[i]) counts.fp[c]++;
    else if (truth[i]) counts.fn[c]++;
  }
  return counts;
}

/** Maximal runs of 1s of class `c`, as half-open segment ranges [start, end). */
export function eventRuns(matrix: Uint8Array, c: number, classes: number): [number, number][] {
  const segments = matrix.length / classes;
  const runs: [number, number][] = [];
  let start = -1;
  for (let t = 0; t <= segments; t++) {
    const on = t < segments && matrix[t * classes + c] === 1;
    if (on && start < 0) start = t;
    else if (!on && start >= 0) {
      runs.push([start, t]);
      start = -1;
    }
  }
  return runs;
}

/** Two runs match when their intersection is at least half their union (IoU >= 0.5, inclusive). */
export function runsMatch(p: [number, number], q: [number, number]): boolean {
  const intersection = Math.max(0, Math.min(p[1], q[1]) - Math.max(p[0], q[0]));
  const union = p[1] - p[0] + (q[1] - q[0]) - intersection;
  return 2 * intersection >= union;
}

/**
 * Event level: a predicted run is a true positive when some ground-truth run of its class
 * matches it, else a false positive; a ground-truth run no predicted run matches is a false
 * negative. (Within one class this is one-to-one: see docs/eval.md.)
 */
export function eventCounts(pred: Uint8Array, truth: Uint8Array, classes: number): ClassCounts {
  const counts = emptyCounts(classes);
  for (let c = 0; c < classes; c++) {
    const predicted = eventRuns(pred, c, classes);
    const actual = eventRuns(truth, c, classes);
    const tp = predicted.filter((p) => actual.some((q) => runsMatch(p, q))).length;
    counts.tp[c] = tp;
    counts.fp[c] = predicted.length - tp;
    counts.fn[c] = actual.filter((q) => !predicted.some((p) => runsMatch(p, q))).length;
  }
  return counts;
}

/**
 * A video's F: the mean of 2tp / (2tp + fp + fn) over the classes with any predicted or
 * ground-truth positive; 1.0 when there is no such class.
 */
export function videoF(counts: ClassCounts): number {
  let sum = 0;
  let scored = 0;
  for (let c = 0; c < counts.tp.length; c++) {
    const tp = counts.tp[c];
    const fp = counts.fp[c];
    const fn = counts.fn[c];
    if (tp + fp > 0 || tp + fn > 0) {
      sum += (2 * tp) / (2 * tp + fp + fn);
      scored++;
    }
  }
  return scored === 0 ? 1 : sum / scored;
}

function addCounts(a: ClassCounts, b: ClassCounts): ClassCounts {
  const add = (x: Int32Array, y: Int32Array) => x.map((v, i) => v + y[i]);
  return { tp: add(a.tp, b.tp), fp: add(a.fp, b.fp), fn: add(a.fn, b.fn) };
}

type Counter = (pred: Uint8Array, truth: Uint8Array, classes: number) => ClassCounts;

function scoreLevel(pred: LlpBinary, truth: LlpBinary, classes: number, count: Counter): LlpVideoScores {
  const audio = count(pred.audio, truth.audio, classes);
  const visual = count(pred.visual, truth.visual, classes);
  return {
    audio: videoF(audio),
    visual: videoF(visual),
    av: videoF(count(pred.av, truth.av, classes)),
    event: videoF(addCounts(audio, visual)),
  };
}

/** One video's segment- and event-level values, each in [0, 1]. */
export function evaluateVideo(
  prediction: LlpPrediction,
  truth: LlpTruth,
): { segment: LlpVideoScores; event: LlpVideoScores } {
  const { classes } = dims(prediction);
  if (truth.audio.length !== prediction.audio.length || truth.visual.length !== prediction.visual.length) {
    throw new RangeError(
      `ground truth (${truth.audio.length}, ${truth.visual.length}) and prediction (${prediction.audio.length}) sizes differ`,
    );
  }
  const pred = binarizePrediction(prediction);
  const gt = binarizeTruth(truth);
  return {
    segment: scoreLevel(pred, gt, classes, segmentCounts),
    event: scoreLevel(pred, gt, classes, eventCounts),
  };
}

function level(scores: LlpVideoScores[]): LlpLevelMetrics {
  const mean = (key: keyof LlpVideoScores) => (100 * scores.reduce((s, v) => s + v[key], 0)) / scores.length;
  const audio = mean('audio');
  const visual = mean('visual');
  const av = mean('av');
  return { audio, visual, av, type: (audio + visual + av) / 3, event: mean('event') };
}

/** Dataset-level metrics (percent) from per-video values: plain means over the videos. */
export function summarize(videos: { segment: LlpVideoScores; event: LlpVideoScores }[]): LlpMetrics {
  if (videos.length === 0) throw new RangeError('no videos to evaluate');
  return { segment: level(videos.map((v) => v.segment)), event: level(videos.map((v) => v.event)) };
}

/** The ten LLP metrics (percent) over a split: one (prediction, truth) pair per video. */
export function evaluateLlp(videos: Iterable<{ prediction: LlpPrediction; truth: LlpTruth }>): LlpMetrics {
  return summarize(Array.from(videos, (v) => evaluateVideo(v.prediction, v.truth)));
}
