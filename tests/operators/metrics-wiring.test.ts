// The operators' callbacks plug straight into the metrics sink (src/sinks/metrics.ts) without the
// operators importing prom-client: drops, stage durations, batch sizes, parsed segments and events
// all move the Prometheus counters.
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { Metrics } from '../../src/sinks/metrics.js';
import { decodeEvents } from '../../src/operators/decodeEvents.js';
import { encodeBatch } from '../../src/operators/encode.js';
import { timed } from '../../src/operators/instrument.js';
import { overload } from '../../src/operators/overload.js';
import { predictSegments, type WindowHead } from '../../src/operators/predictSegments.js';
import { slidingWindow } from '../../src/operators/window.js';
import type { Features, Segment } from '../../src/types.js';

function segment(index: number): Segment {
  return {
    stream: 'cam',
    index,
    t0: index,
    t1: index + 1,
    wallclock: index * 1000,
    audio: new Float32Array(4).fill(1),
    frames: null,
    sampleRate: 4,
    width: 0,
    height: 0,
    fps: 0,
  };
}

/** The value of one sample line of the Prometheus text, e.g. name{labels}. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no series ${series} in the metrics text`);
  return Number(line.slice(series.length + 1));
}

describe('operators -> metrics sink', () => {
  it('moves the drop, stage, batch, segment and event metrics', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.addStream('cam');
    const observe = metrics.observeStage.bind(metrics);
    const audio = timed('encode_audio', observe, async (segs: readonly Segment[]) =>
      segs.map((s) => Float32Array.of(s.audio![0])),
    );
    const encodeOne = async (s: Segment) => (await encodeBatch({ audio })([s]))[0];
    const head: WindowHead = timed('parse', observe, async (windows) =>
      windows.map((w) => ({
        audio: new Float32Array(w.items.length).fill(0.9),
        visual: new Float32Array(w.items.length),
      })),
    );

    const events = await lastValueFrom(
      // Ten segments arrive at once; one is encoded while two wait: seven are dropped, oldest first.
      from(Array.from({ length: 10 }, (_, i) => segment(i))).pipe(
        overload(encodeOne, { capacity: 2, onDrop: (s) => metrics.segmentDropped(s.stream, 'overload') }),
        slidingWindow<Features>(10),
        predictSegments({
          head,
          classes: ['dog'],
          lookahead: 0,
          batch: { onBatch: (n) => metrics.inferenceBatch(n) },
        }),
        tap((p) => metrics.segmentParsed(p.stream)),
        decodeEvents(),
        tap((e) => e.phase === 'start' && metrics.eventStarted(e.stream, e.modality)),
        toArray(),
      ),
    );

    const text = await metrics.text();
    expect(sample(text, 'avvp_segments_dropped_total{stream="cam",reason="overload"}')).toBe(7);
    expect(sample(text, 'avvp_segments_total{stream="cam"}')).toBe(3);
    expect(sample(text, 'avvp_stage_duration_seconds_count{stage="encode_audio"}')).toBe(3);
    expect(sample(text, 'avvp_stage_duration_seconds_count{stage="parse"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'avvp_inference_batch_size_sum')).toBe(3);
    // Segments 0, 8, 9 survive: the gap after 0 ends its event and starts another.
    expect(events.filter((e) => e.phase === 'start').map((e) => e.start)).toEqual([0, 8]);
    expect(sample(text, 'avvp_events_total{stream="cam",modality="audio"}')).toBe(2);
  });
});
