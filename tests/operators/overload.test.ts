import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { delay, from, interval, lastValueFrom, map, of, take, tap, throwError, timer, toArray } from 'rxjs';
import { overload } from '../../src/operators/overload.js';

function scheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const slowUpper = (ms: number) => (s: string) => of(s.toUpperCase()).pipe(delay(ms));

describe('overload', () => {
  it('drops the oldest waiting items when inference falls behind, and counts them', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const dropped: string[] = [];
      const totals: number[] = [];
      const out = cold('abcdef|').pipe(
        overload(slowUpper(10), {
          capacity: 2,
          onDrop: (item, total) => {
            dropped.push(item);
            totals.push(total);
          },
        }),
      );
      // a runs at once; b and c wait; d, e, f each push the oldest waiting one out.
      expectObservable(out).toBe('10ms A 9ms E 9ms (F|)');
      flush();
      expect(dropped).toEqual(['b', 'c', 'd']);
      expect(totals).toEqual([1, 2, 3]);
    });
  });

  it('never drops in process-all mode and reports the backlog instead', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const backlog: number[] = [];
      const out = cold('abcd|').pipe(
        overload(slowUpper(10), { mode: 'process-all', capacity: 1, onBacklog: (n) => backlog.push(n) }),
      );
      expectObservable(out).toBe('10ms A 9ms B 9ms C 9ms (D|)');
      flush();
      expect(Math.max(...backlog)).toBe(3);
      expect(backlog[backlog.length - 1]).toBe(0);
    });
  });

  it('keeps the wait bounded however long the overload lasts', () => {
    const ts = scheduler();
    ts.run(() => {
      // 200 items, one per ms, each taking 7 ms: inference is 7x too slow for the source.
      const arrivals = new Map<number, number>();
      const delays: number[] = [];
      const processed: number[] = [];
      let maxWaiting = 0;
      let dropped = 0;
      interval(1)
        .pipe(
          take(200),
          tap((i) => arrivals.set(i, ts.now())),
          overload((i: number) => of(i).pipe(delay(7)), {
            capacity: 3,
            onBacklog: (n) => (maxWaiting = Math.max(maxWaiting, n)),
            onDrop: (_item, total) => (dropped = total),
          }),
        )
        .subscribe((i) => {
          processed.push(i);
          delays.push(ts.now() - arrivals.get(i)!);
        });
      ts.flush();
      expect(maxWaiting).toBe(3);
      // Each answer waited for at most `capacity` items ahead of it plus its own processing.
      expect(Math.max(...delays)).toBeLessThanOrEqual((3 + 1) * 7);
      expect(processed.length + dropped).toBe(200);
      expect(processed[processed.length - 1]).toBe(199);
    });
  });

  it('processes several items at once with concurrency but emits them in input order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const project = (s: string) => of(s.toUpperCase()).pipe(delay(s === 'a' ? 20 : 5));
      expectObservable(cold('ab|').pipe(overload(project, { concurrency: 2 }))).toBe('20ms (AB|)');
    });
  });

  it('passes errors of the processing function on', async () => {
    const failing = () => throwError(() => new Error('encoder failed'));
    await expect(lastValueFrom(from([1]).pipe(overload(failing)))).rejects.toThrow('encoder failed');
    const throwing = () => {
      throw new Error('bad segment');
    };
    await expect(lastValueFrom(from([1]).pipe(overload(throwing)))).rejects.toThrow('bad segment');
  });

  it('works with promises in real time and completes after the last item', async () => {
    const out = await lastValueFrom(
      from([1, 2, 3]).pipe(
        overload(async (n: number) => n * 10, { mode: 'process-all' }),
        toArray(),
      ),
    );
    expect(out).toEqual([10, 20, 30]);
  });

  it('works through a long backlog of synchronous jobs without growing the stack', async () => {
    const n = 20_000;
    // The first job is asynchronous, so everything else queues up behind it; the rest finish at once.
    const project = (i: number) => (i === 0 ? timer(1).pipe(map(() => i)) : of(i));
    const out = await lastValueFrom(
      from(Array.from({ length: n }, (_, i) => i)).pipe(
        overload(project, { mode: 'process-all' }),
        toArray(),
      ),
    );
    expect(out).toHaveLength(n);
    expect(out[n - 1]).toBe(n - 1);
  });

  it('rejects bad options with the allowed values', () => {
    const project = (n: number) => of(n);
    expect(() => overload(project, { capacity: 0 })).toThrow(/capacity must be a positive integer, got 0/);
    expect(() => overload(project, { concurrency: 0 })).toThrow(/concurrency/);
    expect(() => overload(project, { mode: 'newest' as never })).toThrow(/'drop-oldest' or 'process-all'/);
  });
});
