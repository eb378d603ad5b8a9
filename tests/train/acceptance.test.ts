import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encoderLayer, embedding, linear, meanPool, mlp } from '../../src/engine/nn/index.js';
import { readManifest } from '../../src/models/manifest.js';
import { Graph } from '../../src/engine/onnx/builder.js';
import { openSession, ortTensor } from '../../src/engine/session.js';
import { exportModel } from '../../src/models/export.js';
import { bceWithLogits, crossEntropy } from '../../src/engine/losses.js';
import { warmupCosine } from '../../src/engine/schedule.js';
import { TrainSpec } from '../../src/engine/step.js';
import { Trainer, tensorDataset } from '../../src/engine/trainer.js';
import { orderTask, spirals } from '../engine/tasks.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-export-');

const spiralSpec: TrainSpec = {
  name: 'spirals-mlp',
  seed: 1,
  model: (g: Graph) => {
    const x = g.input('points', 'float32', ['batch', 2]);
    // Declared but unused: pruned from the exported file, its manifest and the training feeds.
    g.input('unused', 'float32', ['batch']);
    return { logit: g.squeeze(mlp(g, x, { name: 'mlp', dims: [64, 64, 1], activation: 'relu' }), [1]) };
  },
  loss: (g, out) => ({ bce: bceWithLogits(g, out.logit, g.input('label', 'float32', ['batch'])) }),
  optimizer: { kind: 'adamw', weightDecay: 0 },
};

describe('acceptance', () => {
  it('an MLP separates two interleaved spirals (>= 99%) and exports an equivalent model', async () => {
    const { points, labels } = spirals(200, 3);
    const data = tensorDataset({
      points: { dtype: 'float32', data: points, sampleShape: [2] },
      label: { dtype: 'float32', data: labels, sampleShape: [] },
    });
    const trainer = await Trainer.create(spiralSpec, { seed: 2 });
    const all = { points: ortTensor('float32', points, [400, 2]) };
    const accuracy = async () => {
      const logits = (await trainer.predict(all)).logit.data as Float32Array;
      return logits.reduce((n, v, i) => n + ((v > 0 ? 1 : 0) === labels[i] ? 1 : 0), 0) / labels.length;
    };
    const epochs = 40;
    await trainer.fit(data, {
      epochs,
      batchSize: 32,
      schedule: warmupCosine({ base: 0.01, warmup: 20, total: epochs * 13, min: 0.0005 }),
    });
    const trainAccuracy = await accuracy();
    expect(trainAccuracy).toBeGreaterThanOrEqual(0.99);

    // Export -> fresh session -> same outputs as the trainer's forward graph.
    const dir = await tmp();
    const exported = await exportModel(spiralSpec, trainer.parameters(), {
      dir,
      manifest: {
        kind: 'classifier',
        version: '1',
        provenance: { source: 'tests/train/acceptance.test.ts', seed: 1 },
        metrics: { accuracy: trainAccuracy },
      },
    });
    expect(exported.manifest.inputs).toEqual([{ name: 'points', dtype: 'float32', shape: ['batch', 2] }]);
    // The manifest on disk is the returned one, and its sha256 is the written file's.
    expect(await readManifest(exported.manifestPath)).toEqual(exported.manifest);
    expect(exported.manifest.sha256).toBe(
      createHash('sha256').update(readFileSync(exported.onnxPath)).digest('hex'),
    );
    expect(exported.manifest).toMatchObject({ kind: 'classifier', metrics: { accuracy: trainAccuracy } });
    expect(exported.manifest.provenance?.sha256Source).toBe('export');
    const { session } = await openSession(exported.onnxPath, { providers: ['cpu'] });
    expect(session.inputNames).toEqual(['points']);
    const fresh = (await session.run(all)).logit.data as Float32Array;
    const forward = (await trainer.predict(all)).logit.data as Float32Array;
    // Relative to the logit's size: float32 spacing at |logit| ~ 20 is already 2e-6, and the
    // exported graph (weights as initializers) lets onnxruntime fuse ops differently.
    const maxDiff = fresh.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - forward[i]) / Math.max(1, Math.abs(forward[i]))),
      0,
    );
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('a 2-layer transformer learns "X before Y" (>= 95%)', async () => {
    const length = 8;
    const vocab = 12;
    const spec: TrainSpec = {
      name: 'order-transformer',
      seed: 4,
      model: (g) => {
        const ids = g.input('ids', 'int64', ['batch', length]);
        const pos = g.scope('pos', () => g.param('weight', [length, 32], { normal: 0.5 }));
        let h = g.add(embedding(g, ids, vocab, 32, { name: 'tokens' }), pos);
        for (let i = 0; i < 2; i++) h = encoderLayer(g, h, { name: `layers.${i}`, heads: 4, ffnHidden: 64 });
        return { logits: linear(g, meanPool(g, h, 1), 2, { name: 'classifier' }) };
      },
      loss: (g, out) => ({ ce: crossEntropy(g, out.logits, g.input('label', 'int64', ['batch'])) }),
      optimizer: { kind: 'adamw', weightDecay: 0.01 },
      clipNorm: 1,
    };
    const trainSet = orderTask(2048, length, vocab, 5);
    const testSet = orderTask(512, length, vocab, 6);
    const data = tensorDataset({
      ids: { dtype: 'int64', data: trainSet.ids, sampleShape: [length] },
      label: { dtype: 'int64', data: trainSet.labels, sampleShape: [] },
    });
    const trainer = await Trainer.create(spec, { seed: 7 });
    const evaluate = async (t: Trainer) => {
      const out = await t.predict({ ids: ortTensor('int64', testSet.ids, [512, length]) });
      const logits = out.logits.data as Float32Array;
      let hits = 0;
      for (let n = 0; n < 512; n++)
        hits += (logits[2 * n + 1] > logits[2 * n] ? 1n : 0n) === testSet.labels[n] ? 1 : 0;
      return { accuracy: hits / 512 };
    };
    const epochs = 5;
    await trainer.fit(data, {
      epochs,
      batchSize: 64,
      schedule: warmupCosine({ base: 3e-3, warmup: 30, total: epochs * 32 }),
      evaluate,
      select: { metric: 'accuracy', mode: 'max' },
      log: process.env.ENGINE_LOG ? console.log : undefined,
    });
    expect(trainer.best!.value).toBeGreaterThanOrEqual(0.95);
  });
});
