// The design goal behind the class renderings: simple DSP features (log band energies and
// loudness spread of a second of audio; a colour histogram of the strongly coloured pixels of a
// frame) separate the classes with a nearest-centroid rule, and the hard preset makes that harder.
import { describe, expect, it } from 'vitest';
import { SYNTH_CLASS_NAMES } from '../../src/synth/classes/index.js';
import { resolveOptions, SynthClip } from '../../src/synth/clip.js';
import type { PresetName } from '../../src/synth/presets.js';
import { bandRmsAll } from './helpers.js';

const EDGES = Array.from({ length: 17 }, (_, i) => 40 * Math.pow(7000 / 40, i / 16));

/** Log band energies of the second, plus the mean and spread of its log energy over 50 ms frames. */
function audioFeature(second: Float32Array): number[] {
  const bands = bandRmsAll(second, 16000, EDGES).map((x) => Math.log(0.003 + x));
  const frames = Array.from({ length: 20 }, (_, f) => {
    let e = 0;
    for (let i = f * 800; i < (f + 1) * 800; i++) e += second[i] * second[i];
    return Math.log(1e-6 + e / 800);
  });
  const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
  const spread = Math.sqrt(frames.reduce((a, b) => a + (b - mean) ** 2, 0) / frames.length);
  return [...bands, spread];
}

/** A 4x4x4 RGB histogram of the strongly coloured pixels (chroma > 60; the background is muted). */
function visualFeature(frame: Uint8Array): number[] {
  const bins = new Array<number>(64).fill(0);
  let total = 0;
  for (let i = 0; i < frame.length; i += 6) {
    const r = frame[i], g = frame[i + 1], b = frame[i + 2]; // prettier-ignore
    if (Math.max(r, g, b) - Math.min(r, g, b) <= 60) continue;
    bins[(r >> 6) * 16 + (g >> 6) * 4 + (b >> 6)]++;
    total++;
  }
  return bins.map((x) => x / Math.max(1, total));
}

/** Per-class examples: seconds where the class (alone in its clip) is audible / frames where it is visible. */
function examples(preset: PresetName, seed: number, clips: number) {
  const audio: { label: number; x: number[] }[] = [];
  const visual: { label: number; x: number[] }[] = [];
  SYNTH_CLASS_NAMES.forEach((name, label) => {
    const options = resolveOptions({
      seed,
      preset,
      classes: [name],
      interactions: [],
      knobs: { events: [1, 1], audioOnly: 0, visualOnly: 0 },
    });
    for (let i = 0; i < clips; i++) {
      const clip = new SynthClip(options, i);
      const c = clip.truth.classes.indexOf(name);
      const pcm = clip.audio();
      for (let k = 0; k < 10; k++) {
        if (clip.truth.audio[k * 25 + c])
          audio.push({ label, x: audioFeature(pcm.subarray(k * 16000, (k + 1) * 16000)) });
        if (clip.truth.visual[k * 25 + c]) visual.push({ label, x: visualFeature(clip.frame(k * 8 + 3)) });
      }
    }
  });
  return { audio, visual };
}

function nearestCentroidAccuracy(
  train: { label: number; x: number[] }[],
  test: { label: number; x: number[] }[],
): number {
  const dims = train[0].x.length;
  const centroids = SYNTH_CLASS_NAMES.map((_, label) => {
    const rows = train.filter((r) => r.label === label);
    return Array.from({ length: dims }, (_, d) => rows.reduce((s, r) => s + r.x[d], 0) / rows.length);
  });
  const dist = (a: number[], b: number[]) => a.reduce((s, v, d) => s + (v - b[d]) ** 2, 0);
  let right = 0;
  for (const row of test) {
    const best = centroids.reduce(
      (bi, cen, i) => (dist(row.x, cen) < dist(row.x, centroids[bi]) ? i : bi),
      0,
    );
    if (best === row.label) right++;
  }
  return right / test.length;
}

describe('class separability with simple DSP features', () => {
  const accuracy = (preset: PresetName) => {
    const train = examples(preset, 100, 3);
    const test = examples(preset, 200, 2);
    return {
      audio: nearestCentroidAccuracy(train.audio, test.audio),
      visual: nearestCentroidAccuracy(train.visual, test.visual),
    };
  };

  it('is high on easy clips and lower on hard ones', () => {
    const easy = accuracy('easy');
    const hard = accuracy('hard');
    expect(easy.audio).toBeGreaterThan(0.9);
    expect(easy.visual).toBeGreaterThan(0.9);
    expect(hard.audio).toBeLessThan(easy.audio);
    expect(hard.visual).toBeLessThan(easy.visual);
    console.log(`nearest-centroid accuracy: easy ${JSON.stringify(easy)}, hard ${JSON.stringify(hard)}`);
  });
});
