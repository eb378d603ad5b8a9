// Writes scripts/gpu/fixtures/smoke.onnx, the tiny model scripts/gpu/smoke.mjs runs on the CUDA
// execution provider: x[batch,64] -> MatMul(64x128) + bias -> Relu -> MatMul(128x16) + bias ->
// Softmax, plus LayerNorm-style mean/variance ops (ReduceMean, Sub, Mul, Sqrt, Div) so that the
// common elementwise and reduction kernels load too. Seeded, so the bytes are reproducible.
// Usage: npx tsx scripts/gpu/make-smoke-model.ts [OUT]
import { writeFile } from 'node:fs/promises';
import { Graph } from '../../src/engine/onnx/builder.js';

const out = process.argv[2] ?? 'scripts/gpu/fixtures/smoke.onnx';
const g = new Graph({ name: 'gpu-smoke', seed: 7 });
const x = g.input('x', 'float32', ['batch', 64]);
const mean = g.reduceMean(x, [1], true);
const centred = g.sub(x, mean);
const variance = g.reduceMean(g.mul(centred, centred), [1], true);
const normed = g.div(centred, g.sqrt(g.add(variance, 1e-5)));
const w1 = g.param('w1', [64, 128], { normal: 0.2 });
const b1 = g.param('b1', [128], { uniform: 0.1 });
const h = g.relu(g.add(g.matmul(normed, w1), b1));
const w2 = g.param('w2', [128, 16], { normal: 0.2 });
const b2 = g.param('b2', [16], { uniform: 0.1 });
g.output(g.softmax(g.add(g.matmul(h, w2), b2), -1), 'probs');
const bytes = g.toBytes({ producer: 'avvp-stream gpu smoke' });
await writeFile(out, bytes);
console.log(`wrote ${out} (${bytes.length} bytes)`);
