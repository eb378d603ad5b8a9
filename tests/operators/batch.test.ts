import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import {
  concatMap,
  delay,
  firstValueFrom,
  from,
  lastValueFrom,
  map,
  of,
  throwError,
  timer,
  toArray,
} from 'rxjs';
import { batch, createSharedBatcher } from '../../src/operators/batch.js';

function scheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A batch function that upper-cases and records each batch it was given. */
function recorder(latency = 0) {
  const batches: string[][] = [];
  const run = (items: string[]) => {
    batches.push([...items]);
    const out = of(items.map((s) => s.toUpperCase()));
    return latency > 0 ? out.pipe(delay(latency)) : out;
  };
  return { batches, run };
}

describe('batch operator', () => {
  it('cuts a batch as soon as maxBatch items are waiting', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const { batches, run } = recorder();
      const source = cold('(abcd)|');
      expectObservable(source.pipe(batch(run, { maxBatch: 2, maxWaitMs: 100 }))).toBe('(ABCD)|');
      flush();
      expect(batches).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
    });
  });

  it('waits at most maxWaitMs after the first item of a batch', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const { batches, run } = recorder();
      const source = cold('a 4ms b 14ms c 30ms |');
      // a and b go out together at 10 ms; c waits alone from 20 ms to 30 ms.
      expectObservable(source.pipe(batch(run, { maxBatch: 8, maxWaitMs: 10 }))).toBe(
        '10ms (AB) 16ms C 20ms |',
      );
      flush();
      expect(batches).toEqual([['a', 'b'], ['c']]);
    });
  });

  it('flushes a partial batch when the input completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const { run } = recorder();
      expectObservable(cold('ab|').pipe(batch(run, { maxBatch: 8, maxWaitMs: 50 }))).toBe('--(AB|)');
    });
  });

  it('lets items accumulate while every slot is busy, so batches grow under load', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const { batches, run } = recorder(20);
      const sizes: number[] = [];
      const source = cold('a 4ms b 4ms c 4ms d 20ms e|');
      expectObservable(
        source.pipe(batch(run, { maxBatch: 8, maxWaitMs: 0, onBatch: (n) => sizes.push(n) })),
      ).toBe('20ms A 19ms (BCD) 15ms (E|)');
      flush();
      expect(batches).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
      expect(sizes).toEqual([1, 3, 1]);
    });
  });

  it('runs batches concurrently but emits results in input order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // The first batch is slow, the second fast: the second's results wait for the first's.
      const run = (items: string[]) =>
        of(items.map((s) => s.toUpperCase())).pipe(delay(items.includes('a') ? 30 : 5));
      expectObservable(
        cold('(ab) 4ms (cd)|').pipe(batch(run, { maxBatch: 2, maxWaitMs: 0, concurrency: 2 })),
      ).toBe('30ms (ABCD|)');
    });
  });

  it('reports a batch function that returns the wrong number of results', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const run = (items: string[]) => of(items.slice(1));
      expectObservable(cold('(ab)|').pipe(batch(run, { maxBatch: 2 }))).toBe(
        '#',
        undefined,
        new Error(
          'batch: the batch function returned 1 results for 2 items; it must return one result per item, in order',
        ),
      );
    });
  });

  it('passes errors of the batch function on, whether thrown or emitted', async () => {
    const throwing = () => {
      throw new Error('model exploded');
    };
    await expect(lastValueFrom(from(['a']).pipe(batch(throwing, { maxWaitMs: 0 })))).rejects.toThrow(
      'model exploded',
    );
    const rejecting = () => Promise.reject(new Error('worker died'));
    await expect(lastValueFrom(from(['a']).pipe(batch(rejecting, { maxWaitMs: 0 })))).rejects.toThrow(
      'worker died',
    );
  });

  it('works with promise-returning batch functions in real time', async () => {
    const run = async (items: number[]) => items.map((n) => n * 2);
    const out = await lastValueFrom(from([1, 2, 3, 4, 5]).pipe(batch(run, { maxBatch: 2 }), toArray()));
    expect(out).toEqual([2, 4, 6, 8, 10]);
  });

  it('works through a long backlog of synchronous batches without growing the stack', async () => {
    const n = 20_000;
    let first = true;
    const run = (items: number[]) => {
      if (!first) return of(items);
      first = false;
      return timer(1).pipe(map(() => items));
    };
    const out = await lastValueFrom(
      from(Array.from({ length: n }, (_, i) => i)).pipe(batch(run, { maxBatch: 1 }), toArray()),
    );
    expect(out).toHaveLength(n);
  });

  it('rejects bad options with the allowed range', () => {
    const run = (items: number[]) => of(items);
    expect(() => batch(run, { maxBatch: 0 })).toThrow(/maxBatch must be a positive integer, got 0/);
    expect(() => batch(run, { maxWaitMs: -1 })).toThrow(/maxWaitMs/);
    expect(() => batch(run, { concurrency: 1.5 })).toThrow(/concurrency/);
  });
});

describe('createSharedBatcher', () => {
  it('batches items submitted by separate pipelines and routes each result to its caller', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const { batches, run } = recorder(3);
      const shared = createSharedBatcher(run, { maxBatch: 4, maxWaitMs: 10 });
      const pipeline = (source: string) =>
        cold(source).pipe(concatMap((s: string) => shared.run([s]).pipe(map(([r]) => r))));
      expectObservable(pipeline('a 19ms c|')).toBe('13ms A 19ms (C|)');
      expectObservable(pipeline('-b|')).toBe('13ms (B|)');
      flush();
      expect(batches).toEqual([['a', 'b'], ['c']]);
    });
  });

  it('fails only the callers whose batch failed and keeps serving later ones', async () => {
    let calls = 0;
    const shared = createSharedBatcher(
      async (items: string[]) => {
        calls++;
        if (items.includes('bad')) throw new Error('session run failed');
        return items.map((s) => s.length);
      },
      { maxBatch: 2, maxWaitMs: 5 },
    );
    await expect(firstValueFrom(shared.run(['bad']))).rejects.toThrow('session run failed');
    await expect(firstValueFrom(shared.run(['abc', 'de']))).resolves.toEqual([3, 2]);
    expect(calls).toBe(2);
    shared.close();
    await expect(firstValueFrom(shared.run(['x']))).rejects.toThrow(/closed/);
  });

  it('fails callers whose batch came back with the wrong number of results', async () => {
    const shared = createSharedBatcher(async (items: string[]) => items.slice(1), { maxWaitMs: 0 });
    await expect(firstValueFrom(shared.run(['a']))).rejects.toThrow(/returned 0 results for 1 items/);
    const empty = createSharedBatcher(() => timer(1).pipe(map(() => [] as number[])), { maxWaitMs: 5 });
    await expect(firstValueFrom(empty.run(['a', 'b']))).rejects.toThrow(/0 results for 2 items/);
    const silent = createSharedBatcher(() => throwError(() => new Error('no session')), { maxWaitMs: 0 });
    await expect(firstValueFrom(silent.run(['a']))).rejects.toThrow('no session');
  });
});
