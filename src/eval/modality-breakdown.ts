// Scores on single-modality events, where LINK's claims live: for every (video, class) that is
// audible but never visible ("audible-only") the audio decisions should find it and the visual
// decisions should stay silent, and the reverse for visible-only ones. Decisions are the official
// binarisation (>= 0.5, masked by the predicted clip labels).
//
// withoutCrossModalLeak measures how much there is to gain there at all: the same predictions with
// every leak removed (the other modality silenced on single-modality events), to be scored again.
//
// Public API: modalityBreakdown, ModalityBreakdown, withoutCrossModalLeak.

import { binarizePrediction, type LlpPrediction, type LlpTruth } from './llp.js';

export interface OnlyScores {
  /** (video, class) pairs of this kind. */
  pairs: number;
  /** Segment-level F1 (%) of the modality that carries the event, pooled over the pairs. */
  f1: number;
  /** Share (%) of the pairs' segments wrongly predicted in the other modality. */
  leak: number;
}

export interface ModalityBreakdown {
  audibleOnly: OnlyScores;
  visibleOnly: OnlyScores;
}

/** For each (video, class): is it heard anywhere, seen anywhere (truth)? */
function presence(truth: LlpTruth, classes: number, c: number): { heard: boolean; seen: boolean } {
  let heard = false;
  let seen = false;
  for (let t = 0; t < truth.audio.length / classes; t++) {
    heard ||= truth.audio[t * classes + c] > 0;
    seen ||= truth.visual[t * classes + c] > 0;
  }
  return { heard, seen };
}

export function modalityBreakdown(
  videos: { prediction: LlpPrediction; truth: LlpTruth }[],
  classes: number,
): ModalityBreakdown {
  const acc = {
    audibleOnly: { pairs: 0, tp: 0, fp: 0, fn: 0, leaked: 0, cells: 0 },
    visibleOnly: { pairs: 0, tp: 0, fp: 0, fn: 0, leaked: 0, cells: 0 },
  };
  for (const { prediction, truth } of videos) {
    const pred = binarizePrediction(prediction);
    const segments = truth.audio.length / classes;
    for (let c = 0; c < classes; c++) {
      const { heard, seen } = presence(truth, classes, c);
      if (heard === seen) continue;
      const [kind, carrier, predCarrier, predOther] = heard
        ? (['audibleOnly', truth.audio, pred.audio, pred.visual] as const)
        : (['visibleOnly', truth.visual, pred.visual, pred.audio] as const);
      const a = acc[kind];
      a.pairs++;
      for (let t = 0; t < segments; t++) {
        const i = t * classes + c;
        const g = carrier[i] > 0;
        const p = predCarrier[i] > 0;
        if (g && p) a.tp++;
        else if (p) a.fp++;
        else if (g) a.fn++;
        a.leaked += predOther[i];
        a.cells++;
      }
    }
  }
  const scores = (a: (typeof acc)['audibleOnly']): OnlyScores => ({
    pairs: a.pairs,
    f1: a.tp + a.fp + a.fn === 0 ? 100 : (200 * a.tp) / (2 * a.tp + a.fp + a.fn),
    leak: a.cells === 0 ? 0 : (100 * a.leaked) / a.cells,
  });
  return { audibleOnly: scores(acc.audibleOnly), visibleOnly: scores(acc.visibleOnly) };
}

/**
 * The predictions with every cross-modal leak removed: on each audible-only (video, class) the
 * visual probabilities are set to 0, on each visible-only one the audio probabilities. Scored
 * with the LLP metric, the difference to the original is the most that suppressing the other
 * modality's noise (LINK's claim) could add.
 */
export function withoutCrossModalLeak(
  videos: { prediction: LlpPrediction; truth: LlpTruth }[],
  classes: number,
): LlpPrediction[] {
  return videos.map(({ prediction, truth }) => {
    const audio = Float64Array.from(prediction.audio);
    const visual = Float64Array.from(prediction.visual);
    for (let c = 0; c < classes; c++) {
      const { heard, seen } = presence(truth, classes, c);
      if (heard === seen) continue;
      const other = heard ? visual : audio;
      for (let i = c; i < other.length; i += classes) other[i] = 0;
    }
    return { video: prediction.video, audio, visual };
  });
}
