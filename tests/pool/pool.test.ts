import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferencePool } from '../../src/pool/pool.js';
import { doubler, twoWay } from './models.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-pool-');

const x = (values: number[], rows: number) => ({
  type: 'float32' as const,
  data: Float32Array.from(values),
  dims: [rows, 4],
});

describe('InferencePool', () => {
  let pool: InferencePool;
  let dir: string;

  beforeAll(async () => {
    dir = await tmp();
    await writeFile(join(dir, 'two-way.onnx'), twoWay());
    pool = await InferencePool.create({
      models: { double: doubler(), twoWay: join(dir, 'two-way.onnx') },
      size: 2,
      providers: ['cpu'],
    });
  });

  afterAll(async () => {
    await pool?.close();
  });

  it('runs models from bytes and from files in worker threads', async () => {
    expect(pool.size).toBe(2);
    const { y } = await pool.run('double', { x: x([1, 2, 3, 4, 5, 6, 7, 8], 2) });
    expect(y.dims).toEqual([2, 4]);
    expect(Array.from(y.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    const out = await pool.run('twoWay', {
      x: { type: 'float32', data: Float32Array.of(1, 2, 3, 4, 5, 6), dims: [2, 3] },
      b: { type: 'int64', data: BigInt64Array.of(41n, -1n), dims: [2] },
    });
    expect(Array.from(out.mean.data as Float32Array)).toEqual([2, 5]);
    expect(Array.from(out.next.data as BigInt64Array)).toEqual([42n, 0n]);
    expect(pool.modelInfo.double).toEqual({ provider: 'cpu', inputNames: ['x'], outputNames: ['y'] });
  });

  it('answers many concurrent requests, each with its own result', async () => {
    const requests = Array.from({ length: 40 }, (_, i) => pool.run('double', { x: x([i, i, i, -i], 1) }));
    expect(pool.stats()).toEqual({ size: 2, busy: 2, queued: 38, restarts: 0 });
    const results = await Promise.all(requests);
    results.forEach(({ y }, i) =>
      expect(Array.from(y.data as Float32Array)).toEqual([2 * i, 2 * i, 2 * i, -2 * i]),
    );
  });

  it('transfers whole input buffers instead of copying them, and copies views into larger buffers', async () => {
    const owned = Float32Array.of(1, 1, 1, 1);
    await pool.run('double', { x: { type: 'float32', data: owned, dims: [1, 4] } });
    expect(owned.byteLength).toBe(0); // detached: it moved to the worker
    const big = new Float32Array(12).fill(3);
    const view = big.subarray(4, 8);
    const { y } = await pool.run('double', { x: { type: 'float32', data: view, dims: [1, 4] } });
    expect(Array.from(y.data as Float32Array)).toEqual([6, 6, 6, 6]);
    expect(big.byteLength).toBe(48); // the caller's larger buffer is untouched
  });

  it('reports bad requests clearly and keeps serving', async () => {
    await expect(pool.run('nope', {})).rejects.toThrow(/no model named 'nope' \(models: double, twoWay\)/);
    await expect(pool.run('constructor', {})).rejects.toThrow(/no model named 'constructor'/);
    await expect(pool.run('double', { x: x([1, 2, 3], 1) })).rejects.toThrow(
      /inference failed: model 'double'/,
    );
    await expect(pool.run('double', { wrong: x([1, 2, 3, 4], 1) })).rejects.toThrow(/model 'double'/);
    const { y } = await pool.run('double', { x: x([1, 2, 3, 4], 1) });
    expect(Array.from(y.data as Float32Array)).toEqual([2, 4, 6, 8]);
  });
});

describe('InferencePool failures', () => {
  const faulty = new URL('./fixtures/faulty-worker.ts', import.meta.url);

  it('rejects a model that is not ONNX, or missing, naming the model and what to do', async () => {
    await expect(
      InferencePool.create({ models: { head: new Uint8Array([1, 2, 3, 4]) }, size: 1, providers: ['cpu'] }),
    ).rejects.toThrow(/could not load model 'head': model bytes is not a valid ONNX file.*re-export/);
    await expect(
      InferencePool.create({ models: { head: '/nonexistent/head.onnx' }, size: 1, providers: ['cpu'] }),
    ).rejects.toThrow(/model 'head': model file \/nonexistent\/head.onnx does not exist/);
  });

  it('rejects bad options', async () => {
    await expect(InferencePool.create({ models: { d: doubler() }, size: 0 })).rejects.toThrow(/size must be/);
    await expect(InferencePool.create({ models: { d: doubler() }, intraOpNumThreads: -1 })).rejects.toThrow(
      /intraOpNumThreads/,
    );
    await expect(InferencePool.create({ models: {} })).rejects.toThrow(/no models given/);
  });

  it('fails only the request of a worker that crashes, replaces the worker and keeps serving', async () => {
    const logs: string[] = [];
    const pool = await InferencePool.create({
      models: { double: doubler(), crash: doubler() },
      size: 1,
      providers: ['cpu'],
      workerUrl: faulty,
      log: (line) => logs.push(line),
    });
    try {
      await expect(pool.run('crash', { x: x([1, 2, 3, 4], 1) })).rejects.toThrow(
        /inference worker 0 exited with code 3 while running model 'crash'; it is being replaced/,
      );
      const { y } = await pool.run('double', { x: x([1, 2, 3, 4], 1) });
      expect(Array.from(y.data as Float32Array)).toEqual([2, 4, 6, 8]);
      expect(logs.some((l) => l.includes('starting a replacement'))).toBe(true);
      expect(pool.stats()).toEqual({ size: 1, busy: 0, queued: 0, restarts: 1 });
    } finally {
      await pool.close();
    }
  });

  it('stops a worker that hangs after runTimeoutMs, fails its request and keeps serving', async () => {
    const pool = await InferencePool.create({
      models: { double: doubler(), hang: doubler() },
      size: 1,
      providers: ['cpu'],
      workerUrl: faulty,
      runTimeoutMs: 1000,
    });
    try {
      await expect(pool.run('hang', { x: x([1, 2, 3, 4], 1) })).rejects.toThrow(
        /did not finish model 'hang' within 1000 ms; it was stopped/,
      );
      const { y } = await pool.run('double', { x: x([0, 0, 0, 1], 1) });
      expect(Array.from(y.data as Float32Array)).toEqual([0, 0, 0, 2]);
    } finally {
      await pool.close();
    }
  });

  it('tries cuda first by default and falls back to cpu explicitly, saying so', async () => {
    const logs: string[] = [];
    const pool = await InferencePool.create({
      models: { double: doubler() },
      size: 1,
      log: (l) => logs.push(l),
    });
    try {
      const { provider } = pool.modelInfo.double;
      expect(['cuda', 'cpu']).toContain(provider);
      if (provider === 'cpu') expect(logs.join('\n')).toMatch(/cuda.*falling back to cpu/);
      const { y } = await pool.run('double', { x: x([1, 0, 0, 0], 1) });
      expect(Array.from(y.data as Float32Array)).toEqual([2, 0, 0, 0]);
    } finally {
      await pool.close();
    }
  });

  it('close() lets running requests finish, then refuses new ones', async () => {
    const pool = await InferencePool.create({ models: { double: doubler() }, size: 1, providers: ['cpu'] });
    const running = pool.run('double', { x: x([1, 1, 1, 1], 1) });
    const closed = pool.close();
    await expect(running).resolves.toMatchObject({ y: { dims: [1, 4] } });
    await closed;
    await expect(pool.run('double', { x: x([1, 1, 1, 1], 1) })).rejects.toThrow(/closed/);
  });
});
