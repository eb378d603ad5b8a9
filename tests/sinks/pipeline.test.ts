// The contract between the operators and the sink: events decoded by the real decodeEvents
// operator, published through the real server, arrive at a real client as schema-valid messages
// with the right labels, modalities and times.
import { from } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvents } from '../../src/operators/decodeEvents.js';
import { eventMessage, segmentMessage, type ServerMessage } from '../../src/sinks/protocol.js';
import type { SegmentPrediction } from '../../src/types.js';
import { CLASSES, TestClient, startServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.api.close();
  server = undefined;
});

const T0 = 1_763_800_000_000;

/** "dog" audible and visible in segments 2..4, "car" only audible in 6..7, 10 segments. */
function predictions(): SegmentPrediction[] {
  return Array.from({ length: 10 }, (_, k) => {
    const dog = k >= 2 && k <= 4 ? 0.9 : 0.05;
    const car = k >= 6 && k <= 7 ? 0.8 : 0.02;
    return {
      stream: 'cam1',
      index: k,
      t0: k,
      t1: k + 1,
      wallclock: T0 + k * 1000,
      classes: CLASSES,
      audio: new Float32Array([0.01, dog, car]),
      visual: new Float32Array([0.01, dog, 0.02]),
      audioVisual: new Float32Array([0.0, dog * dog, car * 0.02]),
    };
  });
}

describe('operators -> sink', () => {
  it('delivers decoded events and segments as schema-valid messages with the right times', async () => {
    server = await startServer();
    const client = await TestClient.connect(server.wsUrl);
    await client.subscribe();
    const done = new Promise<void>((resolve, reject) => {
      from(predictions())
        .pipe(decodeEvents())
        .subscribe({
          next: (e) => server!.api.events.publish(eventMessage(e)),
          error: reject,
          complete: resolve,
        });
    });
    for (const p of predictions()) server.api.events.publish(segmentMessage(p));
    await done;
    const last = server.api.events.latestSeq;
    await client.next((m) => m.seq === last);
    client.assertValid();

    const events = client.data().filter((m) => m.type === 'event') as Extract<
      ServerMessage,
      { type: 'event' }
    >[];
    const ends = events.filter((e) => e.phase === 'end');
    expect(ends.map((e) => [e.label, e.modality, e.start, e.end]).sort()).toEqual(
      [
        ['car', 'audio', 6, 8],
        ['dog', 'audio', 2, 5],
        ['dog', 'visual', 2, 5],
        ['dog', 'audio-visual', 2, 5],
      ].sort(),
    );
    for (const e of events) {
      // Wall clock follows media time: segment k starts at T0 + k s.
      expect(e.wallclockStart).toBe(T0 + e.start * 1000);
      expect(e.wallclock).toBe(T0 + e.mediaTime * 1000);
      expect(events.find((s) => s.id === e.id && s.phase === 'start')).toBeDefined();
    }
    const segments = client.data().filter((m) => m.type === 'segment');
    expect(segments.map((s) => s.mediaTime)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    client.close();
  });
});
