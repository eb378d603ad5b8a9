import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dropout, linear, mlp } from '../../src/engine/nn/index.js';
import { Graph } from '../../src/engine/onnx/builder.js';
import { ortTensor } from '../../src/engine/session.js';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { bceWithLogits, mse } from '../../src/engine/losses.js';
import { constant, stepDecay, warmupCosine } from '../../src/engine/schedule.js';
import { TrainSpec } from '../../src/engine/step.js';
import { Trainer, TrainingError, tensorDataset } from '../../src/engine/trainer.js';
import { spirals } from './tasks.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-trainer-');

const { points, labels } = spirals(48, 1);
const data = tensorDataset({
  points: { dtype: 'float32', data: points, sampleShape: [2] },
  label: { dtype: 'float32', data: labels, sampleShape: [] },
});

/** A small model with dropout, AdamW, clipping and EMA: every piece of state a resume must restore. */
const stateful: TrainSpec = {
  name: 'stateful',
  seed: 3,
  model: (g: Graph) => {
    const x = g.input('points', 'float32', ['batch', 2]);
    const h = dropout(g, g.relu(linear(g, x, 16, { name: 'hidden' })), 0.3);
    return { logit: g.squeeze(linear(g, h, 1, { name: 'out' }), [1]) };
  },
  loss: (g, out) => ({ bce: bceWithLogits(g, out.logit, g.input('label', 'float32', ['batch'])) }),
  optimizer: { kind: 'adamw', weightDecay: 0.05 },
  clipNorm: 0.5,
  emaDecay: 0.9,
};

const fitOpts = { batchSize: 10, schedule: warmupCosine({ base: 0.02, warmup: 5, total: 40 }) };

describe('trainer', () => {
  it('resuming from a checkpoint reproduces the uninterrupted run exactly', async () => {
    const straight = await Trainer.create(stateful, { seed: 9 });
    await straight.fit(data, { ...fitOpts, epochs: 4 });

    const dir = await tmp();
    const first = await Trainer.create(stateful, { seed: 9 });
    await first.fit(data, { ...fitOpts, epochs: 2, checkpointDir: dir });
    const resumed = await Trainer.resume(stateful, join(dir, 'last.ckpt'), { seed: 12345 });
    expect(resumed.epoch).toBe(2);
    await resumed.fit(data, { ...fitOpts, epochs: 4 });

    for (const which of ['current', 'ema'] as const) {
      const a = straight.parameters(which);
      const b = resumed.parameters(which);
      for (const [name, values] of a)
        expect(Array.from(b.get(name)!), `${which} ${name}`).toEqual(Array.from(values));
    }
    expect(resumed.history).toEqual(straight.history);
    expect(resumed.step).toBe(straight.step);
  });

  it('one AdamW step matches a direct computation, with weight decay only on matrices', async () => {
    const target = [1, -2, 3];
    const spec: TrainSpec = {
      name: 'adam-check',
      seed: 0,
      float: 'float64',
      model: (g) => ({ w: g.param('w', [1, 3], [0.5, 0.5, 0.5]), b: g.param('b', [3], [0.1, 0.2, 0.3]) }),
      loss: (g, out) => ({ fit: mse(g, g.add(out.w, out.b), g.constant(target, [1, 3])) }),
      optimizer: { kind: 'adamw', beta1: 0.8, beta2: 0.9, eps: 1e-8, weightDecay: 0.1 },
    };
    const t = await Trainer.create(spec);
    const lr = 0.05;
    await t.trainStep({}, lr);
    const w = [0.5, 0.5, 0.5];
    const b = [0.1, 0.2, 0.3];
    const grad = target.map((c, i) => (2 * (w[i] + b[i] - c)) / 3);
    // Step 1: m = (1-b1) g, v = (1-b2) g^2; the bias corrections make the step lr * sign(g).
    const adam = (p: number, gi: number, decay: boolean) => {
      const mhat = ((1 - 0.8) * gi) / (1 - 0.8);
      const vhat = ((1 - 0.9) * gi * gi) / (1 - 0.9);
      return p - lr * (mhat / (Math.sqrt(vhat) + 1e-8) + (decay ? 0.1 * p : 0));
    };
    const params = t.parameters();
    Array.from(params.get('w')!).forEach((v, i) => expect(v).toBeCloseTo(adam(w[i], grad[i], true), 12));
    Array.from(params.get('b')!).forEach((v, i) => expect(v).toBeCloseTo(adam(b[i], grad[i], false), 12));
  });

  it('SGD with momentum, global-norm clipping and parameter EMA match a direct computation', async () => {
    const spec: TrainSpec = {
      name: 'sgd-check',
      seed: 0,
      float: 'float64',
      model: (g) => ({ w: g.param('w', [2], [3, 4]) }),
      // loss = (w0^2 + w1^2) / 2, so the gradient is w (norm 5 at the start).
      loss: (g, out) => ({ half_square: g.mul(g.sumAll(g.mul(out.w, out.w)), 0.5) }),
      optimizer: { kind: 'sgd', momentum: 0.5 },
      clipNorm: 1,
      emaDecay: 0.75,
    };
    const t = await Trainer.create(spec);
    let w = [3, 4];
    let buf = [0, 0];
    let ema = [3, 4];
    for (let step = 0; step < 3; step++) {
      const result = await t.trainStep({}, 0.1);
      const norm = Math.hypot(w[0], w[1]);
      expect(result.grad_norm).toBeCloseTo(norm, 12);
      const scale = Math.min(1, 1 / (norm + 1e-6));
      buf = buf.map((m, i) => 0.5 * m + w[i] * scale);
      w = w.map((v, i) => v - 0.1 * buf[i]);
      ema = ema.map((e, i) => 0.75 * e + 0.25 * w[i]);
      Array.from(t.parameters().get('w')!).forEach((v, i) => expect(v).toBeCloseTo(w[i], 12));
      Array.from(t.parameters('ema').get('w')!).forEach((v, i) => expect(v).toBeCloseTo(ema[i], 12));
    }
  });

  it('stops on a non-finite loss, naming the step and the loss term, and leaves parameters unchanged', async () => {
    const spec: TrainSpec = {
      name: 'nan',
      seed: 0,
      model: (g) => ({ w: g.param('w', [2], [1, -1]) }),
      loss: (g, out) => ({ fine: g.sumAll(g.mul(out.w, out.w)), broken: g.sumAll(g.log(out.w)) }),
      optimizer: { kind: 'sgd' },
    };
    const t = await Trainer.create(spec);
    const before = Array.from(t.parameters().get('w')!);
    await expect(t.trainStep({}, 0.1)).rejects.toThrow(TrainingError);
    await expect(t.trainStep({}, 0.1)).rejects.toThrow(/epoch 1, step 1: loss term 'broken' = NaN/);
    expect(Array.from(t.parameters().get('w')!)).toEqual(before);
  });

  it('keeps frozen parameters fixed and refuses parameters that do not affect the loss', async () => {
    const spec: TrainSpec = {
      name: 'frozen',
      seed: 1,
      model: (g) => {
        const x = g.input('points', 'float32', ['batch', 2]);
        return { logit: g.squeeze(mlp(g, x, { name: 'mlp', dims: [8, 1] }), [1]) };
      },
      loss: (g, out) => ({ bce: bceWithLogits(g, out.logit, g.input('label', 'float32', ['batch'])) }),
      optimizer: { kind: 'adamw' },
      frozen: (name) => name.startsWith('mlp.layers.0.'),
    };
    // Pretrained values for the frozen layer: used as given and never updated.
    const pretrained = Array.from({ length: 16 }, (_, i) => (i % 5) / 4 - 0.5);
    const t = await Trainer.create(spec, { initial: new Map([['mlp.layers.0.weight', pretrained]]) });
    const before = t.parameters();
    await t.fit(data, { ...fitOpts, epochs: 1 });
    const after = t.parameters();
    expect(Array.from(after.get('mlp.layers.0.weight')!)).toEqual(pretrained);
    expect(Array.from(after.get('mlp.layers.1.weight')!)).not.toEqual(
      Array.from(before.get('mlp.layers.1.weight')!),
    );

    const unused: TrainSpec = {
      ...spec,
      name: 'unused',
      frozen: undefined,
      model: (g) => ({ ...spec.model(g), extra: g.param('extra', [2], 'zeros') }),
    };
    await expect(Trainer.create(spec, { initial: new Map([['mlp.nope', [1]]]) })).rejects.toThrow(
      /initial values given for unknown parameter 'mlp.nope'/,
    );
    await expect(Trainer.create(spec, { initial: new Map([['mlp.layers.1.bias', [1, 2]]]) })).rejects.toThrow(
      /'mlp.layers.1.bias' have 2 elements, the parameter \[1\] has 1/,
    );
    await expect(Trainer.create({ ...spec, emaDecay: 1 })).rejects.toThrow(
      /emaDecay must be in \[0, 1\), got 1/,
    );
    await expect(Trainer.create({ ...spec, clipNorm: 0 })).rejects.toThrow(
      /clipNorm must be positive, got 0/,
    );
    await expect(Trainer.create({ ...spec, optimizer: { kind: 'adamw', beta1: 1 } })).rejects.toThrow(
      /AdamW beta1 must be in \[0, 1\), got 1/,
    );
    await expect(Trainer.create(unused)).rejects.toThrow(
      /parameter 'extra' does not influence the loss; freeze it or remove it/,
    );
  });

  it('selects and saves the best epoch, logs each epoch and shows progress', async () => {
    const dir = await tmp();
    const lines: string[] = [];
    let written = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        written += String(chunk);
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const t = await Trainer.create(stateful, { seed: 2 });
    const scores = [0.5, 0.9, 0.7];
    await t.fit(data, {
      ...fitOpts,
      epochs: 3,
      evaluate: async (_t, epoch) => ({ score: scores[epoch - 1] }),
      select: { metric: 'score', mode: 'max' },
      checkpointDir: dir,
      log: (l) => lines.push(l),
      progress: { stream, plain: true },
    });
    expect(t.best).toEqual({ metric: 'score', value: 0.9, epoch: 2 });
    expect((await loadCheckpoint(join(dir, 'best.ckpt'))).epoch).toBe(2);
    expect((await loadCheckpoint(join(dir, 'last.ckpt'))).epoch).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^stateful epoch 2\/3 .*loss [0-9.]+ .*score 0\.9.*\(best\)$/);
    expect(written).toMatch(/stateful epoch 1\/3 10 batch\/10 batch 100\.0%.*loss [0-9.]+/);
    const best = t.parameters('best');
    const exported = await t.predict({ points: ortTensor('float32', points.subarray(0, 4), [2, 2]) }, 'best');
    expect(exported.logit.dims).toEqual([2]);
    expect(best.size).toBe(4);
  });

  it('rejects bad batches with messages naming the input', async () => {
    const t = await Trainer.create(stateful);
    const good = data.batch([0, 1]);
    await expect(t.trainStep({ points: good.points }, 0.1)).rejects.toThrow(
      /batch: no input 'label' \(given: points\)/,
    );
    await expect(
      t.trainStep({ ...good, points: ortTensor('float64', new Float64Array(4), [2, 2]) }, 0.1),
    ).rejects.toThrow(/batch: input 'points' must be float32, got float64/);
    await expect(
      t.trainStep({ ...good, points: ortTensor('float32', new Float32Array(6), [2, 3]) }, 0.1),
    ).rejects.toThrow(/'points' must have shape \[batch,2\], got \[2,3\]/);
    await expect(
      t.trainStep({ ...good, label: ortTensor('float32', new Float32Array(3), [3]) }, 0.1),
    ).rejects.toThrow(/batch: dimension 'batch' is 2 in one input but 3 in 'label'/);
    await expect(t.predict({ points: ortTensor('float32', new Float32Array(3), [1, 3]) })).rejects.toThrow(
      /predict: input 'points' must have shape \[batch,2\], got \[1,3\]/,
    );
    await expect(t.predict({})).rejects.toThrow(/predict: no input 'points'/);
    await expect(t.fit(data, { ...fitOpts, epochs: 1, batchSize: 0 })).rejects.toThrow(
      /batchSize must be an integer >= 1, got 0/,
    );
    await expect(t.fit(data, { ...fitOpts, epochs: 1, batchSize: 2.5 })).rejects.toThrow(
      /batchSize must be an integer >= 1, got 2.5/,
    );
    for (const epochs of [Number.NaN, Infinity, -1]) {
      await expect(t.fit(data, { ...fitOpts, epochs })).rejects.toThrow(/epochs must be an integer >= 0/);
    }
    expect(() =>
      tensorDataset({ a: { dtype: 'float32', data: new Float32Array(5), sampleShape: [2] } }),
    ).toThrow(/5 values do not divide into samples of \[2\]/);
    expect(() =>
      tensorDataset({ ids: { dtype: 'int64', data: new Float32Array(4), sampleShape: [2] } }),
    ).toThrow(/column 'ids': dtype int64 needs a BigInt64Array, got a Float32Array/);
  });

  it('rejects missing, corrupt, truncated and mismatched checkpoints', async () => {
    const dir = await tmp();
    await expect(Trainer.resume(stateful, join(dir, 'none.ckpt'))).rejects.toThrow(
      /cannot read checkpoint .*none\.ckpt \(ENOENT\)/,
    );
    writeFileSync(join(dir, 'junk.ckpt'), 'not a checkpoint at all');
    await expect(Trainer.resume(stateful, join(dir, 'junk.ckpt'))).rejects.toThrow(/not an avvp checkpoint/);
    const t = await Trainer.create(stateful);
    await t.fit(data, { ...fitOpts, epochs: 1, checkpointDir: dir });
    const bytes = readFileSync(join(dir, 'last.ckpt'));
    writeFileSync(join(dir, 'cut.ckpt'), bytes.subarray(0, bytes.length - 10));
    await expect(Trainer.resume(stateful, join(dir, 'cut.ckpt'))).rejects.toThrow(
      /truncated \(tensor '.*' cut off\)/,
    );
    const other: TrainSpec = { ...stateful, name: 'other', optimizer: { kind: 'sgd', momentum: 0.9 } };
    await expect(Trainer.resume(other, join(dir, 'last.ckpt'))).rejects.toThrow(
      /written for a different model or optimizer \('stateful'\)/,
    );
    expect(existsSync(join(dir, 'last.ckpt.tmp'))).toBe(false);
  });
});

describe('schedules', () => {
  it('warm-up + cosine and step decay', () => {
    const s = warmupCosine({ base: 1, warmup: 4, total: 14, min: 0.1 });
    expect([0, 1, 3].map(s)).toEqual([0.25, 0.5, 1]);
    expect(s(9)).toBeCloseTo(0.55, 12);
    expect(s(14)).toBeCloseTo(0.1, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
    const d = stepDecay({ base: 1, every: 10, gamma: 0.5 });
    expect([0, 9, 10, 25].map(d)).toEqual([1, 1, 0.5, 0.25]);
    expect(constant(0.3)(1000)).toBe(0.3);
    expect(() => warmupCosine({ base: 1, warmup: 5, total: 2 })).toThrow(/warmup/);
    expect(() => stepDecay({ base: 1, every: 0, gamma: 0.5 })).toThrow(/'every' must be positive/);
  });
});
