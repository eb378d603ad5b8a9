// A client that stops reading (its TCP socket paused) must not grow server memory: the server
// caps what it hands to the socket, the client lags inside the shared resume buffer, learns
// exactly what it lost, and is closed with 1013 when it falls too far behind.
import { afterEach, describe, expect, it } from 'vitest';
import type { Publishable, ServerMessage } from '../../src/sinks/protocol.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const CAP = 256 * 1024;
let server: TestServer | undefined;
let client: TestClient | undefined;

afterEach(async () => {
  client?.close();
  await server?.api.close();
  server = client = undefined;
});

/** An embedding message of about 18 kB. */
function bigMessage(index: number): Publishable {
  return {
    type: 'embedding',
    stream: 'cam1',
    mediaTime: index,
    wallclock: Date.now(),
    index,
    modality: 'audio-visual',
    vector: Array.from({ length: 2000 }, (_, i) => ((i * 7919 + index) % 1000) / 1000 + 0.000123),
  };
}

/**
 * Publishes (yielding to the event loop between messages, so sockets drain what they can) until
 * `done`; returns the most bytes the server ever held for the client.
 */
async function publishUntil(done: () => boolean): Promise<number> {
  const events = server!.api.events;
  let maxBuffered = 0;
  for (let i = 0; !done(); i++) {
    if (i > 20_000) throw new Error('the server never reacted to the stalled client');
    events.publish(bigMessage(i));
    maxBuffered = Math.max(maxBuffered, ...events.clients.map((c) => c.bufferedBytes));
    expect(events.bufferStats.messages).toBeLessThanOrEqual(200);
    expect(events.bufferStats.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    await new Promise((r) => setImmediate(r));
  }
  return maxBuffered;
}

describe('slow WebSocket clients', () => {
  it('caps buffered bytes, drops what a stalled client cannot take and tells it exactly what', async () => {
    server = await startServer({
      ws: {
        maxBufferedBytes: CAP,
        maxMessageBytes: 64 * 1024,
        resumeMessages: 200,
        resumeBytes: 2 * 1024 * 1024,
        maxLostBeforeClose: 1e9,
      },
    });
    client = await TestClient.connect(server.wsUrl);
    await client.subscribe();
    client.socket.pause();
    const events = server.api.events;
    const maxBuffered = await publishUntil(() => events.clients[0]!.lostBehind >= 100);
    expect(maxBuffered).toBeGreaterThan(CAP - 64 * 1024); // the cap was reached, not merely approached
    expect(maxBuffered).toBeLessThanOrEqual(CAP);

    client.socket.resume();
    events.publish(bigMessage(99_999));
    const last = events.latestSeq;
    await client.next((m) => m.seq === last && m.type === 'embedding', 'the newest message');
    const dropped = client.received.filter((m) => m.type === 'dropped') as Extract<
      ServerMessage,
      { type: 'dropped' }
    >[];
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    let missed = 0;
    for (const d of dropped) {
      expect(d.reason).toBe('slow-consumer');
      expect(d.count).toBe(d.to - d.from + 1); // no filter: every seq in the range matched
      missed += d.count!;
    }
    // What arrived plus what was reported missing is every published seq, once, in order.
    const seen: number[] = [];
    for (const m of client.received) {
      if (m.type === 'embedding') seen.push(m.seq);
      if (m.type === 'dropped') for (let s = m.from; s <= m.to; s++) seen.push(s);
    }
    expect(seen).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(missed).toBeGreaterThanOrEqual(100);
    expect((await server.metrics.wsDropped.get()).values[0]!.value).toBe(missed);
  });

  it('closes a client that stays too far behind with 1013, memory bounded throughout', async () => {
    server = await startServer({
      ws: {
        maxBufferedBytes: CAP,
        maxMessageBytes: 64 * 1024,
        resumeMessages: 50,
        resumeBytes: 2 * 1024 * 1024,
        maxLostBeforeClose: 20,
      },
    });
    client = await TestClient.connect(server.wsUrl);
    await client.subscribe();
    client.socket.pause();
    const events = server.api.events;
    const maxBuffered = await publishUntil(() => events.clients.every((c) => c.closing));
    expect(maxBuffered).toBeLessThanOrEqual(CAP);
    client.socket.resume();
    expect(await client.closed()).toBe(1013);
    expect(client.closeReason).toMatch(/too slow/);
    // It can reconnect and resume: it is told what it missed and gets the rest.
    const lastSeen = client.data().at(-1)?.seq ?? 0;
    client = await TestClient.connect(server.wsUrl);
    client.send({ op: 'resume', since: lastSeen });
    await client.next((m) => m.seq === events.latestSeq && m.type === 'embedding');
    expect(client.received.find((m) => m.type === 'dropped')).toMatchObject({
      reason: 'resume-gap',
      from: lastSeen + 1,
    });
  });
});
