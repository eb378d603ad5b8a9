// Memory held for clients that stop reading: the API v1 server (per-connection send cap, lag
// inside the shared resume buffer) against a plain `ws` broadcast (queues for every client
// without bound), same run. K clients connect and pause their sockets; M segment messages are
// published; we report the bytes each server holds in user space for those clients (what the
// kernel's socket buffers would not take), for two values of M: bounded means it does not grow.
// Usage: npm run bench:ws-slow
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type NetConnectOpts, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { EventServer } from '../src/sinks/ws-server.js';
import type { Publishable } from '../src/sinks/protocol.js';
import { BENCH_CLASSES, benchSegment } from './ws-messages.js';

const CLIENTS = 4;
const CAP = 4 * 1024 * 1024; // the default maxBufferedBytes

const message = (i: number) => benchSegment(i, 'cam1');

/** Connects K clients that stop reading right after subscribing. */
async function stalledClients(url: string, subscribe: boolean): Promise<WebSocket[]> {
  return Promise.all(
    Array.from({ length: CLIENTS }, () => {
      let socket: Socket | undefined;
      const ws = new WebSocket(url, {
        createConnection: ((o: NetConnectOpts) => (socket = connect(o))) as typeof connect,
      });
      return new Promise<WebSocket>((resolve) => {
        ws.on('open', () => {
          if (subscribe) ws.send('{"op":"subscribe"}');
          // Give the subscription a moment to arrive, then stop reading.
          setTimeout(() => {
            socket!.pause();
            resolve(ws);
          }, 100);
        });
      });
    }),
  );
}

async function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

async function publishAll(publish: (m: Publishable) => void, messages: number): Promise<void> {
  for (let i = 0; i < messages; i++) {
    publish(message(i));
    if (i % 100 === 99) await new Promise((r) => setImmediate(r)); // let sockets take what they can
  }
  await new Promise((r) => setTimeout(r, 200));
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Bytes held for the stalled clients, and in the shared resume buffer. */
async function ours(messages: number): Promise<{ held: number; shared: number }> {
  const server = createServer();
  const events = new EventServer(server, { hello: () => ({ streams: ['cam1'], classes: BENCH_CLASSES }) });
  const port = await listen(server);
  const clients = await stalledClients(`ws://127.0.0.1:${port}/v1/events`, true);
  await publishAll((m) => events.publish(m), messages);
  const held = events.clients.reduce((sum, c) => sum + c.bufferedBytes, 0);
  const shared = events.bufferStats.bytes;
  clients.forEach((c) => c.terminate());
  await events.close();
  server.close();
  return { held, shared };
}

async function plain(messages: number): Promise<number> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const port = await listen(server);
  const clients = await stalledClients(`ws://127.0.0.1:${port}/`, false);
  let seq = 0;
  await publishAll((m) => {
    const data = JSON.stringify({ seq: ++seq, ...m });
    for (const ws of wss.clients) ws.send(data);
  }, messages);
  const held = [...wss.clients].reduce((sum, ws) => sum + ws.bufferedAmount, 0);
  clients.forEach((c) => c.terminate());
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.close();
  return held;
}

const size = JSON.stringify({ seq: 1, ...message(1) }).length;
console.log(`${CLIENTS} stalled clients, segment messages of ~${size} B; Node ${process.version}\n`);
console.log(
  '| messages | per client (MiB) | API v1 server: held for clients (MiB) | API v1: shared resume buffer (MiB) | plain ws broadcast: held (MiB) | ratio held (API v1 / plain) |',
);
console.log('|---|---|---|---|---|---|');
for (const messages of [20_000, 40_000]) {
  const a = await ours(messages);
  const b = await plain(messages);
  console.log(
    `| ${messages} | ${mb(messages * size)} | ${mb(a.held)} | ${mb(a.shared)} | ${mb(b)} | ${(a.held / b).toFixed(3)} |`,
  );
}
console.log(`\nAPI v1 cap: ${mb(CAP)} MiB per client (maxBufferedBytes).`);
