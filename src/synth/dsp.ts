// Small DSP building blocks for the SynthAV audio renderers. Everything is deterministic: noise
// comes from an integer hash of (seed, sample index), never from Math.random.

/** Uniform noise in [-1, 1) from a 32-bit hash of (seed, i); same inputs, same value. */
export function hashNoise(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2147483648 - 1;
}

/** First sample index at or after time t (seconds), clamped to [0, length]. */
export function sampleAt(t: number, sampleRate: number, length: number): number {
  return Math.min(length, Math.max(0, Math.ceil(t * sampleRate - 1e-9)));
}

/** 0..1 gain that rises and falls over `ramp` seconds at the edges of [start, end) (no clicks). */
export function gate(t: number, start: number, end: number, ramp = 0.01): number {
  if (t < start || t >= end) return 0;
  return Math.min(1, (t - start) / ramp, (end - t) / ramp);
}

/**
 * One period of a sum of harmonics, `amps[k]` for harmonic k+1, sampled at `size` points.
 * Played back with a phase accumulator it costs one lookup per sample whatever the harmonic count.
 */
export function wavetable(amps: readonly number[], size = 1024): Float32Array {
  const table = new Float32Array(size + 1);
  let peak = 0;
  for (let i = 0; i < size; i++) {
    let x = 0;
    for (let k = 0; k < amps.length; k++) x += amps[k] * Math.sin((2 * Math.PI * (k + 1) * i) / size);
    table[i] = x;
    peak = Math.max(peak, Math.abs(x));
  }
  for (let i = 0; i < size; i++) table[i] /= peak || 1;
  table[size] = table[0];
  return table;
}

/** Harmonic amplitudes `weight(freq, k)` for harmonics of f0 below `maxHz` and below Nyquist. */
export function harmonics(
  f0: number,
  sampleRate: number,
  maxHz: number,
  weight: (freq: number, k: number) => number,
): number[] {
  const top = Math.min(maxHz, 0.45 * sampleRate);
  const amps: number[] = [];
  for (let k = 1; k * f0 < top; k++) amps.push(weight(k * f0, k));
  return amps.length > 0 ? amps : [1];
}

/** Linear-interpolated table lookup at phase in cycles (any real number). */
export function lookup(table: Float32Array, phase: number): number {
  const size = table.length - 1;
  const p = (phase - Math.floor(phase)) * size;
  const i = p | 0;
  return table[i] + (table[i + 1] - table[i]) * (p - i);
}

/** RBJ biquad band-pass (constant 0 dB peak gain) with its own state. */
export class BandPass {
  private readonly b0: number;
  private readonly b2: number;
  private readonly a1: number;
  private readonly a2: number;
  private x1 = 0;
  private x2 = 0;
  private y1 = 0;
  private y2 = 0;

  constructor(centerHz: number, q: number, sampleRate: number) {
    const w = (2 * Math.PI * Math.min(centerHz, 0.45 * sampleRate)) / sampleRate;
    const alpha = Math.sin(w) / (2 * q);
    const a0 = 1 + alpha;
    this.b0 = alpha / a0;
    this.b2 = -alpha / a0;
    this.a1 = (-2 * Math.cos(w)) / a0;
    this.a2 = (1 - alpha) / a0;
  }

  step(x: number): number {
    const y = this.b0 * x + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1;
    this.x1 = x;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

/** One-pole low-pass with its own state. */
export class LowPass {
  private readonly a: number;
  private y = 0;

  constructor(cutoffHz: number, sampleRate: number) {
    this.a = 1 - Math.exp((-2 * Math.PI * cutoffHz) / sampleRate);
  }

  step(x: number): number {
    this.y += this.a * (x - this.y);
    return this.y;
  }
}

/** Regular onsets from `start` with period jittered by +-`jitter` (fraction), ending before `end`. */
export function regularPulses(
  next: () => number,
  start: number,
  end: number,
  period: number,
  jitter: number,
): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t += period * (1 + jitter * (2 * next() - 1))) out.push(t);
  return out;
}

const SINE = wavetable([1], 4096);

/** sin(2 pi x) from a table (error below 1e-6): the renderers' per-sample sine. */
export function sine(cycles: number): number {
  return lookup(SINE, cycles);
}

const decays = new Map<string, Float32Array>();

/**
 * exp(-i / (tau * sampleRate)) for i in [0, seconds * sampleRate]: per-sample decays by lookup.
 * Cached: callers use a few fixed (tau, seconds) pairs, so the cache stays small.
 */
export function decayTable(tau: number, sampleRate: number, seconds: number): Float32Array {
  const key = `${tau}:${sampleRate}:${seconds}`;
  let table = decays.get(key);
  if (!table) {
    table = new Float32Array(Math.ceil(seconds * sampleRate) + 1);
    for (let i = 0; i < table.length; i++) table[i] = Math.exp(-i / (tau * sampleRate));
    decays.set(key, table);
  }
  return table;
}
