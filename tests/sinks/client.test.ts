// The reconnecting client against the real server, through a TCP proxy whose connections the
// test cuts to simulate a network drop.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventClient } from '../../src/sinks/client.js';
import {
  statusMessage,
  type DataMessage,
  type DroppedMessage,
  type ErrorMessage,
} from '../../src/sinks/protocol.js';
import { schemaProblem, startServer, until, type TestServer } from './helpers.js';

let server: TestServer | undefined;
let proxy: Proxy | undefined;
let client: EventClient | undefined;

afterEach(async () => {
  client?.close();
  proxy?.close();
  await server?.api.close();
  server = proxy = client = undefined;
});

interface Proxy {
  port: number;
  /** Destroys every open connection, as a network failure would. */
  cut(): void;
  /** While true, new connections are dropped at once (the network is down). */
  down: boolean;
  close(): void;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((down) => {
    if (proxy.down) return void down.destroy();
    const up = connect(targetPort, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const cut = () => sockets.forEach((s) => s.destroy());
  const proxy: Proxy = {
    port: (tcp.address() as { port: number }).port,
    cut,
    down: false,
    close: () => {
      cut();
      tcp.close();
    },
  };
  return proxy;
}

function status(stream: string, restarts: number) {
  return statusMessage({ stream, state: 'up', at: Date.now(), restarts, dropped: 0 });
}

function collect() {
  const delivered: DataMessage[] = [];
  const notices: (DroppedMessage | ErrorMessage)[] = [];
  let opened = 0;
  const details: string[] = [];
  return {
    delivered,
    notices,
    details,
    opened: () => opened,
    handlers: {
      onMessage: (m: DataMessage) => {
        expect(schemaProblem(m)).toBeUndefined();
        delivered.push(m);
      },
      onNotice: (m: DroppedMessage | ErrorMessage) => {
        expect(schemaProblem(m)).toBeUndefined();
        notices.push(m);
      },
      onState: (state: string, detail?: string) => {
        if (state === 'open') opened++;
        if (detail) details.push(detail);
      },
    },
  };
}

describe('EventClient', () => {
  it('reconnects after a network drop and resumes without loss or duplicates', async () => {
    server = await startServer();
    proxy = await startProxy(server.port);
    const got = collect();
    client = new EventClient({
      url: `ws://127.0.0.1:${proxy.port}/v1/events`,
      subscription: { streams: ['cam1'] },
      reconnectMs: 20,
      ...got.handlers,
    });
    client.start();
    await until(() => got.opened() === 1, 'the first connection');
    const ev = server.api.events;
    let restarts = 0;
    const publishBoth = (n: number) => {
      for (let i = 0; i < n; i++) {
        ev.publish(status('cam1', restarts++));
        ev.publish(status('cam2', 0));
      }
    };
    publishBoth(10);
    await until(() => got.delivered.length === 10, 'the first ten');
    proxy.cut();
    publishBoth(10); // while the client is away (or its old connection is dying)
    await until(() => got.opened() === 2, 'the reconnect');
    publishBoth(5);
    await until(() => got.delivered.length === 25, 'all 25 cam1 messages');
    expect(got.delivered.map((m) => (m as { restarts: number }).restarts)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    expect(got.delivered.every((m) => m.stream === 'cam1')).toBe(true);
    expect(got.notices).toEqual([]);
  });

  it('reports what it missed when away longer than the resume buffer', async () => {
    server = await startServer({ ws: { resumeMessages: 5 } });
    proxy = await startProxy(server.port);
    const got = collect();
    client = new EventClient({
      url: `ws://127.0.0.1:${proxy.port}/v1/events`,
      reconnectMs: 20,
      ...got.handlers,
    });
    client.start();
    await until(() => got.opened() === 1, 'the first connection');
    const ev = server.api.events;
    ev.publish(status('cam1', 0));
    await until(() => got.delivered.length === 1, 'the first message');
    proxy.down = true;
    proxy.cut();
    await until(
      () => got.details.filter((d) => d.startsWith('connection closed')).length >= 2,
      'failed retries',
    );
    for (let i = 1; i <= 20; i++) ev.publish(status('cam1', i));
    proxy.down = false;
    await until(() => got.delivered.length === 6, 'the buffered five');
    expect(got.notices).toMatchObject([{ type: 'dropped', reason: 'resume-gap', from: 2, to: 16 }]);
    expect(got.delivered.slice(1).map((m) => m.seq)).toEqual([17, 18, 19, 20, 21]);
  });

  it('stops retrying when the token is refused', async () => {
    server = await startServer({ token: 'right' });
    const got = collect();
    client = new EventClient({ url: server.wsUrl, token: 'wrong', reconnectMs: 20, ...got.handlers });
    client.start();
    await until(() => got.details.some((d) => /HTTP 401/.test(d)), 'the refusal');
    expect(got.opened()).toBe(0);
  });
});
