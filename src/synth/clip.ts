// The library API: clip i of a (seed, split) dataset, with its scene, ground truth, pseudo labels
// and lazily rendered media. Clip i is the same whatever else is generated, so datasets can be
// made in any order, in parallel, or one clip at a time in memory.
import type { Segment } from '../types.js';
import { Rng } from '../util/rng.js';
import { renderAudio } from './audio.js';
import { HEADROOM } from './canvas.js';
import { SYNTH_CLASS_NAMES } from './classes/index.js';
import { renderBackground, renderFrame } from './frame.js';
import { DEFAULT_INTERACTIONS, parseInteractions, type Interaction } from './interactions.js';
import { PRESETS, checkKnobs, isPresetName, type Knobs, type PresetName } from './presets.js';
import { DEFAULT_PSEUDO_NOISE, pseudoLabels, type PseudoNoise } from './pseudo.js';
import { FRAME_HEIGHT, FRAME_WIDTH, sampleScene, type Scene } from './scene.js';
import { sceneTruth, type ClipTruth } from './truth.js';

export interface SynthOptions {
  seed: number;
  /** Dataset split (or any name): clips of different splits never share ids or scenes. */
  split?: string;
  preset?: PresetName;
  /** Overrides of single preset knobs. */
  knobs?: Partial<Knobs>;
  /** Whole seconds per clip (default 10, as LLP). */
  duration?: number;
  fps?: number;
  sampleRate?: number;
  /** Optional second PCM rate (e.g. 48000), delivered as `audioHi`. */
  sampleRateHi?: number;
  interactions?: readonly Interaction[];
  /** Probability that an inner onset/offset is off the second grid (default 0). */
  offBoundary?: number;
  /** One event class per clip is annotated; events added by interactions stay unannotated. */
  singleAnnotation?: boolean;
  /** Restrict the classes drawn (default: all SynthAV classes). */
  classes?: readonly string[];
  pseudoNoise?: Partial<PseudoNoise>;
}

export type ResolvedOptions = Required<Omit<SynthOptions, 'knobs' | 'sampleRateHi' | 'pseudoNoise'>> & {
  knobs: Knobs;
  sampleRateHi: number | null;
  pseudoNoise: PseudoNoise;
};

/** Fills defaults and rejects bad options with messages that name the option. */
export function resolveOptions(o: SynthOptions): ResolvedOptions {
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`SynthAV option '${name}' must be an integer in [${min}, ${max}], got ${v}`);
    }
    return v;
  };
  const prob = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1))
      throw new RangeError(`SynthAV option '${name}' must be a probability in [0, 1], got ${v}`);
    return v;
  };
  const preset = o.preset ?? 'default';
  if (!isPresetName(preset)) {
    throw new RangeError(`SynthAV preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
  }
  const classes = o.classes ?? SYNTH_CLASS_NAMES;
  const unknown = classes.find((c) => !SYNTH_CLASS_NAMES.includes(c));
  if (unknown !== undefined || classes.length === 0) {
    throw new RangeError(`SynthAV classes must be a non-empty subset of ${SYNTH_CLASS_NAMES.join(', ')}`);
  }
  const knobs = checkKnobs({ ...PRESETS[preset], ...o.knobs }, HEADROOM);
  const pseudoNoise = { ...DEFAULT_PSEUDO_NOISE, ...o.pseudoNoise };
  for (const [k, v] of Object.entries(pseudoNoise)) prob(`pseudoNoise.${k}`, v);
  return {
    seed: int('seed', o.seed, 0, 0xffffffff),
    split: o.split ?? 'train',
    preset,
    knobs,
    duration: int('duration', o.duration ?? 10, 1, 3600),
    fps: int('fps', o.fps ?? 8, 1, 60),
    sampleRate: int('sampleRate', o.sampleRate ?? 16000, 8000, 192000),
    sampleRateHi: o.sampleRateHi === undefined ? null : int('sampleRateHi', o.sampleRateHi, 8000, 192000),
    interactions: parseInteractions(
      o.interactions ?? DEFAULT_INTERACTIONS,
      SYNTH_CLASS_NAMES,
      'SynthAV interactions',
    ),
    offBoundary: prob('offBoundary', o.offBoundary ?? 0),
    singleAnnotation: o.singleAnnotation ?? false,
    classes,
    pseudoNoise,
  };
}

/** FNV-1a of a string, to turn the split name into seed material. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An independent generator for one (seed, split, clip, purpose). */
function streamRng(o: ResolvedOptions, index: number, purpose: string): Rng {
  const key = fmix32(fmix32(fmix32(fmix32(o.seed) ^ hashString(o.split)) ^ index) ^ hashString(purpose));
  return new Rng(key);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_';

export class SynthClip {
  /** The 11-character video id (LLP's key for feature and pseudo-label files). */
  readonly id: string;
  /** LLP-style file name `<id>_0_<duration>`. */
  readonly name: string;
  readonly scene: Scene;
  readonly truth: ClipTruth;
  private readonly pcm = new Map<number, Float32Array>();
  private background: Uint8Array | null = null;

  constructor(
    readonly options: ResolvedOptions,
    readonly index: number,
  ) {
    // The index is mixed into 32-bit seeds: beyond 2^32 - 1 clips would repeat earlier ones.
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw new RangeError(`SynthAV clip index must be an integer in [0, 4294967295], got ${index}`);
    }
    const idRng = streamRng(options, index, 'id');
    this.id = Array.from({ length: 11 }, () => idRng.pick([...ID_ALPHABET])).join('');
    this.name = `${this.id}_0_${options.duration}`;
    this.scene = sampleScene(streamRng(options, index, 'scene'), {
      duration: options.duration,
      knobs: options.knobs,
      interactions: options.interactions,
      offBoundary: options.offBoundary,
      singleAnnotation: options.singleAnnotation,
      classes: options.classes,
    });
    this.truth = sceneTruth(this.scene, options.fps);
  }

  /** VALOR-style pseudo labels, drawn from their own generator (changing noise keeps the scene). */
  pseudoLabels(): { audio: Uint8Array; visual: Uint8Array } {
    return pseudoLabels(this.truth, streamRng(this.options, this.index, 'pseudo'), this.options.pseudoNoise);
  }

  /** The whole clip's PCM at a rate (rendered once, then cached). */
  audio(sampleRate = this.options.sampleRate): Float32Array {
    let pcm = this.pcm.get(sampleRate);
    if (!pcm) this.pcm.set(sampleRate, (pcm = renderAudio(this.scene, sampleRate)));
    return pcm;
  }

  /** RGB24 frame f (time f / fps). */
  frame(f: number): Uint8Array {
    this.background ??= renderBackground(this.scene);
    return renderFrame(this.scene, this.background, f, this.options.fps);
  }

  /** Second k as a Segment; `stream`, `index` and `wallclock` let a source number it in a longer stream. */
  segment(k: number, identity: { stream?: string; index?: number; wallclock?: number } = {}): Segment {
    const { sampleRate, sampleRateHi, fps, duration } = this.options;
    if (!Number.isInteger(k) || k < 0 || k >= duration) {
      throw new RangeError(`SynthAV clip ${this.name} has seconds 0..${duration - 1}, asked for ${k}`);
    }
    const index = identity.index ?? k;
    const hi =
      sampleRateHi === null ? null : this.audio(sampleRateHi).slice(k * sampleRateHi, (k + 1) * sampleRateHi);
    return {
      stream: identity.stream ?? 'synth',
      index,
      t0: index,
      t1: index + 1,
      wallclock: identity.wallclock ?? index * 1000,
      audio: this.audio().slice(k * sampleRate, (k + 1) * sampleRate),
      ...(hi ? { audioHi: hi, sampleRateHi: sampleRateHi! } : {}),
      frames: Array.from({ length: fps }, (_, j) => this.frame(k * fps + j)),
      sampleRate,
      width: FRAME_WIDTH,
      height: FRAME_HEIGHT,
      fps,
    };
  }

  segments(): Segment[] {
    return Array.from({ length: this.options.duration }, (_, k) => this.segment(k));
  }
}

/** Clip `index` of the dataset described by `options`. */
export function synthClip(options: SynthOptions, index: number): SynthClip {
  return new SynthClip(resolveOptions(options), index);
}

/** Clips `from`, `from + 1`, ... `from + count - 1`, made one at a time (count may be Infinity). */
export function* synthClips(options: SynthOptions, count: number, from = 0): Generator<SynthClip> {
  const resolved = resolveOptions(options);
  for (let i = from; i < from + count; i++) yield new SynthClip(resolved, i);
}
