// The trainer: runs the training-step graph (one session.run per step) over seeded,
// deterministic shuffles of a dataset; evaluates each epoch, keeps the best parameters, writes
// checkpoints that resume exactly, and stops with a clear message on a non-finite loss.
//
//   const t = await Trainer.create(spec, { seed: 1 });
//   await t.fit(trainData, { epochs: 20, batchSize: 64, schedule, evaluate, select, checkpointDir });
//   await t.predict({ x }) / t.parameters('best') / Trainer.resume(spec, 'ckpt/last.ckpt')
//
// Public API: Trainer, Dataset, tensorDataset, FitOptions, TrainingError.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { DType, Shape, Tensor, TypedData, toTyped } from './onnx/builder.js';
import { OpenOptions, concreteShape, openSession, ortTensor } from './session.js';
import { Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { Checkpoint, CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Schedule } from './schedule.js';
import { TrainSpec, TrainingStep, buildInferenceGraph, buildTrainingStep } from './step.js';
import { LOOP_NAMES, buildTrainingLoop } from './loop.js';

/** A dataset of `size` samples that can assemble the feeds for any list of sample indices. */
export interface Dataset {
  size: number;
  batch(indices: number[]): Record<string, ort.Tensor>;
}

export interface Column {
  dtype: DType;
  /** All samples back to back. */
  data: TypedData;
  /** Shape of one sample (e.g. [10, 128]); [] for scalars. */
  sampleShape: number[];
}

/** A Dataset over in-memory columns, batched along a new leading axis. */
export function tensorDataset(columns: Record<string, Column>): Dataset {
  const names = Object.keys(columns);
  if (names.length === 0) throw new Error('tensorDataset: no columns');
  const sizes = names.map((n) => {
    const c = columns[n];
    const expected = toTyped([], c.dtype).constructor;
    if (c.data.constructor !== expected) {
      throw new Error(
        `column '${n}': dtype ${c.dtype} needs a ${expected.name}, got a ${c.data.constructor.name}`,
      );
    }
    const per = c.sampleShape.reduce((a, b) => a * b, 1);
    if (per === 0 || c.data.length % per !== 0) {
      throw new Error(
        `column '${n}': ${c.data.length} values do not divide into samples of [${c.sampleShape}]`,
      );
    }
    return c.data.length / per;
  });
  if (sizes.some((s) => s !== sizes[0])) {
    throw new Error(
      `columns have different sample counts: ${names.map((n, i) => `${n}=${sizes[i]}`).join(', ')}`,
    );
  }
  return {
    size: sizes[0],
    batch(indices) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const n of names) {
        const c = columns[n];
        const per = c.sampleShape.reduce((a, b) => a * b, 1);
        const Ctor = c.data.constructor as new (n: number) => TypedData;
        const out = new Ctor(indices.length * per);
        indices.forEach((s, i) =>
          (out as Float32Array).set((c.data as Float32Array).subarray(s * per, (s + 1) * per), i * per),
        );
        feeds[n] = ortTensor(c.dtype, out, [indices.length, ...c.sampleShape]);
      }
      return feeds;
    },
  };
}

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

export interface FitOptions {
  /** Train until this many epochs are done in total (a resumed run continues from its epoch). */
  epochs: number;
  batchSize: number;
  schedule: Schedule;
  /** Metrics on held-out data after each epoch. */
  evaluate?: (trainer: Trainer, epoch: number) => Promise<Record<string, number>>;
  /** Metric that selects the best epoch. */
  select?: { metric: string; mode: 'max' | 'min' };
  /** Writes last.ckpt after every epoch and best.ckpt when the selected metric improves. */
  checkpointDir?: string;
  /** Progress display (bar with ETA on a TTY, plain lines otherwise); off by default. */
  progress?: { stream?: NodeJS.WriteStream; plain?: boolean };
  /** One line per epoch. */
  log?: (line: string) => void;
}

export interface TrainerOptions extends Pick<OpenOptions, 'providers' | 'log' | 'intraOpThreads'> {
  /** Seed for shuffling and dropout noise (default 0). */
  seed?: number;
  /** Start from these parameter values (by name) instead of the seeded initialisation. */
  initial?: Map<string, ArrayLike<number>>;
  /**
   * Training steps per session.run (default 1). Above 1, fit() runs that many steps at once in a
   * Loop graph (loop.ts), so parameters and optimizer state stay on the GPU between them; the
   * results are those of single steps.
   */
  stepsPerRun?: number;
}

type Values = Map<string, ort.Tensor>;
/** Parameter values (always float). */
export type FloatData = Float32Array | Float64Array;

export class Trainer {
  epoch = 0;
  step = 0;
  history: Record<string, number>[] = [];
  best?: { metric: string; value: number; epoch: number };
  private bestValues?: Map<string, FloatData>;

  private constructor(
    readonly spec: TrainSpec,
    readonly graph: TrainingStep,
    private readonly session: ort.InferenceSession,
    private readonly inference: ort.InferenceSession,
    private readonly inferenceInputs: Tensor[],
    private readonly values: Values,
    private rng: Rng,
    private readonly loop: { session: ort.InferenceSession; carried: string[] } | undefined,
    readonly stepsPerRun: number,
  ) {}

  static async create(spec: TrainSpec, opts: TrainerOptions = {}): Promise<Trainer> {
    const stepsPerRun = opts.stepsPerRun ?? 1;
    if (!(Number.isInteger(stepsPerRun) && stepsPerRun >= 1))
      throw new Error(`stepsPerRun must be an integer >= 1, got ${opts.stepsPerRun}`);
    const graph = buildTrainingStep(spec, opts.initial);
    const open: OpenOptions = {
      providers: opts.providers ?? ['cpu'],
      log: opts.log,
      intraOpThreads: opts.intraOpThreads,
    };
    const { session } = await openSession(graph.bytes, open);
    const inferenceGraph = buildInferenceGraph(spec);
    const { session: inference } = await openSession(inferenceGraph.toBytes({ paramsAsInputs: true }), open);
    let loop;
    if (stepsPerRun > 1) {
      const built = buildTrainingLoop(graph);
      loop = { session: (await openSession(built.bytes, open)).session, carried: built.carried };
    }
    const values: Values = new Map();
    for (const p of [...graph.params, ...graph.frozen])
      values.set(p.name, ortTensor(p.dtype, p.data.slice(), p.shape));
    for (const s of graph.slots) {
      const p = graph.params.find((x) => x.name === s.param)!;
      // EMA starts at the initial weights; optimizer moments start at zero.
      const data =
        s.slot === 'ema'
          ? p.data.slice()
          : new (p.data.constructor as new (n: number) => TypedData)(p.data.length);
      values.set(s.name, ortTensor(p.dtype, data, p.shape));
    }
    return new Trainer(
      spec,
      graph,
      session,
      inference,
      inferenceGraph.inputs.filter((t) => inference.inputNames.includes(t.name)),
      values,
      new Rng(opts.seed ?? 0),
      loop,
      stepsPerRun,
    );
  }

  /** Rebuilds the trainer for `spec` and restores a checkpoint written by fit(). */
  static async resume(spec: TrainSpec, path: string, opts: TrainerOptions = {}): Promise<Trainer> {
    const t = await Trainer.create(spec, opts);
    t.restore(await loadCheckpoint(path), path);
    return t;
  }

  private fingerprint(): string {
    const parts = [...this.graph.params, ...this.graph.frozen].map(
      (p) => `${p.name}:${p.shape.join('x')}:${p.dtype}`,
    );
    return [this.spec.name, ...parts, ...this.graph.slots.map((s) => s.name)].join('|');
  }

  checkpoint(): Checkpoint {
    return {
      model: this.spec.name,
      fingerprint: this.fingerprint(),
      epoch: this.epoch,
      step: this.step,
      rng: Array.from(this.rng.state()),
      best: this.best,
      history: this.history,
      tensors: [...this.values].map(([name, t]) => ({
        name,
        dtype: t.type as 'float32' | 'float64',
        shape: [...t.dims],
        data: t.data as Float32Array | Float64Array,
      })),
    };
  }

  private restore(ckpt: Checkpoint, path: string): void {
    if (ckpt.fingerprint !== this.fingerprint()) {
      throw new CheckpointError(
        `${path} was written for a different model or optimizer ('${ckpt.model}'); use a checkpoint of '${this.spec.name}' with the same configuration`,
      );
    }
    for (const t of ckpt.tensors) this.values.set(t.name, ortTensor(t.dtype, t.data, t.shape));
    this.epoch = ckpt.epoch;
    this.step = ckpt.step;
    this.rng = new Rng(Uint32Array.from(ckpt.rng));
    this.best = ckpt.best;
    this.history = ckpt.history;
  }

  /** Copies of the parameter values by name: the current ones, their EMA, or those of the best epoch. */
  parameters(which: 'current' | 'ema' | 'best' = 'current'): Map<string, FloatData> {
    if (which === 'best') {
      if (!this.bestValues) throw new Error('no best parameters yet: run fit() with evaluate and select');
      return new Map(this.bestValues);
    }
    const out = new Map<string, FloatData>();
    for (const p of [...this.graph.params, ...this.graph.frozen]) {
      const key = which === 'ema' && this.graph.params.includes(p) ? `slot.ema.${p.name}` : p.name;
      const t = this.values.get(key);
      if (!t) throw new Error(`no EMA parameters: set emaDecay in the TrainSpec`);
      // A copy: a tensor that came back from a GPU session owns its buffer, which onnxruntime reuses
      // once the trainer lets the tensor go (seen on CUDA: views kept past later steps changed).
      out.set(p.name, (t.data as FloatData).slice());
    }
    return out;
  }

  /** Runs the inference graph on `feeds` with the chosen parameters. */
  async predict(
    feeds: Record<string, ort.Tensor>,
    which: 'current' | 'ema' | 'best' = 'current',
  ): Promise<ort.InferenceSession.ReturnType> {
    bindSymbols(this.inferenceInputs, feeds, 'predict');
    const params = which === 'current' ? undefined : this.parameters(which);
    const all: Record<string, ort.Tensor> = {};
    for (const name of this.inference.inputNames) {
      if (name in feeds) all[name] = feeds[name];
      else if (params?.has(name)) {
        const t = this.values.get(name)!;
        all[name] = ortTensor(t.type as DType, params.get(name)!, t.dims);
      } else if (this.values.has(name)) all[name] = this.values.get(name)!;
      else throw new TrainingError(`predict: missing input '${name}'`);
    }
    return this.inference.run(all);
  }

  /** One optimisation step on a batch; returns the loss terms. Parameters change only if all are finite. */
  async trainStep(batch: Record<string, ort.Tensor>, lr: number): Promise<Record<string, number>> {
    const bindings = bindSymbols(this.graph.batchInputs, batch, 'batch');
    const float = this.graph.graph.float;
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of this.graph.batchInputs) feeds[t.name] = batch[t.name];
    for (const p of this.graph.params) feeds[p.name] = this.values.get(p.name)!;
    for (const s of this.graph.slots) feeds[s.name] = this.values.get(s.name)!;
    for (const n of this.graph.noise) feeds[n.name] = this.noise(n.shape, bindings, float);
    feeds['optim.lr'] = this.floats([lr], []);
    feeds['optim.step'] = this.floats([this.step + 1], []);
    const out = await this.session.run(feeds);
    const result = this.lossTerms((name) => out[name].data[0] as number);
    for (const [name, v] of Object.entries(result)) {
      if (!Number.isFinite(v)) {
        const culprit = this.graph.terms.find((t) => !Number.isFinite(result[t]));
        const what = culprit ? `loss term '${culprit}' = ${result[culprit]}` : `${name} = ${v}`;
        throw new TrainingError(
          `non-finite value at epoch ${this.epoch + 1}, step ${this.step + 1}: ${what}; lower the learning rate, enable clipNorm or check the data`,
        );
      }
    }
    for (const name of this.values.keys()) {
      const next = out[`next.${name}`];
      if (next) this.values.set(name, next);
    }
    this.step++;
    return result;
  }

  /**
   * Several optimisation steps in one run of the Loop graph (needs stepsPerRun > 1): the same
   * results, noise and step numbers as trainStep called once per batch. Batches must share their
   * shapes. On a non-finite value nothing of the run is kept and the steps are replayed one by one,
   * so the error and the parameters are exactly those of single steps.
   */
  async trainSteps(batches: Record<string, ort.Tensor>[], lrs: number[]): Promise<Record<string, number>[]> {
    if (!this.loop) throw new Error('trainSteps needs a trainer created with stepsPerRun > 1');
    if (batches.length === 0 || batches.length !== lrs.length)
      throw new Error(`trainSteps: ${batches.length} batches and ${lrs.length} learning rates`);
    const bindings = bindSymbols(this.graph.batchInputs, batches[0], 'batch');
    const float = this.graph.graph.float;
    const K = batches.length;
    const stacked = (name: string, parts: ort.Tensor[]): ort.Tensor => {
      const first = parts[0];
      if (parts.some((p) => p.dims.join() !== first.dims.join()))
        throw new TrainingError(`trainSteps: batches differ in the shape of '${name}'`);
      const Ctor = (first.data as TypedData).constructor as new (n: number) => TypedData;
      const out = new Ctor(first.data.length * K);
      parts.forEach((p, k) => (out as Float32Array).set(p.data as Float32Array, k * first.data.length));
      return ortTensor(first.type as DType, out, [K, ...first.dims]);
    };
    const rngBefore = this.rng.state();
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.loop.carried) feeds[LOOP_NAMES.initial(name)] = this.values.get(name)!;
    for (const t of this.graph.batchInputs)
      feeds[LOOP_NAMES.perStep(t.name)] = stacked(
        t.name,
        batches.map((b) => b[t.name]),
      );
    // Noise in the order single steps draw it: every input of step 1, then of step 2, ...
    const noise = batches.map(() => this.graph.noise.map((n) => this.noise(n.shape, bindings, float)));
    this.graph.noise.forEach((n, i) => {
      feeds[LOOP_NAMES.perStep(n.name)] = stacked(
        n.name,
        noise.map((perStep) => perStep[i]),
      );
    });
    feeds[LOOP_NAMES.perStep('optim.lr')] = this.floats(lrs, [K]);
    feeds[LOOP_NAMES.perStep('optim.step')] = this.floats(
      lrs.map((_, k) => this.step + 1 + k),
      [K],
    );
    const out = await this.loop.session.run(feeds);
    const results = Array.from({ length: K }, (_, k) =>
      this.lossTerms((name) => out[LOOP_NAMES.perStep(name)].data[k] as number),
    );
    if (results.some((r) => Object.values(r).some((v) => !Number.isFinite(v)))) {
      this.rng = new Rng(rngBefore);
      const replayed: Record<string, number>[] = [];
      for (let k = 0; k < K; k++) replayed.push(await this.trainStep(batches[k], lrs[k]));
      return replayed; // only if the single steps were all finite after all (trainStep throws otherwise)
    }
    for (const name of this.loop.carried) this.values.set(name, out[LOOP_NAMES.final(name)]);
    this.step += K;
    return results;
  }

  /** Values in the graph's float type. */
  private floats(values: number[], dims: number[]): ort.Tensor {
    const float = this.graph.graph.float;
    return ortTensor(
      float,
      float === 'float64' ? Float64Array.from(values) : Float32Array.from(values),
      dims,
    );
  }

  /** loss, each loss term and grad_norm of one step, read by output name. */
  private lossTerms(read: (output: string) => number): Record<string, number> {
    const result: Record<string, number> = { loss: read('loss') };
    for (const term of this.graph.terms) result[term] = read(`term.${term}`);
    result.grad_norm = read('grad_norm');
    return result;
  }

  private noise(shape: Shape, bindings: Record<string, number>, float: 'float32' | 'float64'): ort.Tensor {
    const dims = concreteShape(shape, bindings);
    const count = dims.reduce((a, b) => a * b, 1);
    const data = float === 'float64' ? new Float64Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = this.rng.next();
    return ortTensor(float, data, dims);
  }

  /** Trains until `opts.epochs` epochs are done; returns the history. */
  async fit(train: Dataset, opts: FitOptions): Promise<Record<string, number>[]> {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`batchSize must be an integer >= 1, got ${opts.batchSize}`);
    // NaN would train nothing without a word; Infinity would never return.
    if (!(Number.isInteger(opts.epochs) && opts.epochs >= 0))
      throw new Error(`epochs must be an integer >= 0, got ${opts.epochs}`);
    if (train.size === 0) throw new Error('the training set is empty');
    if (opts.select && !opts.evaluate) throw new Error('select needs an evaluate hook');
    if (opts.checkpointDir) await mkdir(opts.checkpointDir, { recursive: true });
    const batches = Math.ceil(train.size / opts.batchSize);
    while (this.epoch < opts.epochs) {
      const order = this.rng.shuffle(Array.from({ length: train.size }, (_, i) => i));
      const progress = opts.progress
        ? new Progress({
            label: `${this.spec.name} epoch ${this.epoch + 1}/${opts.epochs}`,
            total: batches,
            unit: 'batch',
            ...opts.progress,
          })
        : undefined;
      const sums: Record<string, number> = {};
      let lr = 0;
      const full = Math.floor(train.size / opts.batchSize);
      for (let b = 0; b < batches;) {
        // Full batches go stepsPerRun at a time; a smaller last batch runs on its own.
        const count = b < full ? Math.min(this.stepsPerRun, full - b) : 1;
        const chunk = Array.from({ length: count }, (_, k) =>
          train.batch(order.slice((b + k) * opts.batchSize, (b + k + 1) * opts.batchSize)),
        );
        const lrs = chunk.map((_, k) => opts.schedule(this.step + k));
        lr = lrs[count - 1];
        const results =
          count === 1 ? [await this.trainStep(chunk[0], lrs[0])] : await this.trainSteps(chunk, lrs);
        for (const terms of results) {
          for (const [k, v] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + v;
          b++;
          progress?.tick(1, `loss ${(sums.loss / b).toFixed(4)}`);
        }
      }
      progress?.finish();
      this.epoch++;
      const record: Record<string, number> = { epoch: this.epoch, lr };
      for (const [k, v] of Object.entries(sums)) record[k] = v / batches;
      if (opts.evaluate) Object.assign(record, await opts.evaluate(this, this.epoch));
      this.history.push(record);
      const improved = opts.select ? this.considerBest(record, opts.select) : false;
      opts.log?.(
        `${this.spec.name} epoch ${this.epoch}/${opts.epochs} ` +
          Object.entries(record)
            .filter(([k]) => k !== 'epoch')
            .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
            .join(' ') +
          (improved ? ' (best)' : ''),
      );
      if (opts.checkpointDir) {
        if (improved) await saveCheckpoint(join(opts.checkpointDir, 'best.ckpt'), this.checkpoint());
        await saveCheckpoint(join(opts.checkpointDir, 'last.ckpt'), this.checkpoint());
      }
    }
    return this.history;
  }

  private considerBest(record: Record<string, number>, select: NonNullable<FitOptions['select']>): boolean {
    const value = record[select.metric];
    if (value === undefined) {
      throw new TrainingError(
        `evaluate did not return the selection metric '${select.metric}' (got ${Object.keys(record).join(', ')})`,
      );
    }
    const better = !this.best || (select.mode === 'max' ? value > this.best.value : value < this.best.value);
    if (!better) return false;
    this.best = { metric: select.metric, value, epoch: this.epoch };
    this.bestValues = this.parameters('current');
    return true;
  }
}

/**
 * Binds symbolic dims of the inputs to the fed sizes, checking presence, dtypes and fixed dims;
 * `what` ('batch' or 'predict') prefixes the messages.
 */
function bindSymbols(
  inputs: Tensor[],
  feeds: Record<string, ort.Tensor>,
  what: string,
): Record<string, number> {
  const bindings: Record<string, number> = {};
  for (const t of inputs) {
    const feed = feeds[t.name];
    const given = Object.keys(feeds).join(', ') || 'nothing';
    if (!feed) throw new TrainingError(`${what}: no input '${t.name}' (given: ${given})`);
    if (feed.type !== t.dtype)
      throw new TrainingError(`${what}: input '${t.name}' must be ${t.dtype}, got ${feed.type}`);
    const badShape = () =>
      new TrainingError(`${what}: input '${t.name}' must have shape [${t.shape}], got [${feed.dims}]`);
    if (feed.dims.length !== t.rank) throw badShape();
    t.shape.forEach((d, i) => {
      const got = feed.dims[i];
      if (typeof d === 'number') {
        if (d !== got) throw badShape();
      } else if (!d.includes('*')) {
        if (bindings[d] !== undefined && bindings[d] !== got) {
          throw new TrainingError(
            `${what}: dimension '${d}' is ${bindings[d]} in one input but ${got} in '${t.name}'`,
          );
        }
        bindings[d] = got;
      }
    });
  }
  return bindings;
}
