// A pool of worker_threads, each holding onnxruntime sessions for the same named models. Requests
// queue on the main thread and go to the first idle worker (one request per worker at a time, so a
// slow request never holds up others behind it on a busy worker). Input and output buffers are
// transferred between threads, not copied. A worker that crashes fails only its own request and is
// replaced; a model that cannot be loaded fails create(); close() drains and shuts down cleanly.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_PROVIDERS, type Provider } from '../engine/session.js';
import type { TensorMap } from '../types.js';
import { transferable, type FromWorker, type ModelInfo, type WorkerInit } from './messages.js';

export interface PoolOptions {
  /** Model name -> ONNX file path or bytes; every worker loads all of them. */
  models: Record<string, string | Uint8Array>;
  /** Workers (default: min(2, cores)). */
  size?: number;
  /** onnxruntime intra-op threads per worker (default 1: on a 2-core machine, 2 workers x 1 thread). */
  intraOpNumThreads?: number;
  /** Execution providers in order of preference (default cuda, then cpu). */
  providers?: readonly Provider[];
  /** Provider choices, fallbacks and worker restarts. */
  log?: (line: string) => void;
  /** Longest a request may run before its worker is considered hung and replaced (default 60 s). */
  runTimeoutMs?: number;
  /** Worker entry to run instead of the bundled one (a script speaking the same protocol). */
  workerUrl?: URL;
}

export interface PoolStats {
  size: number;
  busy: number;
  queued: number;
  restarts: number;
}

export class PoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolError';
  }
}

interface Task {
  model: string;
  feeds: TensorMap;
  resolve: (outputs: TensorMap) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  index: number;
  task?: Task & { id: number; timer: NodeJS.Timeout };
  /** Set when the pool itself ends the worker (close, hang), so its exit is not a crash. */
  retiring: boolean;
}

/**
 * The worker entry next to this module: worker.js in dist/, or worker.ts when this module itself runs
 * from TypeScript sources (tsx, vitest). Worker threads do not inherit the parent's module hooks, and
 * on Node 20 `--import tsx` registers nothing off the main thread, so the worker registers tsx's
 * hooks itself through its public API (a dev dependency: never needed from dist/).
 */
function bundledWorker(): { url: URL; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    const api = tsxEsmApi();
    const register = `data:text/javascript,import{register}from${JSON.stringify(api)};register();`;
    return { url: new URL('./worker.ts', import.meta.url), execArgv: ['--import', register] };
  }
  return { url: new URL('./worker.js', import.meta.url), execArgv: [] };
}

/** URL of tsx's ESM API, from its package export map (require.resolve would pick the CJS build). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(pkg.exports['./esm/api'].import.default, pathToFileURL(manifest)).href;
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  /** Replacement workers still loading, so that close() can wait for them. */
  private readonly spawning = new Set<Promise<void>>();
  private nextId = 0;
  private restarts = 0;
  private closing?: Promise<void>;
  private broken?: PoolError;
  private models: Record<string, ModelInfo> = {};

  private constructor(
    private readonly init: WorkerInit,
    private readonly entry: { url: URL; execArgv: string[] },
    private readonly runTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the workers and loads the models; rejects with the loader's message if any model fails. */
  static async create(options: PoolOptions): Promise<InferencePool> {
    const size = options.size ?? Math.min(2, availableParallelism());
    const intraOpNumThreads = options.intraOpNumThreads ?? 1;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`inference pool: size must be a positive integer, got ${options.size}`);
    }
    if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
      throw new RangeError(
        `inference pool: intraOpNumThreads must be a positive integer, got ${options.intraOpNumThreads}`,
      );
    }
    if (Object.keys(options.models).length === 0) {
      throw new RangeError('inference pool: no models given; pass at least one { name: path or bytes }');
    }
    const entry = options.workerUrl
      ? { url: options.workerUrl, execArgv: bundledWorker().execArgv }
      : bundledWorker();
    const pool = new InferencePool(
      { models: options.models, providers: [...(options.providers ?? DEFAULT_PROVIDERS)], intraOpNumThreads },
      entry,
      options.runTimeoutMs ?? 60_000,
      options.log ?? (() => {}),
    );
    const started = await Promise.allSettled(Array.from({ length: size }, (_, i) => pool.spawn(i)));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await pool.close();
      throw failure.reason;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** For metrics and health: requests waiting and running, and workers replaced so far. */
  stats(): PoolStats {
    return {
      size: this.slots.length,
      busy: this.slots.filter((s) => s?.task).length,
      queued: this.queue.length,
      restarts: this.restarts,
    };
  }

  /** Provider and input/output names of each model, as the first worker loaded it. */
  get modelInfo(): Readonly<Record<string, ModelInfo>> {
    return this.models;
  }

  /**
   * Runs `model` on `feeds` in the next idle worker. The feeds' buffers are TRANSFERRED: arrays that
   * own their whole buffer are unusable afterwards (views into a larger buffer are copied instead).
   */
  run(model: string, feeds: TensorMap): Promise<TensorMap> {
    if (this.closing) return Promise.reject(new PoolError('inference pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (!Object.hasOwn(this.init.models, model)) {
      return Promise.reject(
        new PoolError(
          `inference pool: no model named '${model}' (models: ${Object.keys(this.init.models).join(', ')})`,
        ),
      );
    }
    return new Promise<TensorMap>((resolve, reject) => {
      this.queue.push({ model, feeds, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops accepting requests, lets queued and running ones finish, then ends every worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Drain: poll rather than thread a notification through every completion path.
      while (!this.broken && (this.queue.length > 0 || this.slots.some((s) => s.task))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.allSettled(this.spawning);
      await Promise.all(this.slots.map((slot) => this.retire(slot)));
    })();
    return this.closing;
  }

  private spawn(index: number): Promise<void> {
    const worker = new Worker(this.entry.url, { workerData: this.init, execArgv: this.entry.execArgv });
    const slot: Slot = { worker, index, retiring: false };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            if (Object.keys(this.models).length === 0) this.models = message.models;
            this.slots[index] = slot;
            resolve();
            this.dispatch();
            break;
          case 'init-error':
            slot.retiring = true;
            void worker.terminate();
            reject(new PoolError(`inference worker could not load ${message.message}`));
            break;
          case 'log':
            this.log(message.line);
            break;
          case 'result':
          case 'error':
            this.settle(slot, message);
            break;
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new PoolError(`inference worker failed to start: ${err.message}`));
        else this.crashed(slot, `uncaught error: ${err.message}`);
      });
      worker.on('exit', (code) => {
        if (!ready)
          reject(new PoolError(`inference worker exited with code ${code} before loading its models`));
        else if (!slot.retiring) this.crashed(slot, `exited with code ${code}`);
      });
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot || slot.task || slot.retiring) continue;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      const timer = setTimeout(() => this.hung(slot), this.runTimeoutMs);
      slot.task = { ...task, id, timer };
      try {
        const { tensors, transfer } = transferable(task.feeds);
        slot.worker.postMessage({ type: 'run', id, model: task.model, feeds: tensors }, transfer);
      } catch (err) {
        clearTimeout(timer);
        slot.task = undefined;
        task.reject(
          new PoolError(
            `inference pool: cannot send the inputs of '${task.model}': ${(err as Error).message}`,
          ),
        );
      }
    }
  }

  private settle(slot: Slot, message: Extract<FromWorker, { type: 'result' | 'error' }>): void {
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    clearTimeout(task.timer);
    slot.task = undefined;
    if (message.type === 'result') task.resolve(message.outputs);
    else task.reject(new PoolError(`inference failed: ${message.message}`));
    this.dispatch();
  }

  private crashed(slot: Slot, reason: string): void {
    if (slot.retiring) return;
    slot.retiring = true;
    const task = slot.task;
    slot.task = undefined;
    const doing = task ? ` while running model '${task.model}'` : '';
    if (task) clearTimeout(task.timer);
    task?.reject(new PoolError(`inference worker ${slot.index} ${reason}${doing}; it is being replaced`));
    this.log(`inference pool: worker ${slot.index} ${reason}${doing}; starting a replacement`);
    this.replace(slot.index);
  }

  private hung(slot: Slot): void {
    const task = slot.task;
    if (!task) return;
    slot.retiring = true;
    slot.task = undefined;
    task.reject(
      new PoolError(
        `inference worker ${slot.index} did not finish model '${task.model}' within ${this.runTimeoutMs} ms; ` +
          'it was stopped and is being replaced',
      ),
    );
    void slot.worker.terminate();
    this.replace(slot.index);
  }

  private replace(index: number): void {
    if (this.closing) return;
    this.restarts++;
    const spawned = this.spawn(index)
      .catch((err: Error) => {
        // The models loaded before, so this is unexpected: fail fast rather than retry forever.
        this.broken = new PoolError(`inference pool is broken: ${err.message}`);
        for (const task of this.queue.splice(0)) task.reject(this.broken);
      })
      .finally(() => this.spawning.delete(spawned));
    this.spawning.add(spawned);
  }

  private async retire(slot: Slot | undefined): Promise<void> {
    if (!slot || slot.retiring) return;
    slot.retiring = true;
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    slot.worker.postMessage({ type: 'close' });
    // A worker that does not exit by itself after releasing its sessions is terminated.
    const timeout = setTimeout(() => void slot.worker.terminate(), 5000);
    await exited;
    clearTimeout(timeout);
  }
}
