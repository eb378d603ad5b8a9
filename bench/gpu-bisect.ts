// Finds where a training step computed on a device provider first departs from the CPU: every
// intermediate tensor of one training step of a parser becomes a graph output, the step runs once on
// the CPU and once on the device provider with the same inputs, and the nodes are listed in graph
// order with the relative difference of their outputs. The first nodes over the threshold are where
// to look (an operator kernel the provider computes differently). Run on the GPU machine by
// scripts/gpu-check.sh when AVVP_GPU_BISECT=1.
//
//   node dist-gpu/bench/gpu-bisect.js [--provider cuda] [--hidden 64 --layers 1 --batch 8] [--threshold 1e-2]

import * as ort from 'onnxruntime-node';
import { ortTensor, parseProviders } from '../src/engine/session.js';
import { buildTrainingStep } from '../src/engine/step.js';
import { concreteShape } from '../src/engine/session.js';
import { parserConfig } from '../src/models/parsers/config.js';
import { parserSpec } from '../src/models/parsers/index.js';
import { Rng } from '../src/util/rng.js';
import { maxRelDiff } from './stats.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const [provider] = parseProviders(arg('provider', 'cuda'));
const threshold = Number(arg('threshold', '1e-2'));
const kind = arg('kind', 'han') as 'han' | 'link';

/** [hidden, layers, batch] per run: a small model, then the VALOR++ size at a small batch. */
const configs = args.includes('--hidden')
  ? [[Number(arg('hidden', '64')), Number(arg('layers', '1')), Number(arg('batch', '8'))]]
  : [
      [64, 1, 8],
      [256, 4, 16],
    ];
for (const [hidden, layers, batch] of configs) await bisect(hidden, layers, batch);

async function bisect(hidden: number, layers: number, batch: number): Promise<void> {
  const config = parserConfig(kind, {
    hidden,
    heads: Math.min(8, hidden / 8),
    ffn: hidden * 4,
    layers,
    dropout: 0.1,
    audioDim: 128,
    visualDim: 512,
    classes: 25,
  });
  const step = buildTrainingStep(parserSpec(config, { name: `${kind}-bisect`, seed: 1 }));
  const g = step.graph;
  // Every node output becomes a graph output (named dbg.<n>.<tensor>), in graph order.
  const watched: { output: string; tensor: string; op: string; node: string }[] = [];
  g.nodes.slice().forEach((node, n) => {
    for (const name of node.outputs) {
      if (!name || g.outputs.some((o) => o.tensor.name === name)) continue;
      const output = `dbg.${n}.${name}`;
      g.output(g.tensor(name), output);
      watched.push({ output, tensor: name, op: node.op, node: node.name });
    }
  });
  const bytes = g.toBytes({ paramsAsInputs: true });

  const rng = new Rng(3);
  const bindings = { batch };
  const feeds: Record<string, ort.Tensor> = {};
  const random = (shape: number[], f: () => number) =>
    ortTensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f), shape);
  for (const t of step.batchInputs) {
    const shape = concreteShape(t.shape, bindings);
    feeds[t.name] =
      t.name.startsWith('pseudo') || t.name === 'labels'
        ? random(shape, () => (rng.bool(0.15) ? 1 : 0))
        : random(shape, () => rng.normal());
  }
  for (const p of step.params) feeds[p.name] = ortTensor('float32', p.data as Float32Array, p.shape);
  for (const s of step.slots) {
    const p = step.params.find((x) => x.name === s.param)!;
    feeds[s.name] = random(p.shape, () =>
      s.slot === 'v' ? Math.abs(rng.normal()) * 1e-4 : rng.normal() * 1e-3,
    );
  }
  for (const n of step.noise) feeds[n.name] = random(concreteShape(n.shape, bindings), () => rng.next());
  feeds['optim.lr'] = ortTensor('float32', Float32Array.of(1e-4), []);
  feeds['optim.step'] = ortTensor('float32', Float32Array.of(3), []);

  async function runOn(
    model: Uint8Array,
    p: string,
    level: 'all' | 'disabled' = 'all',
  ): Promise<ort.InferenceSession.ReturnType> {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: p === 'cpu' ? ['cpu'] : [p, 'cpu'],
      graphOptimizationLevel: level,
    });
    const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]])));
    await session.release();
    return out;
  }

  const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => maxRelDiff(a, b, 1e-6);
  // The plain step graph (as the trainer runs it, fusions allowed), then without graph optimisations.
  const plainCpu = await runOn(step.bytes, 'cpu');
  for (const level of ['all', 'disabled'] as const) {
    const plain = await runOn(step.bytes, provider, level);
    const worst = Object.keys(plainCpu)
      .filter((n) => n.startsWith('next.'))
      .map((n) => [n, rel(plainCpu[n].data as Float32Array, plain[n].data as Float32Array)] as const)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5);
    console.log(
      `plain step, ${provider} (optimisation ${level}) vs cpu: loss ${plainCpu.loss.data[0]} vs ${plain.loss.data[0]}, grad_norm ${plainCpu.grad_norm.data[0]} vs ${plain.grad_norm.data[0]}; worst: ${worst.map(([n, d]) => `${n} ${d.toExponential(2)}`).join('; ')}`,
    );
  }
  // Three steps in a row, each fed the previous step's next.* outputs, as the trainer does: are the
  // output tensors' buffers still intact after later runs (onnxruntime may reuse them), and do the
  // chained results match the CPU's? With `copy`, outputs are copied into fresh arrays first.
  async function chain(
    p: string,
    copy: boolean,
  ): Promise<{ params: Record<string, Float32Array>; reused: string[] }> {
    const session = await ort.InferenceSession.create(step.bytes, {
      executionProviders: p === 'cpu' ? ['cpu'] : [p, 'cpu'],
    });
    const state = { ...feeds };
    let first: ort.InferenceSession.ReturnType | undefined;
    const snapshot: Record<string, Float32Array> = {};
    for (let k = 0; k < 3; k++) {
      const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, state[n]])));
      if (!first) {
        first = out;
        for (const [n, t] of Object.entries(out)) snapshot[n] = Float32Array.from(t.data as Float32Array);
      }
      for (const [n, t] of Object.entries(out)) {
        if (!n.startsWith('next.')) continue;
        const data = copy ? Float32Array.from(t.data as Float32Array) : (t.data as Float32Array);
        state[n.slice('next.'.length)] = copy ? ortTensor('float32', data, [...t.dims]) : t;
      }
    }
    const reused = Object.keys(snapshot).filter((n) => rel(snapshot[n], first![n].data as Float32Array) > 0);
    const params = Object.fromEntries(
      step.params.map((q) => [q.name, Float32Array.from(state[q.name].data as Float32Array)]),
    );
    await session.release();
    return { params, reused };
  }
  const chainCpu = await chain('cpu', true);
  for (const copy of [false, true]) {
    const c = await chain(provider, copy);
    const worst = Math.max(...Object.keys(chainCpu.params).map((n) => rel(chainCpu.params[n], c.params[n])));
    console.log(
      `3 chained steps on ${provider}${copy ? ', outputs copied' : ''}: params max rel. diff vs cpu ${worst.toExponential(2)}; first run's outputs changed by later runs: ${c.reused.length}${c.reused.length ? ` (e.g. ${c.reused.slice(0, 3).join(', ')})` : ''}`,
    );
  }
  const cpuReuse = await chain('cpu', false);
  console.log(
    `3 chained steps on cpu, not copied: first run's outputs changed by later runs: ${cpuReuse.reused.length}`,
  );
  const cpu = await runOn(bytes, 'cpu');
  const device = await runOn(bytes, provider);
  console.log(
    `bisect ${kind} hidden ${hidden} layers ${layers} batch ${batch}: ${watched.length} intermediate tensors, ${provider} vs cpu`,
  );
  for (const name of ['loss', 'grad_norm', ...step.terms.map((t) => `term.${t}`)])
    console.log(`  ${name}: cpu ${cpu[name].data[0]}  ${provider} ${device[name].data[0]}`);
  let shown = 0;
  for (const w of watched) {
    const a = cpu[w.output];
    const b = device[w.output];
    if (!a || !b || a.type === 'bool' || a.type === 'string') continue;
    const d = rel(a.data as ArrayLike<number>, b.data as ArrayLike<number>);
    if (d > threshold && shown < 25) {
      shown++;
      const node = g.nodes.find((n) => n.name === w.node)!;
      console.log(
        `  ${w.op.padEnd(12)} ${w.node} -> ${w.tensor} [${a.dims}] rel. diff ${d.toExponential(2)}; inputs ${node.inputs.join(', ')}; attrs ${JSON.stringify(node.attrs)}`,
      );
    }
  }
  let worstNext = [] as [string, number][];
  for (const name of Object.keys(cpu).filter((n) => n.startsWith('next.')))
    worstNext.push([name, rel(cpu[name].data as Float32Array, device[name].data as Float32Array)]);
  worstNext = worstNext.sort((x, y) => y[1] - x[1]).slice(0, 8);
  console.log(
    `  worst updated parameters: ${worstNext.map(([n, d]) => `${n} ${d.toExponential(2)}`).join('; ')}`,
  );
  console.log(
    shown === 0 ? `  no intermediate tensor differs by more than ${threshold}` : `  (${shown} shown)`,
  );
}
