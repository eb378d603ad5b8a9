import { describe, expect, it } from 'vitest';
import { transferable } from '../../src/pool/messages.js';

const tensor = (data: Float32Array) => ({ type: 'float32' as const, data, dims: [data.length] });

describe('transferable', () => {
  it('transfers an array that owns its whole buffer as it is', () => {
    const data = Float32Array.of(1, 2, 3);
    const { tensors, transfer } = transferable({ x: tensor(data) });
    expect(tensors.x.data).toBe(data);
    expect(transfer).toEqual([data.buffer]);
  });

  it('copies a view into a larger buffer, so the rest of that buffer stays with its owner', () => {
    const big = new Float32Array(8).fill(7);
    const view = big.subarray(2, 5);
    const { tensors, transfer } = transferable({ x: tensor(view) });
    expect(tensors.x.data).not.toBe(view);
    expect(Array.from(tensors.x.data as Float32Array)).toEqual([7, 7, 7]);
    expect(transfer).toEqual([tensors.x.data.buffer]);
    expect(transfer).not.toContain(big.buffer);
  });

  it('transfers a buffer once when two inputs share it, copying the second', () => {
    const data = Float32Array.of(1, 2);
    const { tensors, transfer } = transferable({ a: tensor(data), b: tensor(data) });
    expect(tensors.a.data).toBe(data);
    expect(tensors.b.data).not.toBe(data);
    expect(new Set(transfer).size).toBe(2);
  });

  it('copies arrays on shared memory, which cannot be transferred', () => {
    const shared = new Float32Array(new SharedArrayBuffer(8));
    const { tensors, transfer } = transferable({ x: tensor(shared) });
    expect(tensors.x.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(transfer).toEqual([tensors.x.data.buffer]);
  });

  it('keeps the type and dims', () => {
    const { tensors } = transferable({ n: { type: 'int64', data: BigInt64Array.of(5n), dims: [1, 1] } });
    expect(tensors.n).toMatchObject({ type: 'int64', dims: [1, 1] });
  });
});
