// Several training steps per run (stepsPerRun, the Loop graph of src/engine/loop.ts) compute what
// single steps compute: same dropout noise, step numbers, learning rates, optimizer state and EMA,
// and the same stop on a non-finite loss. On the CPU the two paths agree to float rounding.
import { describe, expect, it } from 'vitest';
import { dropout, linear } from '../../src/engine/nn/index.js';
import type { Graph } from '../../src/engine/onnx/builder.js';
import { decodeModel } from '../../src/engine/onnx/proto.js';
import { buildTrainingLoop } from '../../src/engine/loop.js';
import { ortTensor } from '../../src/engine/session.js';
import { buildTrainingStep, type TrainSpec } from '../../src/engine/step.js';
import { warmupCosine } from '../../src/engine/schedule.js';
import { bceWithLogits } from '../../src/engine/losses.js';
import { Trainer, TrainingError, tensorDataset } from '../../src/engine/trainer.js';
import { spirals } from './tasks.js';

const { points, labels } = spirals(33, 2);
const data = tensorDataset({
  points: { dtype: 'float32', data: points, sampleShape: [2] },
  label: { dtype: 'float32', data: labels, sampleShape: [] },
});

const spec: TrainSpec = {
  name: 'looped',
  seed: 5,
  model: (g: Graph) => {
    const x = g.input('points', 'float32', ['batch', 2]);
    const h = dropout(g, g.relu(linear(g, x, 12, { name: 'hidden' })), 0.25);
    return { logit: g.squeeze(linear(g, h, 1, { name: 'out' }), [1]) };
  },
  loss: (g, out) => ({ bce: bceWithLogits(g, out.logit, g.input('label', 'float32', ['batch'])) }),
  optimizer: { kind: 'adamw', weightDecay: 0.05 },
  clipNorm: 0.5,
  emaDecay: 0.9,
};

function expectClose(
  a: Map<string, Float32Array | Float64Array>,
  b: Map<string, Float32Array | Float64Array>,
) {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, values] of a) {
    const other = b.get(name)!;
    for (let i = 0; i < values.length; i++) expect(other[i]).toBeCloseTo(values[i], 5);
  }
}

const batch = (from: number, size: number) => data.batch(Array.from({ length: size }, (_, i) => from + i));

describe('training loop (several steps per run)', () => {
  it('is a Loop over the step graph with the parameters and slots as its state', () => {
    const step = buildTrainingStep(spec);
    const loop = buildTrainingLoop(step);
    const model = decodeModel(loop.bytes);
    const node = model.graph.nodes.find((n) => n.opType === 'Loop')!;
    expect(loop.carried).toEqual([...step.params.map((p) => p.name), ...step.slots.map((s) => s.name)]);
    expect(node.attributes[0].g!.nodes.length).toBeGreaterThan(decodeModel(step.bytes).graph.nodes.length);
    expect(model.graph.outputs.map((o) => o.name)).toContain('steps.loss');
  });

  it('gives the results of single steps: losses, parameters, slots, EMA and step count', async () => {
    const single = await Trainer.create(spec, { seed: 9 });
    const looped = await Trainer.create(spec, { seed: 9, stepsPerRun: 3 });
    const batches = [0, 10, 20, 30, 40].map((from) => batch(from, 10));
    const lrs = [0.02, 0.015, 0.01, 0.01, 0.005];
    const expected: Record<string, number>[] = [];
    for (let k = 0; k < 5; k++) expected.push(await single.trainStep(batches[k], lrs[k]));
    const got = [
      ...(await looped.trainSteps(batches.slice(0, 3), lrs.slice(0, 3))),
      ...(await looped.trainSteps(batches.slice(3), lrs.slice(3))),
    ];
    got.forEach((terms, k) => {
      for (const [name, v] of Object.entries(expected[k])) expect(terms[name]).toBeCloseTo(v, 5);
    });
    expect(looped.step).toBe(5);
    expectClose(single.parameters('current'), looped.parameters('current'));
    expectClose(single.parameters('ema'), looped.parameters('ema'));
  });

  it('fit() with stepsPerRun matches fit() step by step, including a smaller last batch', async () => {
    const opts = { epochs: 2, batchSize: 8, schedule: warmupCosine({ base: 0.02, warmup: 3, total: 20 }) };
    const single = await Trainer.create(spec, { seed: 4 });
    const looped = await Trainer.create(spec, { seed: 4, stepsPerRun: 4 });
    const a = await single.fit(data, opts); // 66 samples: 8 full batches and one of 2 per epoch
    const b = await looped.fit(data, opts);
    expect(b.map((r) => r.epoch)).toEqual(a.map((r) => r.epoch));
    a.forEach((record, i) => expect(b[i].loss).toBeCloseTo(record.loss, 5));
    expect(looped.step).toBe(single.step);
    expectClose(single.parameters('current'), looped.parameters('current'));
  });

  it('stops at the first non-finite step as single steps do, keeping the steps before it', async () => {
    const single = await Trainer.create(spec, { seed: 2 });
    const looped = await Trainer.create(spec, { seed: 2, stepsPerRun: 3 });
    const poisoned = batch(10, 10);
    const nan = Float32Array.from(poisoned.points.data as Float32Array);
    nan[0] = Number.NaN;
    const batches = [
      batch(0, 10),
      { ...poisoned, points: ortTensor('float32', nan, [10, 2]) },
      batch(20, 10),
    ];
    await single.trainStep(batches[0], 0.01);
    await expect(single.trainStep(batches[1], 0.01)).rejects.toThrow(/step 2: /);
    await expect(looped.trainSteps(batches, [0.01, 0.01, 0.01])).rejects.toThrow(TrainingError);
    expect(looped.step).toBe(1);
    expectClose(single.parameters('current'), looped.parameters('current'));
  });

  it('refuses trainSteps without stepsPerRun, mismatched lists and batches of different shapes', async () => {
    await expect((await Trainer.create(spec)).trainSteps([batch(0, 4)], [0.1])).rejects.toThrow(
      /stepsPerRun > 1/,
    );
    const looped = await Trainer.create(spec, { stepsPerRun: 2 });
    await expect(looped.trainSteps([batch(0, 4)], [])).rejects.toThrow(/1 batches and 0 learning rates/);
    await expect(looped.trainSteps([batch(0, 4), batch(4, 3)], [0.1, 0.1])).rejects.toThrow(
      /differ in the shape/,
    );
    await expect(Trainer.create(spec, { stepsPerRun: 0 })).rejects.toThrow(
      /stepsPerRun must be an integer >= 1/,
    );
  });
});
