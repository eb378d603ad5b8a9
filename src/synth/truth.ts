// Ground truth of a scene, derived from the scene alone (no pixels rendered): dense per-second
// labels per modality, weak labels, the annotated labels, and every visible object's box per frame.
import { LLP_CLASSES } from '../datasets/llp.js';
import { Canvas } from './canvas.js';
import { drawObjects, type FrameBox } from './frame.js';
import { FRAME_HEIGHT, FRAME_WIDTH, type Interval, type Scene } from './scene.js';

export interface ClipTruth {
  /** The class axis of every matrix: the 25 LLP classes in official order. */
  classes: readonly string[];
  segments: number;
  /** (segments, classes) 0/1, row-major: audible / visible in each second. */
  audio: Uint8Array;
  visual: Uint8Array;
  /** Clip-level labels, the union of both modalities (as LLP), in class order. */
  weak: string[];
  /** What an annotation file carries: `weak`, or only the scene's label in single-annotation mode. */
  annotated: string[];
  /** Visible objects of every frame (frame f shows time f / fps). */
  boxes: FrameBox[][];
}

/**
 * Second k is labelled for an event when the event covers at least half of [k, k+1). With the
 * default on-grid times this is simply "the event covers the second".
 */
export function coversSecond(span: Interval, k: number): boolean {
  return Math.min(span.end, k + 1) - Math.max(span.start, k) >= 0.5;
}

export function sceneTruth(scene: Scene, fps: number): ClipTruth {
  const classes = LLP_CLASSES;
  const C = classes.length;
  const T = scene.duration;
  const audio = new Uint8Array(T * C);
  const visual = new Uint8Array(T * C);
  for (const ev of scene.events) {
    const c = classes.indexOf(ev.class);
    for (let k = 0; k < T; k++) {
      if (ev.audio && coversSecond(ev.audio, k)) audio[k * C + c] = 1;
      if (ev.visual && coversSecond(ev.visual, k)) visual[k * C + c] = 1;
    }
  }
  const weak = classes.filter((_, c) => {
    for (let k = 0; k < T; k++) if (audio[k * C + c] || visual[k * C + c]) return true;
    return false;
  });
  const measure = new Canvas(FRAME_WIDTH, FRAME_HEIGHT, null);
  const boxes = Array.from({ length: T * fps }, (_, f) => drawObjects(measure, scene, f / fps));
  return {
    classes,
    segments: T,
    audio,
    visual,
    weak,
    annotated: scene.label === null ? weak : [scene.label],
    boxes,
  };
}
