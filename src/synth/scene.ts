// Scene sampling: which classes occur, when each is audible and/or visible, where its sprite
// sits, and which extra events the planted interactions add. A scene is plain JSON-able data; the
// renderers and the ground truth are pure functions of it.
import type { Rng } from '../util/rng.js';
import type { Rgb } from './canvas.js';
import { classSpec, SYNTH_CLASS_NAMES, type ClassParams } from './classes/index.js';
import type { Interaction } from './interactions.js';
import type { Knobs } from './presets.js';

export const FRAME_WIDTH = 224;
export const FRAME_HEIGHT = 224;

/** Half-open time interval in seconds. */
export interface Interval {
  start: number;
  end: number;
}

export interface SceneObject {
  /** Centre at the start of the visual interval, pixels. */
  x: number;
  y: number;
  scale: number;
  /** Drift velocity (pixels/s) of objects that do not drive. */
  vx: number;
  vy: number;
  /** Speed while sounding (vehicles), pixels/s, and initial heading. */
  speed: number;
  facing: 1 | -1;
}

export interface SceneEvent {
  id: number;
  class: string;
  audio: Interval | null;
  visual: Interval | null;
  /** Linear loudness factor. */
  gain: number;
  seed: number;
  params: ClassParams;
  /** Class-specific onsets (syllables, barks, impacts...) inside the audio interval. */
  pulses: number[];
  object: SceneObject | null;
  /** Set when a planted interaction added this event: the causing event and the rule index. */
  cause: { event: number; rule: number } | null;
}

export interface ClutterShape {
  kind: 'rect' | 'ellipse';
  x: number;
  y: number;
  w: number;
  h: number;
  color: Rgb;
}

export interface Scene {
  duration: number;
  events: SceneEvent[];
  sky: Rgb;
  ground: Rgb;
  horizon: number;
  clutter: ClutterShape[];
  audioNoise: number;
  pixelNoise: number;
  noiseSeed: number;
  /** The one annotated class in single-annotation mode (the first event's class), else null. */
  label: string | null;
}

export interface SceneOptions {
  duration: number;
  knobs: Knobs;
  interactions: readonly Interaction[];
  /** Probability that an onset/offset inside the clip is moved off the one-second grid. */
  offBoundary: number;
  singleAnnotation: boolean;
  /** Classes to draw from (default: all SynthAV classes). */
  classes?: readonly string[];
}

/** Draws a scene. Every random choice comes from `rng`, so a seed (and the options) is a scene. */
export function sampleScene(rng: Rng, opts: SceneOptions): Scene {
  const { knobs, duration } = opts;
  const pool = rng.shuffle([...(opts.classes ?? SYNTH_CLASS_NAMES)]);
  const wanted = opts.singleAnnotation ? 1 : rng.int(knobs.events[0], knobs.events[1] + 1);
  const drafts: Omit<SceneEvent, 'id' | 'gain' | 'seed' | 'params' | 'pulses' | 'object'>[] = [];
  for (const cls of pool.slice(0, Math.min(wanted, pool.length))) {
    const r = rng.next();
    const visual = r < knobs.audioOnly ? null : drawInterval(rng, duration, opts.offBoundary);
    let audio: Interval | null;
    if (r >= knobs.audioOnly && r < knobs.audioOnly + knobs.visualOnly) audio = null;
    else if (visual === null) audio = drawInterval(rng, duration, opts.offBoundary);
    else audio = rng.bool(0.5) ? { ...visual } : subInterval(rng, visual, opts.offBoundary);
    drafts.push({ class: cls, audio, visual, cause: null });
  }
  // planted interactions: only first-order (added events do not trigger further rules)
  const primary = drafts.length;
  for (let e = 0; e < primary; e++) {
    opts.interactions.forEach((rule, ruleIndex) => {
      const trigger = drafts[e][rule.when];
      const fires = rng.bool(rule.p);
      if (rule.from !== drafts[e].class || trigger === null || !fires) return;
      const span = { ...trigger };
      drafts.push({
        class: rule.to,
        audio: rule.then === 'audio' ? span : null,
        visual: rule.then === 'visual' ? span : null,
        cause: { event: e, rule: ruleIndex },
      });
    });
  }
  const placed: SceneEvent[] = [];
  for (const [id, d] of drafts.entries()) {
    const spec = classSpec(d.class);
    const params = spec.params(rng);
    placed.push({
      id,
      ...d,
      gain: 10 ** (rng.uniform(knobs.loudnessDb[0], knobs.loudnessDb[1]) / 20),
      seed: rng.nextU32(),
      params,
      pulses: d.audio ? spec.pulses(rng, params, d.audio.start, d.audio.end) : [],
      object: d.visual ? placeObject(rng, spec.halfSize(params), spec.drives, knobs, placed) : null,
    });
  }
  const horizon = rng.int(90, 150);
  return {
    duration,
    events: placed,
    sky: mutedColor(rng, 0.25, [150, 210]),
    ground: mutedColor(rng, 0.25, [70, 130]),
    horizon,
    clutter: Array.from({ length: knobs.clutter }, () => ({
      kind: rng.bool() ? 'rect' : 'ellipse',
      x: rng.uniform(0, FRAME_WIDTH),
      y: rng.uniform(0, FRAME_HEIGHT),
      w: rng.uniform(8, 40),
      h: rng.uniform(8, 40),
      color: mutedColor(rng, knobs.clutterSaturation, [60, 200]),
    })),
    audioNoise: knobs.audioNoise,
    pixelNoise: knobs.pixelNoise,
    noiseSeed: rng.nextU32(),
    label: opts.singleAnnotation && placed.length > 0 ? placed[0].class : null,
  };
}

/** An interval on the second grid (sometimes the whole clip), then maybe moved off it. */
function drawInterval(rng: Rng, duration: number, offBoundary: number): Interval {
  let start = 0;
  let end = duration;
  if (!rng.bool(0.3)) {
    start = rng.int(0, duration);
    end = rng.int(start + 1, duration + 1);
  }
  return jitter(rng, { start, end }, duration, offBoundary);
}

/** A grid interval inside `outer` (the sound of a visible object starts and stops while it is seen). */
function subInterval(rng: Rng, outer: Interval, offBoundary: number): Interval {
  const lo = Math.ceil(outer.start);
  const hi = Math.floor(outer.end);
  if (hi - lo < 1) return { ...outer };
  const start = rng.int(lo, hi);
  const end = rng.int(start + 1, hi + 1);
  return jitter(rng, { start, end }, outer.end, offBoundary);
}

/** Moves inner edges by up to 0.45 s with probability `p` each, keeping at least 0.55 s. */
function jitter(rng: Rng, span: Interval, duration: number, p: number): Interval {
  const dStart = rng.bool(p) && span.start > 0 ? rng.uniform(-0.45, 0.45) : 0;
  const dEnd = rng.bool(p) && span.end < duration ? rng.uniform(-0.45, 0.45) : 0;
  const start = span.start + dStart;
  const end = span.end + dEnd;
  return end - start >= 0.55 ? { start, end } : span;
}

/** Picks a position whose footprint avoids the objects placed so far (best of a few tries). */
function placeObject(
  rng: Rng,
  half: readonly [number, number],
  drives: boolean,
  knobs: Knobs,
  others: readonly SceneEvent[],
): SceneObject {
  const scale = rng.uniform(knobs.scale[0], knobs.scale[1]);
  const hw = half[0] * scale;
  const hh = half[1] * scale;
  let best = { x: FRAME_WIDTH / 2, y: FRAME_HEIGHT / 2, overlap: Infinity };
  for (let attempt = 0; attempt < 12 && best.overlap > 0; attempt++) {
    const x = rng.uniform(hw, Math.max(hw, FRAME_WIDTH - hw));
    const y = rng.uniform(hh, Math.max(hh, FRAME_HEIGHT - hh));
    let overlap = 0;
    for (const o of others) {
      if (!o.object) continue;
      const spec = classSpec(o.class).halfSize(o.params);
      const ox = Math.max(
        0,
        Math.min(x + hw, o.object.x + spec[0] * o.object.scale) -
          Math.max(x - hw, o.object.x - spec[0] * o.object.scale),
      );
      const oy = Math.max(
        0,
        Math.min(y + hh, o.object.y + spec[1] * o.object.scale) -
          Math.max(y - hh, o.object.y - spec[1] * o.object.scale),
      );
      overlap += ox * oy;
    }
    if (overlap < best.overlap) best = { x, y, overlap };
  }
  const angle = rng.uniform(0, 2 * Math.PI);
  const drift = drives ? 0 : rng.uniform(0, knobs.drift);
  return {
    x: best.x,
    y: best.y,
    scale,
    vx: drift * Math.cos(angle),
    vy: drift * Math.sin(angle),
    speed: drives ? rng.uniform(knobs.drive[0], knobs.drive[1]) : 0,
    facing: rng.bool() ? 1 : -1,
  };
}

/** A colour of limited saturation with brightness in `range`. */
function mutedColor(rng: Rng, saturation: number, range: [number, number]): Rgb {
  const grey = rng.uniform(range[0], range[1]);
  const c = () => Math.round(Math.min(255, Math.max(0, grey + saturation * rng.uniform(-90, 90))));
  return [c(), c(), c()];
}
