import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, ShapeError } from '../../src/engine/onnx/builder.js';
import { decodeModel, encodeModel, tensorData } from '../../src/engine/onnx/proto.js';
import { modelSignature } from '../../src/models/signature.js';
import { ModelFileError, cudaLibraryMissing, openSession, ortTensor } from '../../src/engine/session.js';
import { tempDirsSync } from '../helpers/temp-dirs.js';

function linearGraph(float: 'float32' | 'float64' = 'float32'): Graph {
  const g = new Graph({ float, seed: 3 });
  const x = g.input('x', float, ['batch', 3]);
  const y = g.scope('head', () => {
    const w = g.param('weight', [3, 2], [1, 2, 3, 4, 5, 6]);
    const b = g.param('bias', [2], [0.5, -0.5]);
    return g.sigmoid(g.add(g.matmul(x, w), b));
  });
  g.output(y, 'prob');
  return g;
}

describe('graph builder + onnxruntime', () => {
  it('builds a model that onnxruntime runs with a symbolic batch', async () => {
    const g = linearGraph();
    const { session, provider } = await openSession(g.toBytes(), { providers: ['cpu'] });
    expect(provider).toBe('cpu');
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['prob']);
    const x = Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]);
    const out = await session.run({ x: ortTensor('float32', x, [2, 3]) });
    const got = Array.from(out.prob.data as Float32Array);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const want = [sig(1 - 5 + 0.5), sig(2 - 6 - 0.5), sig(4.5 + 0.5), sig(6 - 0.5)];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
  });

  it('runs float64 graphs', async () => {
    const g = linearGraph('float64');
    const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
    const out = await session.run({ x: ortTensor('float64', Float64Array.from([1, 1, 1]), [1, 3]) });
    expect(out.prob.type).toBe('float64');
    expect((out.prob.data as Float64Array)[0]).toBeCloseTo(1 / (1 + Math.exp(-9.5)), 12);
  });

  it('names parameters hierarchically and records them as initializers', () => {
    const m = linearGraph().toModel();
    expect(m.graph.initializers.map((t) => t.name)).toEqual(
      expect.arrayContaining(['head.weight', 'head.bias']),
    );
    expect(m.irVersion).toBe(8);
    expect(m.opsetImports).toEqual([{ domain: '', version: 18 }]);
    expect(m.graph.inputs[0].shape).toEqual(['batch', 3]);
  });

  it('round-trips through the protobuf reader byte for byte', () => {
    const bytes = linearGraph().toBytes();
    const decoded = decodeModel(bytes);
    expect(encodeModel(decoded)).toEqual(bytes);
    const w = decoded.graph.initializers.find((t) => t.name === 'head.weight')!;
    expect(Array.from(tensorData(w) as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(decoded.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Sigmoid', 'Identity']);
  });

  it('reads a model’s signature, leaving out weights listed as inputs', () => {
    const m = linearGraph().toModel();
    // Older exporters also list initializers as graph inputs.
    m.graph.inputs.push({ name: 'head.weight', elemType: 1, shape: [3, 2] });
    expect(modelSignature(decodeModel(encodeModel(m)))).toEqual({
      irVersion: 8,
      opset: 18,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'prob', dtype: 'float32', shape: ['batch', 2] }],
    });
  });

  it('keeps fields it does not model when re-encoding', () => {
    const m = linearGraph().toModel();
    const bytes = encodeModel(m);
    // Append an unmodelled ModelProto field (training_info = 20, a length-delimited message).
    const extra = Uint8Array.from([0xa2, 0x01, 0x02, 0x08, 0x01]);
    const withExtra = new Uint8Array(bytes.length + extra.length);
    withExtra.set(bytes);
    withExtra.set(extra, bytes.length);
    const decoded = decodeModel(withExtra);
    expect(decoded.unknown?.map((f) => f.field)).toEqual([20]);
    expect(encodeModel(decoded)).toEqual(withExtra);
  });

  it('reports malformed protobuf and non-ONNX content precisely', () => {
    expect(() => decodeModel(Uint8Array.from([0x08]))).toThrow(/truncated varint/);
    expect(() => decodeModel(Uint8Array.from([0x08, 0x08]))).toThrow(/it has no graph/);
    expect(() => decodeModel(Uint8Array.from([0x3a, 0x05, 0x0a]))).toThrow(/needs 5 bytes but only 1 remain/);
    expect(() => decodeModel(Uint8Array.from([0x0b]))).toThrow(/unsupported wire type 3/);
    expect(() => decodeModel(Uint8Array.from([0x08, ...new Array(11).fill(0xff)]))).toThrow(
      /varint longer than 10 bytes/,
    );
    const m = linearGraph().toModel();
    const w = m.graph.initializers.find((t) => t.name === 'head.weight')!;
    expect(() => tensorData({ ...w, raw: w.raw!.subarray(0, 8) })).toThrow(
      /raw_data has 8 bytes, expected 24/,
    );
  });

  it('runs opset-18 HannWindow, STFT and MelWeightMatrix', async () => {
    const g = new Graph();
    const pcm = g.input('pcm', 'float32', ['batch', 1600, 1]);
    const spec = g.stft(pcm, 160, g.hannWindow(400), 400);
    expect(spec.shape).toEqual(['batch', 8, 201, 2]);
    const power = g.reduceSum(g.mul(spec, spec), [3]);
    const mel = g.matmul(power, g.melWeightMatrix(40, 400, 16000, 0, 8000));
    g.output(mel, 'mel');
    const { session } = await openSession(g.toBytes(), { providers: ['cpu'] });
    const samples = Float32Array.from({ length: 1600 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const out = await session.run({ pcm: ortTensor('float32', samples, [1, 1600, 1]) });
    expect(out.mel.dims).toEqual([1, 8, 40]);
    const frame = Array.from((out.mel.data as Float32Array).subarray(0, 40));
    const peak = frame.indexOf(Math.max(...frame));
    expect(peak).toBeGreaterThan(5);
    expect(peak).toBeLessThan(25);
  });

  it('infers shapes through reshape, transpose, concat, slice and gather', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 10, 64]);
    const heads = g.transpose(g.reshape(x, [0, 0, 8, 8]), [0, 2, 1, 3]);
    expect(heads.shape).toEqual(['batch', 8, 10, 8]);
    expect(g.reshape(x, [-1, 64]).shape).toEqual(['batch*10', 64]);
    expect(g.concat([x, x], 2).shape).toEqual(['batch', 10, 128]);
    expect(g.slice(x, [2], [5], [1]).shape).toEqual(['batch', 3, 64]);
    const ids = g.input('ids', 'int64', ['batch', 7]);
    expect(g.gather(g.param('table', [100, 16], 'zeros'), ids).shape).toEqual(['batch', 7, 16]);
    expect(g.reduceMax(x, [1]).shape).toEqual(['batch', 64]);
  });

  it('reports build-time mistakes naming the layer and the op', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 10, 64]);
    expect(() =>
      g.scope('layers.0', () => g.scope('attn', () => g.matmul(x, g.param('w', [32, 8], 'zeros')))),
    ).toThrow(/layers\.0\.attn: MatMul: inner dimensions differ/);
    expect(() => g.scope('proj', () => g.add(x, g.param('b', [32], 'zeros')))).toThrow(ShapeError);
    expect(() => g.reshape(x, [0, 7, -1])).toThrow(/Reshape: cannot reshape/);
    expect(() => g.transpose(x, [0, 1])).toThrow(/Transpose: perm/);
    expect(() => g.param('w2', [2, 2], [1, 2, 3])).toThrow(/needs 4 values, got 3/);
    expect(() => g.constant([1, 2, 3], [2, 2])).toThrow(/constant of shape \[2,2\] needs 4 values, got 3/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
    expect(() => g.toModel({ outputs: ['nope'] })).toThrow(/no output 'nope'/);
  });
});

describe('openSession errors', () => {
  const dir = tempDirsSync('avvp-session-')();
  const bytes = linearGraph().toBytes();

  it('opens from a path', async () => {
    const path = join(dir, 'ok.onnx');
    writeFileSync(path, bytes);
    const lines: string[] = [];
    const { provider } = await openSession(path, { log: (l) => lines.push(l) });
    // This machine has no CUDA provider: the helper must fall back explicitly and say so.
    expect(['cuda', 'cpu']).toContain(provider);
    expect(lines.at(-1)).toMatch(new RegExp(`opened with the ${provider} execution provider`));
    if (provider === 'cpu') {
      expect(lines[0]).toMatch(
        /cuda provider (unavailable|libraries are not installed).*falling back to cpu/,
      );
    }
  });

  it('with cuda as the only provider, opens on cuda or rejects with onnxruntime’s reason', async () => {
    const outcome = await openSession(bytes, { providers: ['cuda'] }).then(
      (r) => r.provider as string,
      (e: Error) => e.message,
    );
    if (cudaLibraryMissing()) expect(outcome).toMatch(/^onnxruntime could not load model bytes: .+/);
    else expect(outcome === 'cuda' || outcome.startsWith('onnxruntime could not load')).toBe(true);
  });

  it('names a missing file', async () => {
    await expect(openSession(join(dir, 'missing.onnx'))).rejects.toThrow(/missing\.onnx does not exist/);
  });

  it('rejects an empty file', async () => {
    const path = join(dir, 'empty.onnx');
    writeFileSync(path, new Uint8Array());
    await expect(openSession(path)).rejects.toThrow(/is empty/);
  });

  it('rejects a truncated file', async () => {
    const path = join(dir, 'cut.onnx');
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(openSession(path)).rejects.toThrow(ModelFileError);
    await expect(openSession(path)).rejects.toThrow(/not a valid ONNX file .*truncated/);
  });

  it('rejects a non-ONNX file', async () => {
    const path = join(dir, 'text.onnx');
    writeFileSync(path, 'hello, this is not a model\n');
    await expect(openSession(path)).rejects.toThrow(/not a valid ONNX file|not an ONNX model/);
  });

  it('rejects a structurally valid but semantically broken model with onnxruntime’s reason', async () => {
    const m = linearGraph().toModel();
    m.graph.nodes[0].opType = 'NoSuchOp';
    await expect(openSession(encodeModel(m), { providers: ['cpu'] })).rejects.toThrow(
      /could not load model bytes: .*NoSuchOp/,
    );
  });
});
