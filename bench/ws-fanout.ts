// WebSocket fan-out throughput of the API v1 server (shared resume buffer, per-connection
// cursors, filters, send cap) against a plain `ws` broadcast (serialize once, send to every
// client; no buffer, no cap, no filters) measured in the same run: messages delivered per second
// for N clients, median of RUNS runs. Clients run in a child process (bench/ws-clients.ts).
// Usage: npm run bench:ws [-- --runs N]
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { EventServer } from '../src/sinks/ws-server.js';
import type { Publishable } from '../src/sinks/protocol.js';
import { BENCH_CLASSES, benchSegment } from './ws-messages.js';
import { median } from './stats.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const MESSAGES = 2000; // per run
const CHUNK = 50; // published per event-loop turn (many streams finishing segments at once)

const message = (i: number) => benchSegment(i, `cam${i % 16}`);

interface Variant {
  name: string;
  start(server: Server): { publish: (msg: Publishable) => void; close: () => Promise<void> };
  subscribe: boolean;
}

const variants: Variant[] = [
  {
    name: 'API v1 server',
    subscribe: true,
    start(server) {
      const events = new EventServer(server, {
        hello: () => ({ streams: [], classes: BENCH_CLASSES }),
        maxClients: 256,
      });
      return { publish: (m) => events.publish(m), close: () => events.close() };
    },
  },
  {
    name: 'plain ws broadcast',
    subscribe: false,
    start(server) {
      const wss = new WebSocketServer({ server });
      let seq = 0;
      return {
        publish(m) {
          const data = JSON.stringify({ seq: ++seq, ...m });
          for (const ws of wss.clients) ws.send(data);
        },
        close: () =>
          new Promise<void>((resolve) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => resolve());
          }),
      };
    },
  },
];

function nextLine(lines: AsyncIterator<string>, expected: string): Promise<void> {
  return lines.next().then(({ value, done }) => {
    if (done || value !== expected)
      throw new Error(`client process said ${done ? 'nothing' : value}, not ${expected}`);
  });
}

interface Running {
  publish: (msg: Publishable) => void;
  lines: AsyncIterator<string>;
  runs: number;
  stop: () => Promise<void>;
}

/** Starts a variant's server and its client process; resolves once every client is subscribed. */
async function start(variant: Variant, clients: number): Promise<Running> {
  const server = createServer();
  const port = await new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
  );
  const sink = variant.start(server);
  const url = `ws://127.0.0.1:${port}${variant.subscribe ? '/v1/events' : '/'}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/ws-clients.ts',
      url,
      String(clients),
      String(MESSAGES),
      variant.subscribe ? 'subscribe' : '',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  await nextLine(lines, 'ready');
  return {
    publish: sink.publish,
    lines,
    runs: 0,
    async stop() {
      child.kill();
      await sink.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Messages per second delivered to every client in one run of MESSAGES messages. */
async function run(target: Running, clients: number): Promise<number> {
  const began = performance.now();
  const reached = nextLine(target.lines, `reached ${++target.runs}`);
  for (let i = 0; i < MESSAGES; i++) {
    target.publish(message(i));
    if (i % CHUNK === CHUNK - 1) await new Promise((r) => setImmediate(r));
  }
  await reached;
  return (MESSAGES * clients) / ((performance.now() - began) / 1000);
}

console.log(
  `WebSocket fan-out, ${MESSAGES} segment messages (~${JSON.stringify({ seq: 1, ...message(1) }).length} B) per run, ` +
    `median of ${RUNS} interleaved runs; Node ${process.version}\n`,
);
console.log('| clients | API v1 server msg/s | plain ws broadcast msg/s | ratio |');
console.log('|---|---|---|---|');
for (const clients of [1, 8, 32]) {
  const running = [];
  for (const v of variants) running.push(await start(v, clients));
  const rates: number[][] = running.map(() => []);
  // Alternating the variants spreads the machine's noise over both.
  for (let r = 0; r < RUNS; r++) {
    for (let v = 0; v < running.length; v++) rates[v]!.push(await run(running[v]!, clients));
  }
  for (const target of running) await target.stop();
  const [api, base] = rates.map(median) as [number, number];
  console.log(`| ${clients} | ${Math.round(api)} | ${Math.round(base)} | ${(api / base).toFixed(2)} |`);
}
