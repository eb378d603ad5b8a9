import { afterEach, describe, expect, it } from 'vitest';
import { eventMessage, segmentMessage, statusMessage, type ServerMessage } from '../../src/sinks/protocol.js';
import type { AvEvent } from '../../src/types.js';
import { CLASSES, TestClient, startServer, until, type TestServer } from './helpers.js';

let server: TestServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.api.close();
  server = undefined;
});

async function client(url = server!.wsUrl, opts = {}): Promise<TestClient> {
  const c = await TestClient.connect(url, opts);
  clients.push(c);
  return c;
}

function avEvent(stream: string, label: string, confidence: number, start = 3): AvEvent {
  return {
    id: `${stream}-${label}-${start}`,
    stream,
    label,
    modality: 'audio-visual',
    phase: 'start',
    start,
    wallclockStart: 1_700_000_000_000 + start * 1000,
    confidence,
  };
}

function segment(stream: string, index: number) {
  const probs = () => new Float32Array(CLASSES.map((_, i) => ((i + index) % 10) / 10));
  return segmentMessage({
    stream,
    index,
    t0: index,
    t1: index + 1,
    wallclock: Date.now() - 1500,
    classes: CLASSES,
    audio: probs(),
    visual: probs(),
    audioVisual: probs(),
  });
}

const seqs = (ms: ServerMessage[]) => ms.map((m) => m.seq);

describe('WebSocket API v1', () => {
  it('greets with hello, sends nothing before subscribe, then delivers every message type in seq order', async () => {
    server = await startServer();
    await server.streams.add('cam1', 'rtsp://user:pw@10.0.0.1/s');
    const c = await client();
    const hello = c.received[0]!;
    expect(hello).toMatchObject({
      type: 'hello',
      v: 1,
      streams: ['cam1'],
      classes: CLASSES,
      oldestSeq: null,
      seq: 0,
    });

    server.api.events.publish(segment('cam1', 0)); // before subscribe: not delivered
    await c.subscribe();
    server.api.events.publish(segment('cam1', 1));
    server.api.events.publish(eventMessage(avEvent('cam1', 'dog', 0.9)));
    server.api.events.publish(
      statusMessage({ stream: 'cam1', state: 'reconnecting', at: Date.now(), restarts: 1, dropped: 0 }),
    );
    server.api.events.publish({
      type: 'localization',
      stream: 'cam1',
      mediaTime: 1,
      wallclock: Date.now(),
      index: 1,
      width: 2,
      height: 2,
      grid: Buffer.from([0, 255, 10, 20]).toString('base64'),
      peak: { x: 1, y: 0, value: 1 },
      box: { x0: 0.5, y0: 0, x1: 1, y1: 0.5 },
    });
    server.api.events.publish({
      type: 'embedding',
      stream: 'cam1',
      mediaTime: 1,
      wallclock: Date.now(),
      index: 1,
      modality: 'audio',
      vector: [0.1, -0.2, 0.3],
    });
    await c.next((m) => m.type === 'embedding');
    // A later client learns the current state of each stream from hello.
    const late = await client();
    expect(late.received[0]).toMatchObject({
      states: [{ seq: 4, type: 'status', stream: 'cam1', state: 'reconnecting' }],
    });
    await server.streams.remove('cam1');
    expect((await client()).received[0]).toMatchObject({ streams: [], states: [] });
    const data = c.data();
    expect(data.map((m) => m.type)).toEqual(['segment', 'event', 'status', 'localization', 'embedding']);
    expect(seqs(data)).toEqual([2, 3, 4, 5, 6]);
    expect(data[1]).toMatchObject({ label: 'dog', modality: 'audio-visual', phase: 'start', mediaTime: 3 });
    c.assertValid();
  });

  it('filters by stream, type, label and minimum confidence; seq stays increasing', async () => {
    server = await startServer();
    const all = await client();
    const filtered = await client();
    await all.subscribe();
    await filtered.subscribe({
      streams: ['cam2'],
      types: ['event', 'status'],
      labels: ['dog'],
      minConfidence: 0.5,
    });
    const ev = server.api.events;
    for (let i = 0; i < 5; i++) {
      ev.publish(segment('cam1', i));
      ev.publish(segment('cam2', i));
      ev.publish(eventMessage(avEvent('cam1', 'dog', 0.9, i)));
      ev.publish(eventMessage(avEvent('cam2', 'dog', i / 5, i)));
      ev.publish(eventMessage(avEvent('cam2', 'car', 0.9, i)));
      ev.publish(statusMessage({ stream: 'cam2', state: 'up', at: Date.now(), restarts: 0, dropped: 0 }));
    }
    const last = ev.latestSeq;
    await all.next((m) => m.seq === last);
    await filtered.next((m) => m.seq === last);
    const got = filtered.data();
    expect(got.every((m) => m.stream === 'cam2')).toBe(true);
    expect(got.filter((m) => m.type === 'status')).toHaveLength(5);
    const events = got.filter((m) => m.type === 'event');
    expect(events.map((m) => [m.label, m.confidence])).toEqual([
      ['dog', 0.6],
      ['dog', 0.8],
    ]);
    expect(all.data()).toHaveLength(30);
    for (const c of [all, filtered]) {
      const s = seqs(c.received);
      expect(s.every((v, i) => i === 0 || v >= s[i - 1]!)).toBe(true); // never decreasing overall
      const d = seqs(c.data());
      expect(d.every((v, i) => i === 0 || v > d[i - 1]!)).toBe(true); // strictly increasing data
    }
  });

  it('resume after a disconnect loses nothing that is still buffered, in order, without duplicates', async () => {
    server = await startServer();
    const ev = server.api.events;
    const first = await client();
    await first.subscribe({ streams: ['cam1'] });
    for (let i = 0; i < 10; i++) ev.publish(segment(i % 2 ? 'cam1' : 'cam2', i));
    await first.next((m) => m.seq === 10);
    const lastSeen = first.data().at(-1)!.seq;
    first.close();
    for (let i = 10; i < 20; i++) ev.publish(segment(i % 2 ? 'cam1' : 'cam2', i));

    const second = await client();
    await second.subscribe({ streams: ['cam1'], since: lastSeen });
    for (let i = 20; i < 24; i++) ev.publish(segment(i % 2 ? 'cam1' : 'cam2', i));
    await second.next((m) => m.seq === 24);
    const indices = [...first.data(), ...second.data()].map((m) => (m as { index: number }).index);
    expect(indices).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    expect(second.received.some((m) => m.type === 'dropped')).toBe(false);

    // `resume` keeps the filter and rewinds: everything after `since` again, in order.
    second.send({ op: 'resume', since: 18 });
    await second.next((m) => m.type === 'subscribed');
    await second.next((m) => m.seq === 24 && m.type === 'segment');
    expect(seqs(second.data()).slice(-3)).toEqual([20, 22, 24]);
  });

  it('tells a client resuming beyond the buffer exactly which seqs it missed', async () => {
    server = await startServer({ ws: { resumeMessages: 10 } });
    const ev = server.api.events;
    for (let i = 0; i < 30; i++) ev.publish(segment('cam1', i));
    const c = await client();
    expect(c.received[0]).toMatchObject({ type: 'hello', oldestSeq: 21, seq: 30 });
    c.send({ op: 'resume', since: 5 });
    await c.next((m) => m.seq === 30 && m.type === 'segment');
    const dropped = c.received.find((m) => m.type === 'dropped');
    expect(dropped).toMatchObject({ reason: 'resume-gap', from: 6, to: 20, count: null, seq: 20 });
    expect(seqs(c.data())).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  });

  it('answers malformed, unknown and ill-typed client messages with error and keeps serving', async () => {
    server = await startServer();
    const c = await client();
    const cases: [unknown, string, string?][] = [
      ['{not json', 'invalid-json'],
      ['[1,2]', 'invalid-message'],
      ['"subscribe"', 'invalid-message'],
      [{ streams: ['cam1'] }, 'invalid-message'],
      [{ op: 'unsubscribe' }, 'unknown-op'],
      [{ op: 42 }, 'invalid-message'],
      [{ op: 'subscribe', streams: 'cam1' }, 'invalid-field', 'streams'],
      [{ op: 'subscribe', streams: [] }, 'invalid-field', 'streams'],
      [{ op: 'subscribe', streams: ['rtsp://u:p@h/x'] }, 'invalid-field', 'streams'],
      [{ op: 'subscribe', types: ['events'] }, 'invalid-field', 'types'],
      [{ op: 'subscribe', labels: [1] }, 'invalid-field', 'labels'],
      [{ op: 'subscribe', minConfidence: '0.5' }, 'invalid-field', 'minConfidence'],
      [{ op: 'subscribe', minConfidence: 2 }, 'invalid-field', 'minConfidence'],
      [{ op: 'subscribe', stream: ['cam1'] }, 'invalid-field', 'stream'],
      [{ op: 'resume' }, 'invalid-field', 'since'],
      [{ op: 'resume', since: -1 }, 'invalid-field', 'since'],
      [{ op: 'resume', since: 1.5 }, 'invalid-field', 'since'],
      [{ op: 'resume', since: 99 }, 'invalid-field', 'since'],
    ];
    for (const [msg, code, field] of cases) {
      c.send(msg);
      const err = await c.next((m) => m.type === 'error', `error for ${JSON.stringify(msg)}`);
      expect(err, JSON.stringify(msg)).toMatchObject({ code, ...(field ? { field } : {}) });
      expect((err as { message: string }).message.length).toBeGreaterThan(10);
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: 'invalid-message' });
    // Still serving this client and the bad messages changed nothing.
    await c.subscribe();
    server.api.events.publish(segment('cam1', 0));
    await c.next((m) => m.type === 'segment');
    c.assertValid();
  });

  it('closes a client that sends an oversized message (1009) without affecting others', async () => {
    server = await startServer({ ws: { maxClientMessageBytes: 1024 } });
    const big = await client();
    const other = await client();
    big.send({ op: 'subscribe', labels: ['x'.repeat(2000)] });
    expect(await big.closed()).toBe(1009);
    await other.subscribe();
  });

  it('closes a client that floods messages (1008), others unaffected', async () => {
    server = await startServer({ ws: { maxClientMessagesPerSecond: 5 } });
    const flood = await client();
    const other = await client();
    for (let i = 0; i < 100; i++) flood.send({ op: 'resume', since: 0 });
    expect(await flood.closed()).toBe(1008);
    expect(flood.closeReason).toMatch(/more than 5 messages per second/);
    await other.subscribe();
  });

  it('checks the bearer token before the upgrade: header or ?token=', async () => {
    server = await startServer({ token: 's3cret' });
    await expect(TestClient.connect(server.wsUrl)).rejects.toMatchObject({ status: 401 });
    await expect(TestClient.connect(server.wsUrl, { token: 'wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(TestClient.connect(`${server.wsUrl}?token=nope`)).rejects.toMatchObject({ status: 401 });
    await client(server.wsUrl, { token: 's3cret' });
    await client(`${server.wsUrl}?token=s3cret`);
    expect(server.api.events.clients).toHaveLength(2);
    await expect(
      TestClient.connect(`ws://127.0.0.1:${server.port}/v1/other`, { token: 's3cret' }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('refuses browsers from origins not allowed (403) when an allow-list is set', async () => {
    server = await startServer({ ws: { allowedOrigins: ['https://ok.example'] } });
    const evil = { headers: { Origin: 'https://evil.example' } };
    await expect(TestClient.connect(server.wsUrl, evil)).rejects.toMatchObject({ status: 403 });
    await client(server.wsUrl, { headers: { Origin: 'https://ok.example' } });
    await client(server.wsUrl); // not a browser: no Origin header
    expect(server.api.events.clients).toHaveLength(2);
  });

  it('answers 500 before the upgrade when the runtime fails to describe the streams', async () => {
    let broken = true;
    server = await startServer({
      hello: () => {
        if (broken) throw new Error('stream registry unavailable');
        return { streams: [], classes: CLASSES };
      },
    });
    await expect(TestClient.connect(server.wsUrl)).rejects.toMatchObject({ status: 500 });
    broken = false;
    await client();
  });

  it('refuses clients beyond maxClients with 503', async () => {
    server = await startServer({ ws: { maxClients: 1 } });
    await client();
    await expect(TestClient.connect(server.wsUrl)).rejects.toMatchObject({ status: 503 });
  });

  it('heartbeat terminates a peer that stops answering pings, keeps one that answers', async () => {
    server = await startServer({ ws: { heartbeatMs: 500 } });
    const dead = await client(server.wsUrl, { autoPong: false });
    const live = await client();
    expect(await dead.closed()).toBe(1006); // terminated: no closing handshake
    await until(() => server!.api.events.clients.length === 1, 'the dead peer to be removed');
    // The live peer answered several rounds of pings and still receives messages.
    await live.subscribe();
    server.api.events.publish(segment('cam1', 0));
    await live.next((m) => m.type === 'segment');
    expect(live.closeCode).toBeUndefined();
  });

  it('closes clients with 1001 on shutdown', async () => {
    server = await startServer();
    const c = await client();
    await server.api.close();
    server = undefined;
    expect(await c.closed()).toBe(1001);
  });

  it('refuses bad options with a message naming the option', async () => {
    for (const [ws, why] of [
      [{ maxBufferedBytes: 0 }, /maxBufferedBytes must be an integer >= 1/],
      [{ heartbeatMs: 2.5 }, /heartbeatMs must be an integer >= 1/],
      [{ resumeMessages: -1 }, /resumeMessages/],
      [{ maxLostBeforeClose: 0 }, /maxLostBeforeClose/],
      [{ maxMessageBytes: 2048, maxBufferedBytes: 1024 }, /hold at least one message/],
    ] as const) {
      await expect(startServer({ ws })).rejects.toThrow(why);
    }
    await expect(startServer({ token: 'two words' })).rejects.toThrow(/token must be/);
    await expect(startServer({ token: '' })).rejects.toThrow(/token must be/);
    await expect(startServer({ maxBodyBytes: 0 })).rejects.toThrow(/maxBodyBytes/);
    // An option given as undefined (an absent flag) takes the default.
    server = await startServer({ ws: { heartbeatMs: undefined } });
    const c = await client();
    expect(c.received[0]).toMatchObject({ heartbeatMs: 30_000 });
  });

  it('refuses to publish invalid messages', async () => {
    server = await startServer({ ws: { maxMessageBytes: 2048, maxBufferedBytes: 4096, resumeBytes: 4096 } });
    const ev = server.api.events;
    expect(() => ev.publish({ ...segment('cam1', 0), stream: 'rtsp://cam/x' })).toThrow(/looks like a URL/);
    expect(() =>
      ev.publish({
        type: 'embedding',
        stream: 'cam1',
        mediaTime: 0,
        wallclock: 0,
        index: 0,
        modality: 'audio',
        vector: new Array(1000).fill(0.123456),
      }),
    ).toThrow(/exceeds maxMessageBytes/);
    expect(ev.latestSeq).toBe(0);
  });
});
