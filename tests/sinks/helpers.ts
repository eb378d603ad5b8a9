// Shared pieces of the sink tests: a real HTTP/WebSocket server on 127.0.0.1, an in-memory
// stream controller (the runtime implements the real one), and a WebSocket client that checks
// every server message against the protocol's JSON Schemas.
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import WebSocket from 'ws';
import {
  HttpApi,
  StreamControllerError,
  type HttpServerOptions,
  type StreamSummary,
} from '../../src/sinks/http.js';
import { Metrics } from '../../src/sinks/metrics.js';
import { clientSchemas, serverSchemas } from '../../src/sinks/schemas.js';
import type { ServerMessage } from '../../src/sinks/protocol.js';
import type { StreamState } from '../../src/types.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const serverValidators = new Map<string, ValidateFunction>(
  Object.entries(serverSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
);
export const clientValidators = new Map<string, ValidateFunction>(
  Object.entries(clientSchemas).map(([op, schema]) => [op, ajv.compile(schema)]),
);

/** Returns why `msg` does not satisfy the schema of its type, or undefined when it does. */
export function schemaProblem(msg: unknown): string | undefined {
  const type = (msg as { type?: unknown }).type;
  const validate = typeof type === 'string' ? serverValidators.get(type) : undefined;
  if (!validate) return `no schema for message type ${String(type)}`;
  return validate(msg) ? undefined : ajv.errorsText(validate.errors);
}

/** A stream controller kept in memory: what the REST API delegates to. */
export class MemoryStreams {
  readonly streams = new Map<string, StreamSummary>();

  list(): StreamSummary[] {
    return [...this.streams.values()];
  }

  async add(name: string, source: string): Promise<StreamSummary> {
    if (this.streams.has(name)) throw new StreamControllerError('conflict', `stream ${name} already exists`);
    const summary: StreamSummary = { name, source, status: null };
    this.streams.set(name, summary);
    return summary;
  }

  async remove(name: string): Promise<void> {
    if (!this.streams.delete(name)) throw new StreamControllerError('not-found', `no stream named ${name}`);
  }
}

export interface TestServer {
  api: HttpApi;
  metrics: Metrics;
  streams: MemoryStreams;
  ready: { models: boolean; streams: { name: string; state: StreamState; segments: number }[] };
  port: number;
  base: string;
  wsUrl: string;
}

export const CLASSES = ['speech', 'dog', 'car'];

export async function startServer(
  overrides: Partial<
    Pick<HttpServerOptions, 'token' | 'maxBodyBytes' | 'ws' | 'hello' | 'allowedHosts' | 'allowedOrigins'>
  > = {},
  host = '127.0.0.1',
): Promise<TestServer> {
  const metrics = new Metrics({ processMetrics: true });
  const streams = new MemoryStreams();
  const ready: TestServer['ready'] = { models: false, streams: [] };
  const api = new HttpApi({
    metrics,
    streams,
    readiness: { modelsLoaded: () => ready.models, streams: () => ready.streams },
    hello: () => ({ streams: [...streams.streams.keys()], classes: CLASSES }),
    ...overrides,
  });
  const port = await api.listen(0, host);
  return {
    api,
    metrics,
    streams,
    ready,
    port,
    base: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/events`,
  };
}

/** Resolves when `cond` holds, checking after each turn of the event loop; fails after `limitMs`. */
export async function until(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface ClientOptions {
  token?: string;
  headers?: Record<string, string>;
  autoPong?: boolean;
  /** Local address to connect from (127.0.0.2: another loopback client). */
  localAddress?: string;
}

/** A real `ws` client that records every message and validates it against its schema. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  readonly invalid: string[] = [];
  /** The TCP socket under the WebSocket, so a test can stop reading (pause) it. */
  socket!: Socket;
  closeCode: number | undefined;
  closeReason = '';
  private consumed = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      const problem = schemaProblem(msg);
      if (problem) this.invalid.push(`${msg.type}: ${problem}`);
      this.received.push(msg);
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static async connect(url: string, opts: ClientOptions = {}): Promise<TestClient> {
    let socket: Socket | undefined;
    const ws = new WebSocket(url, {
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
      autoPong: opts.autoPong ?? true,
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      // Keep the TCP socket so that a test can stop reading it.
      createConnection: ((options: NetConnectOpts) => {
        socket = connect(options);
        return socket;
      }) as typeof connect,
    });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
    });
    client.socket = socket!;
    await client.next((m) => m.type === 'hello');
    return client;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next not yet consumed message that satisfies `pred` (earlier ones are consumed too). */
  async next<T extends ServerMessage = ServerMessage>(
    pred: (m: ServerMessage) => boolean,
    what = 'a message',
  ): Promise<T> {
    let found: ServerMessage | undefined;
    await until(() => {
      this.assertValid();
      while (this.consumed < this.received.length) {
        const m = this.received[this.consumed++]!;
        if (pred(m)) {
          found = m;
          return true;
        }
      }
      return false;
    }, what);
    return found as T;
  }

  /** Subscribes and waits for the acknowledgement. */
  async subscribe(sub: Record<string, unknown> = {}): Promise<void> {
    this.send({ op: 'subscribe', ...sub });
    await this.next((m) => m.type === 'subscribed', 'subscribed');
  }

  /** Data messages received so far. */
  data(): ServerMessage[] {
    return this.received.filter((m) => m.stream !== null);
  }

  assertValid(): void {
    if (this.invalid.length > 0) throw new Error(`messages violate their schema: ${this.invalid.join('; ')}`);
  }

  async closed(): Promise<number> {
    await until(() => this.closeCode !== undefined, 'the connection to close');
    return this.closeCode!;
  }

  close(): void {
    this.ws.terminate();
  }
}
