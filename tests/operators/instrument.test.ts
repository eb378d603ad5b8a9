import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { concatMap, delay, filter, of } from 'rxjs';
import { instrument, segmentKey, timed } from '../../src/operators/instrument.js';

interface Item {
  stream: string;
  index: number;
}

describe('instrument', () => {
  it('observes each item from entry to exit of the wrapped operator', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ cold, flush }) => {
      const observed: Array<[string, number]> = [];
      const items: Record<string, Item> = { a: { stream: 'cam', index: 0 }, b: { stream: 'cam', index: 1 } };
      const slow = concatMap((i: Item) => of(i).pipe(delay(i.index === 0 ? 30 : 10)));
      cold('a 4ms b|', items)
        .pipe(
          instrument('encode_audio', slow, {
            observe: (stage, s) => observed.push([stage, s]),
            keyIn: segmentKey,
            keyOut: segmentKey,
            clock: () => ts.now(),
          }),
        )
        .subscribe();
      flush();
      // a: 0 -> 30 ms; b enters at 5 ms, waits behind a, leaves at 40 ms.
      expect(observed).toEqual([
        ['encode_audio', 0.03],
        ['encode_audio', 0.035],
      ]);
    });
  });

  it('remembers at most maxPending entry times, forgetting the oldest', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ cold, flush }) => {
      const observed: number[] = [];
      const items: Record<string, Item> = { a: { stream: 'cam', index: 0 }, b: { stream: 'cam', index: 1 } };
      const out: number[] = [];
      cold('ab|', items)
        .pipe(
          instrument(
            'parse',
            concatMap((i: Item) => of(i).pipe(delay(10))),
            {
              observe: (_s, seconds) => observed.push(seconds),
              keyIn: segmentKey,
              keyOut: segmentKey,
              clock: () => ts.now(),
              maxPending: 1,
            },
          ),
        )
        .subscribe((i) => out.push(i.index));
      flush();
      // a's entry was forgotten when b entered: a passes untimed, b (1 ms -> 20 ms) is timed.
      expect(out).toEqual([0, 1]);
      expect(observed).toEqual([0.019]);
    });
  });

  it('keeps working when the inner operator swallows items', () => {
    const observed: number[] = [];
    let now = 0;
    const out: number[] = [];
    of(...Array.from({ length: 100 }, (_, index) => ({ stream: 'cam', index })))
      .pipe(
        instrument(
          'parse',
          filter((i: Item) => i.index % 2 === 0),
          {
            observe: (_s, seconds) => observed.push(seconds),
            keyIn: segmentKey,
            keyOut: segmentKey,
            clock: () => (now += 1),
            maxPending: 4,
          },
        ),
      )
      .subscribe((i) => out.push(i.index));
    expect(out).toHaveLength(50);
    expect(observed).toHaveLength(50);
  });

  it('passes outputs it has no entry time for without observing them', () => {
    const observed: number[] = [];
    const renamed = concatMap((i: Item) => of({ ...i, stream: 'other' }));
    const out: string[] = [];
    of({ stream: 'cam', index: 0 })
      .pipe(
        instrument('x', renamed, {
          observe: (_s, v) => observed.push(v),
          keyIn: segmentKey,
          keyOut: segmentKey,
        }),
      )
      .subscribe((i) => out.push(i.stream));
    expect(out).toEqual(['other']);
    expect(observed).toEqual([]);
  });
});

describe('timed', () => {
  it('observes the duration of each successful call and returns its result', async () => {
    const observed: Array<[string, number]> = [];
    let now = 1000;
    const encoder = timed(
      'encode_visual',
      (stage, s) => observed.push([stage, s]),
      async (n: number) => {
        now += 250;
        return n * 2;
      },
      () => now,
    );
    await expect(encoder(21)).resolves.toBe(42);
    expect(observed).toEqual([['encode_visual', 0.25]]);
  });

  it('passes failures on without observing them', async () => {
    const observed: number[] = [];
    const failing = timed(
      'parse',
      (_s, v) => observed.push(v),
      async () => {
        throw new Error('head failed');
      },
    );
    await expect(failing()).rejects.toThrow('head failed');
    expect(observed).toEqual([]);
  });
});
