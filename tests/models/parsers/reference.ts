// Plain-TS float64 references of the LINK modules (test helper), written from the formulas in
// docs/models/link.md without the graph builder. Tensors are nested arrays: [b][t][h].
export type M = number[][];

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
export const relu = (x: number) => Math.max(0, x);

/** x [n][in] W [in][out] + b [out]. */
export function affine(x: M, w: M, b: number[]): M {
  return x.map((row) => b.map((bj, j) => row.reduce((s, xi, i) => s + xi * w[i][j], bj)));
}

export function matmul(a: M, b: M): M {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, x, i) => s + x * b[i][j], 0)));
}

export const transpose = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));

export function softmaxRows(a: M): M {
  return a.map((row) => {
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((p, q) => p + q, 0);
    return e.map((x) => x / s);
  });
}

/** Rows of a flat array: [n * cols] -> n rows. */
export function rows(data: ArrayLike<number>, cols: number): M {
  return Array.from({ length: data.length / cols }, (_, i) =>
    Array.from(data).slice(i * cols, (i + 1) * cols),
  );
}

/** A two-layer MLP with ReLU between (the engine's mlp with dims [h, out]). */
export function mlp2(x: M, w0: M, b0: number[], w1: M, b1: number[]): M {
  return affine(
    affine(x, w0, b0).map((r) => r.map(relu)),
    w1,
    b1,
  );
}

export interface TsamWeights {
  w0: M;
  b0: number[];
  w1: M;
  b1: number[];
  ws: M;
  bs: number[];
  tau: number;
}

/** TSAM on one sample f [T][H] (with the gated residual: f + tau * S * W * f). */
export function tsamRef(f: M, p: TsamWeights): M {
  const avg = f.map((r) => r.reduce((s, x) => s + x, 0) / r.length);
  const max = f.map((r) => Math.max(...r));
  const ta = mlp2([avg], p.w0, p.b0, p.w1, p.b1)[0];
  const tm = mlp2([max], p.w0, p.b0, p.w1, p.b1)[0];
  const weighted = f.map((r, t) => r.map((x) => x * sigmoid(ta[t] + tm[t])));
  const h = f[0].length;
  const pooled = [
    ...Array.from({ length: h }, (_, j) => weighted.reduce((s, r) => s + r[j], 0) / f.length),
    ...Array.from({ length: h }, (_, j) => Math.max(...weighted.map((r) => r[j]))),
  ];
  const s = affine([pooled], p.ws, p.bs)[0].map(sigmoid);
  return weighted.map((r, t) => r.map((x, j) => f[t][j] + p.tau * x * s[j]));
}

/** One direction of the adaptive interaction: q + alpha softmax(q k^T / sqrt(H)) (beta k). */
export function interactionRef(q: M, k: M, alpha: number, beta: number): M {
  const scale = 1 / Math.sqrt(q[0].length);
  const w = softmaxRows(matmul(q, transpose(k)).map((r) => r.map((x) => x * scale)));
  const mixed = matmul(
    w,
    k.map((r) => r.map((x) => x * beta)),
  );
  return q.map((r, i) => r.map((x, j) => x + alpha * mixed[i][j]));
}

export interface PlsimWeights {
  table: M;
  g1: [M, number[], M, number[]];
  g2: [M, number[], M, number[]];
}

/** PLSIM on one sample: f [T][H], class weights p [T][C]. */
export function plsimRef(f: M, p: M, w: PlsimWeights): M {
  const e = p.map((row) => {
    const count = 1 + row.reduce((s, x) => s + x, 0);
    return w.table[0].map((_, d) => row.reduce((s, pc, c) => s + pc * w.table[c][d], 0) / count);
  });
  const gamma1 = mlp2(e, ...w.g1);
  const gamma2 = mlp2(e, ...w.g2);
  return f.map((r, t) => r.map((x, j) => x * gamma1[t][j] + gamma2[t][j] + x));
}

export function lambdaRef(s: number, mu: number): number {
  const k = Math.exp(Math.abs(1 - mu));
  if (s <= -0.2) return 1;
  if (s < 0) return k;
  return k + (1 - k) * s;
}

/** LEAP's AVSS target for one sample, pa/pv [T][C]. */
export function avssTargetRef(pa: M, pv: M): M {
  const count = (p: M) => Math.max(...p.map((r) => r.reduce((s, x) => s + x, 0)));
  const m = Math.max(count(pa), count(pv)) || 1e-8;
  return matmul(pa, transpose(pv)).map((r) => r.map((x) => x / m / (1 + x / m) + 0.01));
}
