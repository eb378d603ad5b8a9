import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { slidingWindow, type Sequenced } from '../../src/operators/window.js';

function items(stream: string, indices: number[], flagged: number[] = []): Sequenced[] {
  return indices.map((index) => ({ stream, index, discontinuity: flagged.includes(index) || undefined }));
}

async function windows(input: Sequenced[], size: number) {
  const out = await lastValueFrom(from(input).pipe(slidingWindow(size), toArray()));
  return out.map((w) => ({
    stream: w.stream,
    indices: w.items.map((i) => i.index),
    valid: w.valid,
    restarted: w.restarted,
  }));
}

describe('slidingWindow', () => {
  it('pads the first windows with the oldest real item, then slides', async () => {
    expect(await windows(items('cam', [0, 1, 2, 3, 4]), 3)).toEqual([
      { stream: 'cam', indices: [0, 0, 0], valid: 1, restarted: true },
      { stream: 'cam', indices: [0, 0, 1], valid: 2, restarted: false },
      { stream: 'cam', indices: [0, 1, 2], valid: 3, restarted: false },
      { stream: 'cam', indices: [1, 2, 3], valid: 3, restarted: false },
      { stream: 'cam', indices: [2, 3, 4], valid: 3, restarted: false },
    ]);
  });

  it('defaults to T = 10 and never holds more than T items', async () => {
    const out = await windows(
      items(
        'cam',
        Array.from({ length: 25 }, (_, i) => i),
      ),
      10,
    );
    expect(out.every((w) => w.indices.length === 10)).toBe(true);
    expect(out[24].indices).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    const byDefault = await lastValueFrom(from(items('cam', [0])).pipe(slidingWindow(), toArray()));
    expect(byDefault[0].items).toHaveLength(10);
  });

  it('resets at an index gap (dropped segments)', async () => {
    expect(await windows(items('cam', [0, 1, 5, 6]), 3)).toEqual([
      { stream: 'cam', indices: [0, 0, 0], valid: 1, restarted: true },
      { stream: 'cam', indices: [0, 0, 1], valid: 2, restarted: false },
      { stream: 'cam', indices: [5, 5, 5], valid: 1, restarted: true },
      { stream: 'cam', indices: [5, 5, 6], valid: 2, restarted: false },
    ]);
  });

  it('resets at a flagged discontinuity even when indices are consecutive (reconnect)', async () => {
    const out = await windows(items('cam', [0, 1, 2], [2]), 3);
    expect(out[2]).toEqual({ stream: 'cam', indices: [2, 2, 2], valid: 1, restarted: true });
  });

  it('keeps interleaved streams apart', async () => {
    const a = items('a', [0, 1, 2]);
    const b = items('b', [7, 8, 9]);
    const out = await windows([a[0], b[0], a[1], b[1], a[2], b[2]], 2);
    expect(out.filter((w) => w.stream === 'a').map((w) => w.indices)).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
    ]);
    expect(out.filter((w) => w.stream === 'b').map((w) => w.indices)).toEqual([
      [7, 7],
      [7, 8],
      [8, 9],
    ]);
  });

  it('a window of size 1 is just the item', async () => {
    expect((await windows(items('cam', [0, 1]), 1)).map((w) => w.indices)).toEqual([[0], [1]]);
  });

  it('rejects a bad size and out-of-order items with clear errors', async () => {
    expect(() => slidingWindow(0)).toThrow(/size must be a positive integer, got 0/);
    expect(() => slidingWindow(2.5)).toThrow(/positive integer/);
    await expect(windows(items('cam', [3, 2]), 3)).rejects.toThrow(/went back from segment 3 to 2/);
    await expect(windows(items('cam', [3, 3]), 3)).rejects.toThrow(/went back/);
  });
});
