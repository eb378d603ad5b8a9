// Measurements the SynthAV tests make on rendered or decoded media.
import type { Rgb } from '../../src/synth/canvas.js';

/** In-place radix-2 FFT of (re, im); length must be a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const cos = Float64Array.from({ length: len / 2 }, (_, k) => Math.cos(ang * k));
    const sin = Float64Array.from({ length: len / 2 }, (_, k) => Math.sin(ang * k));
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = cos[k];
        const wi = sin[k];
        const ar = re[i + k + len / 2] * wr - im[i + k + len / 2] * wi;
        const ai = re[i + k + len / 2] * wi + im[i + k + len / 2] * wr;
        re[i + k + len / 2] = re[i + k] - ar;
        im[i + k + len / 2] = im[i + k] - ai;
        re[i + k] += ar;
        im[i + k] += ai;
      }
    }
  }
}

/** RMS of the part of `pcm` in each band [edges[i], edges[i+1]) Hz (Parseval over one FFT). */
export function bandRmsAll(pcm: Float32Array, sampleRate: number, edges: readonly number[]): number[] {
  let n = 1;
  while (n < pcm.length) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(pcm);
  fft(re, im);
  return edges.slice(0, -1).map((lo, b) => {
    let power = 0;
    const top = Math.min(Math.floor((edges[b + 1] * n) / sampleRate), n / 2 - 1);
    for (let k = Math.ceil((lo * n) / sampleRate); k <= top; k++)
      power += 2 * (re[k] * re[k] + im[k] * im[k]);
    return Math.sqrt(power / n / pcm.length);
  });
}

/** RMS of the part of `pcm` between `lo` and `hi` Hz. */
export function bandRms(pcm: Float32Array, sampleRate: number, lo: number, hi: number): number {
  return bandRmsAll(pcm, sampleRate, [lo, hi])[0];
}

/** Fraction of the pixels of `box` (or of the whole frame outside it) within `tol` of a colour. */
export function colorFraction(
  frame: Uint8Array,
  width: number,
  box: readonly [number, number, number, number] | null,
  color: Rgb,
  tol: number,
  where: 'inside' | 'outside',
): number {
  const height = frame.length / 3 / width;
  let hits = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inBox = box !== null && x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
      if (inBox !== (where === 'inside')) continue;
      const i = (y * width + x) * 3;
      const d = Math.hypot(frame[i] - color[0], frame[i + 1] - color[1], frame[i + 2] - color[2]);
      count++;
      if (d <= tol) hits++;
    }
  }
  return count === 0 ? 0 : hits / count;
}

/** A box grown by `margin` pixels on every side (compression smears edges a little). */
export function grow(
  box: readonly [number, number, number, number],
  margin: number,
): [number, number, number, number] {
  return [box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin];
}
