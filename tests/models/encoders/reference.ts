// Plain float64 TypeScript versions of the DSP encoders, written from the definitions in
// docs/models/encoders.md (direct DFT, loops over pixels), to check the ONNX graphs against.
// Nothing here is imported from src/models/encoders except the documented constants' values,
// which are repeated as literals on purpose.

const SR = 16000;
const N = 512;
const HOP = 160;
const BANDS = 64;
const FRAMES = 97;
const FLOOR = 1e-10;
const BINS = N / 2 + 1;

export const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
export const hz = (m: number) => 700 * (10 ** (m / 2595) - 1);

/** Band centres: 64 points equally spaced in mel strictly between 0 and 8000 Hz. */
export function referenceCentres(): number[] {
  const top = mel(SR / 2);
  return Array.from({ length: BANDS }, (_, m) => hz(((m + 1) * top) / (BANDS + 1)));
}

/** filters[m][k]: triangle over [centre m-1, centre m+1] at bin frequency k*sr/N, summing to 1. */
function filters(): number[][] {
  const edges = [0, ...referenceCentres(), SR / 2];
  return Array.from({ length: BANDS }, (_, m) => {
    const tri = Array.from({ length: BINS }, (_, k) => {
      const f = (k * SR) / N;
      if (f <= edges[m] || f >= edges[m + 2]) return 0;
      return f <= edges[m + 1]
        ? (f - edges[m]) / (edges[m + 1] - edges[m])
        : (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
    });
    const total = tri.reduce((a, b) => a + b, 0);
    return tri.map((w) => w / total);
  });
}

/** power[t][k] = |DFT of Hann-windowed frame t|^2 / sum(window^2). */
export function referencePower(pcm: ArrayLike<number>): number[][] {
  const window = Array.from({ length: N }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N));
  const energy = window.reduce((a, w) => a + w * w, 0);
  const cos = Array.from({ length: N }, (_, j) => Math.cos((2 * Math.PI * j) / N));
  const sin = Array.from({ length: N }, (_, j) => Math.sin((2 * Math.PI * j) / N));
  return Array.from({ length: FRAMES }, (_, t) => {
    const x = Array.from({ length: N }, (_, n) => pcm[t * HOP + n] * window[n]);
    return Array.from({ length: BINS }, (_, k) => {
      let re = 0;
      let im = 0;
      for (let n = 0; n < N; n++) {
        const j = (k * n) % N;
        re += x[n] * cos[j];
        im -= x[n] * sin[j];
      }
      return (re * re + im * im) / energy;
    });
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};
const max = (xs: number[]) => Math.max(...xs);

/** The 296 audio features in documented order. */
export function referenceAudio(pcm: ArrayLike<number>): number[] {
  const power = referencePower(pcm);
  const fb = filters();
  const logMel = power.map((p) => fb.map((w) => Math.log(w.reduce((a, wk, k) => a + wk * p[k], 0) + FLOOR)));
  const band = (m: number) => logMel.map((row) => row[m]);
  const rises = (xs: number[]) => xs.slice(1).map((x, t) => Math.max(0, x - xs[t]));
  const out: number[] = [];
  for (let m = 0; m < BANDS; m++) out.push(mean(band(m)));
  for (let m = 0; m < BANDS; m++) out.push(std(band(m)));
  for (let m = 0; m < BANDS; m++) out.push(max(band(m)));
  for (let m = 0; m < BANDS; m++) out.push(mean(rises(band(m))));
  // Modulation: 8 groups of 8 bands, Hann-tapered envelope DFT at 1..31 Hz, 4 bands.
  const taper = Array.from({ length: FRAMES }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FRAMES));
  const scale = 2 / taper.reduce((a, b) => a + b, 0);
  for (let gi = 0; gi < 8; gi++) {
    const env = logMel.map((row) => mean(row.slice(gi * 8, gi * 8 + 8)));
    const m0 = mean(env);
    const magnitude2 = (f: number) => {
      let c = 0;
      let s = 0;
      env.forEach((e, n) => {
        c += scale * taper[n] * (e - m0) * Math.cos((2 * Math.PI * f * n) / 100);
        s += scale * taper[n] * (e - m0) * Math.sin((2 * Math.PI * f * n) / 100);
      });
      return c * c + s * s;
    };
    for (const [lo, hi] of [
      [1, 3],
      [4, 7],
      [8, 15],
      [16, 31],
    ]) {
      let total = 0;
      for (let f = lo; f <= hi; f++) total += magnitude2(f);
      out.push(Math.log(total + 1e-6));
    }
  }
  const centroid = power.map(
    (p) => p.reduce((a, pk, k) => a + pk * ((k * SR) / N / 1000), 0) / (p.reduce((a, b) => a + b, 0) + FLOOR),
  );
  const flatness = power.map((p) => Math.exp(mean(p.map((pk) => Math.log(pk + FLOOR)))) / (mean(p) + FLOOR));
  const energy = power.map((p) => Math.log(mean(p) + FLOOR));
  const onsetCurve = Array.from({ length: FRAMES - 1 }, (_, t) =>
    mean(logMel[t + 1].map((v, m) => Math.max(0, v - logMel[t][m]))),
  );
  out.push(
    mean(centroid),
    std(centroid),
    mean(flatness),
    std(flatness),
    mean(energy),
    std(energy),
    max(energy),
    max(onsetCurve),
  );
  return out;
}

export interface ReferenceVisual {
  /** [7][7][14] */
  map: number[][][];
  vector: number[];
}

/** Map and pooled vector of one segment's eight 224x224 RGB24 frames, in documented order. */
export function referenceVisual(frames: Uint8Array[]): ReferenceVisual {
  const W = 56;
  // 4x4 block means per channel, 0..255.
  const small = frames.map((f) =>
    Array.from({ length: W * W }, (_, i) => {
      const [y, x] = [Math.floor(i / W), i % W];
      const rgb = [0, 0, 0];
      for (let dy = 0; dy < 4; dy++)
        for (let dx = 0; dx < 4; dx++)
          for (let c = 0; c < 3; c++) rgb[c] += f[((4 * y + dy) * 224 + 4 * x + dx) * 3 + c] / 16;
      return rgb;
    }),
  );
  const luma = small.map((img) => img.map(([r, g, b]) => (0.299 * r + 0.587 * g + 0.114 * b) / 255));
  const at = (img: number[], y: number, x: number) =>
    img[Math.min(W - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))];
  const edges = luma.map((img) =>
    img.map((_, i) => {
      const [y, x] = [Math.floor(i / W), i % W];
      const p = (dy: number, dx: number) => at(img, y + dy, x + dx);
      const gx = (p(-1, 1) + 2 * p(0, 1) + p(1, 1) - p(-1, -1) - 2 * p(0, -1) - p(1, -1)) / 8;
      const gy = (p(1, -1) + 2 * p(1, 0) + p(1, 1) - p(-1, -1) - 2 * p(-1, 0) - p(-1, 1)) / 8;
      return Math.hypot(gx, gy);
    }),
  );
  const cellPixels = (cy: number, cx: number) => {
    const idx: number[] = [];
    for (let y = cy * 8; y < cy * 8 + 8; y++) for (let x = cx * 8; x < cx * 8 + 8; x++) idx.push(y * W + x);
    return idx;
  };
  const F = frames.length;
  const stepMotion: number[][] = []; // [step][cell]
  for (let t = 0; t + 1 < F; t++) {
    stepMotion.push(
      Array.from({ length: 49 }, (_, c) =>
        mean(cellPixels(Math.floor(c / 7), c % 7).map((i) => Math.abs(luma[t + 1][i] - luma[t][i]))),
      ),
    );
  }
  const hueOf = ([r, g, b]: number[]) =>
    [0, 60, 120, 180, 240, 300].map((deg) => {
      const [c, s] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
      return Math.max(0, (r - (g + b) / 2) * c + (Math.sqrt(3) / 2) * (g - b) * s) / 255;
    });
  const pixelDescriptor = (rgb: number[]) => [...rgb.map((v) => v / 255), ...hueOf(rgb)];
  const map = Array.from({ length: 7 }, (_, cy) =>
    Array.from({ length: 7 }, (_, cx) => {
      const px = cellPixels(cy, cx);
      const perFrame = (fn: (t: number) => number) => mean(Array.from({ length: F }, (_, t) => fn(t)));
      const colour = [0, 1, 2].map((c) => perFrame((t) => mean(px.map((i) => small[t][i][c]))) / 255);
      const lumaMean = perFrame((t) => mean(px.map((i) => luma[t][i])));
      const contrast = perFrame((t) => std(px.map((i) => luma[t][i])));
      const chroma = perFrame((t) => mean(px.map((i) => max(small[t][i]) - Math.min(...small[t][i])))) / 255;
      const edge = perFrame((t) => mean(px.map((i) => edges[t][i])));
      const motion = mean(stepMotion.map((s) => s[cy * 7 + cx]));
      const hues = [0, 1, 2, 3, 4, 5].map((h) => perFrame((t) => mean(px.map((i) => hueOf(small[t][i])[h]))));
      return [...colour, lumaMean, contrast, chroma, edge, motion, ...hues];
    }),
  );
  const cells = map.flat();
  const channel = (d: number) => cells.map((c) => c[d]);
  const weights = cells.map((c) => c[7] + 1e-4);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const salience = cells.map((c) => Math.exp(20 * c[5]));
  const ssum = salience.reduce((a, b) => a + b, 0);
  const dims = Array.from({ length: 14 }, (_, d) => d);
  const frameMeans = luma.map((img) => mean(img));
  /** Weighted mean of pixel descriptors over (frame, pixel) pairs. */
  const pooled = (pairs: [number, number][], weight: (t: number, i: number) => number) => {
    const total = pairs.reduce((a, [t, i]) => a + weight(t, i), 0);
    const out = new Array<number>(9).fill(0);
    for (const [t, i] of pairs)
      pixelDescriptor(small[t][i]).forEach((v, d) => (out[d] += (v * weight(t, i)) / total));
    return out;
  };
  const all: [number, number][] = [];
  for (let t = 0; t < F; t++) for (let i = 0; i < W * W; i++) all.push([t, i]);
  const chromaOf = (t: number, i: number) => (max(small[t][i]) - Math.min(...small[t][i])) / 255;
  const vector = [
    ...dims.map((d) => mean(channel(d))),
    ...dims.map((d) => max(channel(d))),
    ...dims.map((d) => std(channel(d))),
    ...dims.map((d) => cells.reduce((a, c, i) => a + c[d] * weights[i], 0) / wsum),
    ...dims.map((d) => cells.reduce((a, c, i) => a + c[d] * salience[i], 0) / ssum),
    mean(luma.map((img) => std(img))),
    std(frameMeans),
    max(stepMotion.map((s) => mean(s))),
    ...pooled(all, (t, i) => Math.exp(20 * chromaOf(t, i))),
    ...pooled(
      all.filter(([t]) => t > 0),
      (t, i) => Math.abs(luma[t][i] - luma[t - 1][i]) + 1e-4,
    ),
  ];
  return { map, vector };
}
