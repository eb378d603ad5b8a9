// Difficulty presets: every knob that makes a SynthAV clip harder to parse. A clip draws its
// actual values (loudness, size, speed...) from these ranges with its own seeded generator.

export interface Knobs {
  /** Events per clip before planted interactions add more: [min, max]. */
  events: [number, number];
  /** Probability that an event is audio-only, and that it is visual-only (else both). */
  audioOnly: number;
  visualOnly: number;
  /** Event loudness range in dB (0 dB = the class's nominal level). */
  loudnessDb: [number, number];
  /** RMS of the background noise added to the whole clip. */
  audioNoise: number;
  /** Number of static background shapes, and how saturated their colours may be (0..1). */
  clutter: number;
  clutterSaturation: number;
  /** Largest per-pixel noise amplitude (0..255 scale), redrawn every frame. */
  pixelNoise: number;
  /** Sprite scale range (1 = nominal size, about a third of the frame). */
  scale: [number, number];
  /** Largest drift speed of static objects, pixels per second. */
  drift: number;
  /** Vehicle speed range while they sound, pixels per second. */
  drive: [number, number];
}

export type PresetName = 'easy' | 'default' | 'hard';

export const PRESETS: Readonly<Record<PresetName, Readonly<Knobs>>> = {
  easy: {
    events: [1, 2],
    audioOnly: 0.1,
    visualOnly: 0.1,
    loudnessDb: [-3, 0],
    audioNoise: 0.002,
    clutter: 0,
    clutterSaturation: 0,
    pixelNoise: 2,
    scale: [0.9, 1.1],
    drift: 5,
    drive: [30, 50],
  },
  default: {
    events: [1, 3],
    audioOnly: 0.2,
    visualOnly: 0.2,
    loudnessDb: [-10, 0],
    audioNoise: 0.01,
    clutter: 4,
    clutterSaturation: 0.3,
    pixelNoise: 6,
    scale: [0.6, 1.2],
    drift: 15,
    drive: [30, 70],
  },
  hard: {
    events: [2, 4],
    audioOnly: 0.3,
    visualOnly: 0.3,
    loudnessDb: [-20, 0],
    audioNoise: 0.03,
    clutter: 12,
    clutterSaturation: 0.8,
    pixelNoise: 14,
    scale: [0.4, 1.3],
    drift: 30,
    drive: [40, 100],
  },
};

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Rejects knob values the generator cannot honour, naming the knob. */
export function checkKnobs(k: Knobs, maxPixelNoise: number): Knobs {
  const fail = (name: string, want: string, got: unknown): never => {
    throw new RangeError(`SynthAV knob '${name}' must be ${want}, got ${JSON.stringify(got)}`);
  };
  const range = (
    name: keyof Knobs,
    [lo, hi]: [number, number],
    min: number,
    max: number,
    integer = false,
  ) => {
    const ok = (v: number) => Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
    if (!ok(lo) || !ok(hi) || lo > hi) fail(name, `[lo, hi] with ${min} <= lo <= hi <= ${max}`, k[name]);
  };
  const scalar = (name: keyof Knobs, v: number, min: number, max: number, integer = false) => {
    if (!(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
      fail(name, `${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`, v);
    }
  };
  range('events', k.events, 0, 10, true);
  scalar('audioOnly', k.audioOnly, 0, 1);
  scalar('visualOnly', k.visualOnly, 0, 1 - k.audioOnly);
  range('loudnessDb', k.loudnessDb, -60, 20);
  scalar('audioNoise', k.audioNoise, 0, 1);
  scalar('clutter', k.clutter, 0, 1000, true);
  scalar('clutterSaturation', k.clutterSaturation, 0, 1);
  scalar('pixelNoise', k.pixelNoise, 0, maxPixelNoise, true);
  range('scale', k.scale, 0.05, 2);
  scalar('drift', k.drift, 0, 1000);
  range('drive', k.drive, 0, 1000);
  return k;
}
