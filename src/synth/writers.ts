// SynthAV ground truth in the real datasets' formats: LLP's tab-separated weak and dense label
// files, VGG-SS's box JSON, VALOR's pseudo-label .npy files, plus a JSON-lines file with the
// complete per-clip truth (events, runs, per-frame boxes with the sounding flag).
import { formatNpy } from '../datasets/npy.js';
import type { Box } from './canvas.js';
import type { SynthClip } from './clip.js';
import { runs } from './pseudo.js';
import { FRAME_HEIGHT, FRAME_WIDTH } from './scene.js';

/** One video's dense labels as LLP rows: class, onset, offset (segment indices, offset exclusive). */
export interface DenseRow {
  filename: string;
  onset: number;
  offset: number;
  label: string;
}

/** LLP weak-label file (`AVVP_train.csv`, `AVVP_val_pd.csv`, `AVVP_test_pd.csv`). */
export function formatWeakCsv(rows: readonly { filename: string; labels: readonly string[] }[]): string {
  return (
    ['filename\tevent_labels', ...rows.map((r) => `${r.filename}\t${r.labels.join(',')}`)].join('\n') + '\n'
  );
}

/** LLP dense file (`AVVP_eval_audio.csv`, `AVVP_eval_visual.csv`). */
export function formatDenseCsv(rows: readonly DenseRow[]): string {
  const lines = rows.map((r) => `${r.filename}\t${r.onset}\t${r.offset}\t${r.label}`);
  return ['filename\tonset\toffset\tevent_labels', ...lines].join('\n') + '\n';
}

/** The annotated classes' runs of one modality of a clip, as dense rows in class order. */
export function denseRows(clip: SynthClip, modality: 'audio' | 'visual'): DenseRow[] {
  const { classes, segments, annotated } = clip.truth;
  const dense = clip.truth[modality];
  const C = classes.length;
  const rows: DenseRow[] = [];
  classes.forEach((label, c) => {
    if (!annotated.includes(label)) return;
    const column = Array.from({ length: segments }, (_, k) => dense[k * C + c]);
    for (const [onset, offset] of runs(column)) rows.push({ filename: clip.name, onset, offset, label });
  });
  return rows;
}

/**
 * A normalised box coordinate that VGG-SS's loader (int(v * 224)) turns back into the exact
 * pixel: x / 224 alone truncates to x - 1 for some x (61, 115, 122), so a tiny margin is added.
 */
export function normaliseCoordinate(x: number, size: number): number {
  return Math.min(1, Number(((x + 0.001) / size).toFixed(6)));
}

export interface BoxItem {
  file: string;
  class: string;
  bbox: [number, number, number, number][];
  /** Which frame of the clip (not in VGG-SS, which has one image per video). */
  frame: number;
  time: number;
}

/**
 * VGG-SS-style items: for each second with a visible sounding object, the middle frame's sounding
 * boxes (the localisation ground truth), `class` listing the sounding classes.
 */
export function boxItems(clip: SynthClip): BoxItem[] {
  const { fps, duration } = clip.options;
  const items: BoxItem[] = [];
  for (let k = 0; k < duration; k++) {
    const frame = k * fps + Math.floor(fps / 2);
    const sounding = clip.truth.boxes[frame].filter((b) => b.sounding);
    if (sounding.length === 0) continue;
    const norm = ([x0, y0, x1, y1]: Box): [number, number, number, number] => [
      normaliseCoordinate(x0, FRAME_WIDTH),
      normaliseCoordinate(y0, FRAME_HEIGHT),
      normaliseCoordinate(x1, FRAME_WIDTH),
      normaliseCoordinate(y1, FRAME_HEIGHT),
    ];
    items.push({
      file: clip.name,
      class: [...new Set(sounding.map((b) => b.class))].join(','),
      bbox: sounding.map((b) => norm(b.box)),
      frame,
      time: frame / fps,
    });
  }
  return items;
}

/** The complete truth of a clip as one JSON line. */
export function truthLine(clip: SynthClip): string {
  const { classes, audio, visual, weak, annotated, boxes, segments } = clip.truth;
  const C = classes.length;
  const runsOf = (dense: Uint8Array) =>
    Object.fromEntries(
      classes
        .map((name, c) => [name, runs(Array.from({ length: segments }, (_, k) => dense[k * C + c]))] as const)
        .filter(([, r]) => r.length > 0),
    );
  return JSON.stringify({
    file: clip.name,
    id: clip.id,
    split: clip.options.split,
    index: clip.index,
    duration: clip.options.duration,
    fps: clip.options.fps,
    weak,
    annotated,
    audio: runsOf(audio),
    visual: runsOf(visual),
    events: clip.scene.events,
    frames: boxes,
  });
}

/** A (segments, classes) 0/1 matrix as VALOR saves it: int64 .npy. */
export function pseudoLabelNpy(matrix: Uint8Array, segments: number, classes: number): Uint8Array {
  return formatNpy({
    dtype: 'int64',
    shape: [segments, classes],
    data: BigInt64Array.from(matrix, (x) => BigInt(x)),
  });
}
