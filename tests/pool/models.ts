// Small real ONNX models for the pool tests, built with the project's graph builder.
import { Graph } from '../../src/engine/onnx/builder.js';

/** y = 2x, x: float32 [batch, 4]. */
export function doubler(): Uint8Array {
  const g = new Graph({ name: 'double' });
  const x = g.input('x', 'float32', ['batch', 4]);
  g.output(g.mul(x, 2), 'y');
  return g.toBytes();
}

/** sum = x + b (int64 [n]) and mean = mean(x) over the last axis: two inputs, two outputs. */
export function twoWay(): Uint8Array {
  const g = new Graph({ name: 'two-way' });
  const x = g.input('x', 'float32', ['batch', 3]);
  const b = g.input('b', 'int64', ['n']);
  g.output(g.add(b, 1), 'next');
  g.output(g.reduceMean(x, [1]), 'mean');
  return g.toBytes();
}
