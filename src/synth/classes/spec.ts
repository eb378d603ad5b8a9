// The contract every SynthAV class implements: one sound and one sprite that belong together.
// A class's sound and sprite read the same pulse times (syllables, barks, bounces, beeps...), so
// what you see happens exactly when you hear it.
import type { Rng } from '../../util/rng.js';
import type { Canvas, Rgb } from '../canvas.js';

/** What a class needs to render its sound for one event. */
export interface SoundContext<P> {
  /** Audible interval [start, end) in seconds. */
  start: number;
  end: number;
  /** Class-specific onsets inside [start, end), in seconds. */
  pulses: readonly number[];
  params: P;
  /** Linear gain (loudness knob). */
  gain: number;
  /** Seed for this event's noise. */
  seed: number;
}

/** What a class needs to draw its sprite in one frame. */
export interface DrawContext<P> {
  /** Frame time in seconds. */
  t: number;
  /** Sprite centre in pixels. */
  x: number;
  y: number;
  scale: number;
  /** 1 faces right, -1 faces left (vehicles turn at the frame edges). */
  facing: 1 | -1;
  /** Whether the object is audible at t: silent objects sit still (mouth shut, light off...). */
  sounding: boolean;
  pulses: readonly number[];
  params: P;
}

export interface ClassSpec<P> {
  /** The LLP class name, exactly as in the LLP annotation files. */
  name: string;
  /** Frequency range in Hz holding most of the sound's energy (documentation and tests). */
  band: readonly [number, number];
  /** The sprite's dominant colour (documentation and tests). */
  color: Rgb;
  /** Vehicles move across the frame while they sound; other sprites only drift. */
  drives: boolean;
  params(rng: Rng): P;
  pulses(rng: Rng, params: P, start: number, end: number): number[];
  /** Sprite half-width and half-height in pixels at scale 1 (for placement inside the frame). */
  halfSize(params: P): readonly [number, number];
  /** Adds the event's sound into `out` (whole-clip PCM at `sampleRate`). */
  render(out: Float32Array, sampleRate: number, sound: SoundContext<P>): void;
  draw(canvas: Canvas, sprite: DrawContext<P>): void;
}

/** Index of the last pulse at or before t, or -1. */
export function lastPulse(pulses: readonly number[], t: number): number {
  let lo = 0;
  let hi = pulses.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pulses[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Seconds since the last pulse at or before t (Infinity when there is none). */
export function sincePulse(pulses: readonly number[], t: number): number {
  const i = lastPulse(pulses, t);
  return i < 0 ? Infinity : t - pulses[i];
}
