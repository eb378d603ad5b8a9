// Scores on single-modality events, where LINK's claims live: for every (video, class) that is
// audible but never visible ("audible-only") the audio decisions should find it and the visual
// decisions should stay silent, and the reverse for visible-only ones. Decisions are the official
// binarisation (>= 0.5, masked by the predicted clip labels).
//
// Public API: modalityBreakdown, ModalityBreakdown.

import { binarizePrediction, type LlpPrediction, type LlpTruth } from '../eval/llp.js';

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
      let heard = false;
      let seen = false;
      for (let t = 0; t < segments; t++) {
        heard ||= truth.audio[t * classes + c] > 0;
        seen ||= truth.visual[t * classes + c] > 0;
      }
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
