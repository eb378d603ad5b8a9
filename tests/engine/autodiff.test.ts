import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff/gradients.js';
import { Graph, Init, Tensor } from '../../src/engine/onnx/builder.js';
import { ortTensor } from '../../src/engine/session.js';
import { Rng } from '../../src/util/rng.js';
import { gradCheck } from './gradcheck.js';

const TOL = 1e-5;
const rng = new Rng(11);
const positive = (n: number): Init => Array.from({ length: n }, () => rng.uniform(0.5, 2));
const p = (g: Graph, name: string, shape: number[], init: Init = { normal: 1 }) => g.param(name, shape, init);

type Case = [string, (g: Graph) => Tensor];

const cases: Case[] = [
  ['Add with broadcasting', (g) => g.add(p(g, 'a', [2, 3]), p(g, 'b', [3]))],
  ['Sub with two-sided broadcasting', (g) => g.sub(p(g, 'a', [2, 1]), p(g, 'b', [1, 3]))],
  ['Mul with broadcasting', (g) => g.mul(p(g, 'a', [2, 3, 2]), p(g, 'b', [3, 1]))],
  ['Div', (g) => g.div(p(g, 'a', [2, 3]), p(g, 'b', [2, 3], positive(6)))],
  ['Pow constant exponent', (g) => g.pow(p(g, 'a', [5]), 3)],
  ['Pow learnable exponent', (g) => g.pow(p(g, 'a', [4], positive(4)), p(g, 'e', [4]))],
  ['Neg', (g) => g.neg(p(g, 'a', [4]))],
  ['Identity', (g) => g.identity(p(g, 'a', [4]))],
  ['Cast (float to float)', (g) => g.cast(p(g, 'a', [4]), 'float64')],
  ['Exp', (g) => g.exp(p(g, 'a', [4]))],
  ['Log', (g) => g.log(p(g, 'a', [4], positive(4)))],
  ['Sqrt', (g) => g.sqrt(p(g, 'a', [4], positive(4)))],
  ['Abs', (g) => g.abs(p(g, 'a', [6]))],
  ['Relu', (g) => g.relu(p(g, 'a', [6]))],
  ['Sigmoid', (g) => g.sigmoid(p(g, 'a', [6]))],
  ['Tanh', (g) => g.tanh(p(g, 'a', [6]))],
  ['Softmax last axis', (g) => g.softmax(p(g, 'a', [2, 4]), -1)],
  ['Softmax first axis', (g) => g.softmax(p(g, 'a', [3, 2]), 0)],
  ['LogSoftmax', (g) => g.logSoftmax(p(g, 'a', [2, 5]), 1)],
  ['Clip', (g) => g.clip(p(g, 'a', [8]), -0.5, 0.5)],
  ['Where', (g) => g.where(g.constant([1, 0, 1, 0], [4], 'bool'), p(g, 'a', [4]), p(g, 'b', [1]))],
  ['MatMul 2-D', (g) => g.matmul(p(g, 'a', [2, 3]), p(g, 'b', [3, 4]))],
  ['MatMul batched x matrix', (g) => g.matmul(p(g, 'a', [2, 3, 4]), p(g, 'b', [4, 2]))],
  ['MatMul batched 4-D', (g) => g.matmul(p(g, 'a', [2, 2, 3, 2]), p(g, 'b', [2, 2, 2, 3]))],
  ['MatMul broadcast batch', (g) => g.matmul(p(g, 'a', [1, 3, 2]), p(g, 'b', [2, 2, 3]))],
  ['Transpose', (g) => g.transpose(p(g, 'a', [2, 3, 4]), [2, 0, 1])],
  ['Reshape', (g) => g.reshape(p(g, 'a', [2, 3, 4]), [4, -1])],
  ['Unsqueeze/Squeeze', (g) => g.squeeze(g.mul(g.unsqueeze(p(g, 'a', [3]), [0]), p(g, 'b', [1, 3])), [0])],
  ['Expand', (g) => g.expandLike(p(g, 'a', [1, 3]), g.constant(new Array(6).fill(0), [2, 3]))],
  ['Concat', (g) => g.concat([p(g, 'a', [2, 2]), p(g, 'b', [2, 3])], 1)],
  ['Slice', (g) => g.slice(p(g, 'a', [4, 5]), [1, 1], [3, -1], [0, 1])],
  ['Pad', (g) => g.pad(p(g, 'a', [2, 2]), [1, 0, 0, 2])],
  ['Gather axis 1', (g) => g.gather(p(g, 'a', [2, 4, 3]), g.constant([3, 0, 3], [3], 'int64'), 1)],
  [
    'Gather last axis, 2-D ids',
    (g) => g.gather(p(g, 'a', [2, 5]), g.constant([4, 1, 1, 0], [2, 2], 'int64'), -1),
  ],
  ['Gather (embedding)', (g) => g.gather(p(g, 'table', [5, 3]), g.constant([0, 3, 3, 1], [2, 2], 'int64'))],
  ['ReduceSum', (g) => g.reduceSum(p(g, 'a', [2, 3, 2]), [0, 2])],
  ['ReduceSum keepdims', (g) => g.reduceSum(p(g, 'a', [2, 3]), [1], true)],
  ['ReduceMean', (g) => g.reduceMean(p(g, 'a', [3, 4]), [1])],
  ['ReduceMax (max-pool)', (g) => g.reduceMax(p(g, 'a', [3, 4]), [0])],
  ['ReduceMin', (g) => g.reduceMin(p(g, 'a', [3, 4]), [1])],
  [
    'ReduceMax with ties',
    (g) => g.reduceMax(g.add(p(g, 'a', [2, 1]), g.constant([0, 0, 0, 0, 0, 0], [2, 3])), [1]),
  ],
  ['ReduceMax keepdims', (g) => g.reduceMax(p(g, 'a', [2, 5]), [1], true)],
];

describe('gradient rules match central finite differences (float64)', () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const r = await gradCheck(f);
      expect(r.unused).toEqual([]);
      expect(r.checked).toBeGreaterThan(0);
      expect(r.worst).toBeLessThan(TOL);
    });
  }

  it('Erf (float32: onnxruntime has no float64 Erf kernel)', async () => {
    const r = await gradCheck((g) => g.erf(p(g, 'a', [6])), { float: 'float32' });
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('works through a symbolic batch dimension (run-time shapes)', async () => {
    const x = Float64Array.from({ length: 12 }, () => rng.normal());
    const r = await gradCheck(
      (g) => {
        const input = g.input('x', 'float64', ['batch', 3, 2]);
        const w = p(g, 'w', [2, 2]);
        const rows = g.reduceMean(g.matmul(g.reshape(input, [-1, 2]), w), [0]);
        const flat = g.reduceMean(g.reshape(g.mul(input, p(g, 'b', [2])), [0, 6]), [0]);
        return g.add(g.sumAll(rows), flat);
      },
      { feeds: { x: ortTensor('float64', x, [2, 3, 2]) } },
    );
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('gradient plumbing', () => {
  it('stopGradient cuts the path', () => {
    const g = new Graph({ float: 'float64' });
    const a = g.param('a', [2], 'ones');
    const [grad] = gradients(g, g.sumAll(g.stopGradient(g.mul(a, a))), [a]);
    expect(grad).toBeUndefined();
  });

  it('sums gradients from several uses of one tensor', async () => {
    const r = await gradCheck((g) => {
      const a = p(g, 'a', [3]);
      return g.add(g.mul(a, a), g.tanh(a));
    });
    expect(r.worst).toBeLessThan(TOL);
  });

  it('names the layer when an op has no gradient rule', () => {
    const g = new Graph({ float: 'float64' });
    const a = g.param('a', [2], 'ones');
    const y = g.scope('weird', () => g.emit('Floor', [a], {}, [{ dtype: 'float64', shape: [2] }])[0]);
    expect(() => gradients(g, g.sumAll(y), [a])).toThrow(/weird: no gradient rule for Floor/);
  });

  it('rejects a non-scalar loss', () => {
    const g = new Graph();
    const a = g.param('a', [2], 'ones');
    expect(() => gradients(g, a, [a])).toThrow(/loss must be a float scalar/);
  });
});
