// WebSocket API v1 on GET /v1/events (docs/protocol.md). Published messages go into one bounded
// resume buffer; every connection reads from it through its own cursor, so a slow reader lags
// inside the buffer instead of growing a queue, and a reconnecting one resumes from it.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from 'ws';
import { isAuthorized, assertToken } from './auth.js';
import type { Metrics } from './metrics.js';
import {
  DATA_TYPES,
  PROTOCOL_VERSION,
  ProtocolError,
  filterKey,
  matches,
  parseClientMessage,
  type ConnectionMessage,
  type DroppedMessage,
  type ErrorMessage,
  type HelloMessage,
  type StatusMessage,
  type Publishable,
  type SubscribedMessage,
  type Subscription,
} from './protocol.js';
import { ResumeBuffer, type BufferedMessage } from './resume-buffer.js';
import { assertStreamName } from './stream-name.js';

export const EVENTS_PATH = '/v1/events';

/** Close codes the server uses (RFC 6455 / IANA registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;

export interface EventServerOptions {
  /** Streams and classes announced in hello; called per connection (streams change at run time). */
  hello: () => { streams: string[]; classes: string[] };
  /** When set, clients must present it (Authorization: Bearer, or ?token=) before the upgrade. */
  token?: string;
  /**
   * When set, a browser (a request with an Origin header) must come from one of these origins,
   * e.g. "https://dashboard.example": other web pages cannot read the stream from a user's browser.
   */
  allowedOrigins?: string[];
  /**
   * Checks an upgrade request before anything else (the HTTP API's Host and Origin checks);
   * returns why it is refused, or undefined.
   */
  checkRequest?: (req: IncomingMessage) => { status: number; code: string; message: string } | undefined;
  metrics?: Metrics;
  /** Resume buffer bounds. */
  resumeMessages?: number;
  resumeBytes?: number;
  /** Per-connection cap on bytes handed to the socket and not yet written out. */
  maxBufferedBytes?: number;
  /** Largest publishable message. */
  maxMessageBytes?: number;
  /** A connection that loses more than this many messages without catching up is closed (1013). */
  maxLostBeforeClose?: number;
  /** Ping interval; a peer that has not answered the previous ping is terminated. */
  heartbeatMs?: number;
  maxClients?: number;
  /**
   * Connections one remote address may hold at once (default 16), so that one client cannot take
   * every slot. Behind a reverse proxy every client has the proxy's address: raise it there.
   */
  maxClientsPerAddress?: number;
  /** Largest client message; larger ones close the connection with 1009. */
  maxClientMessageBytes?: number;
  /**
   * Client messages allowed per second on average (bursts of twice as many pass); a client
   * beyond it is closed with 1008. Each message may replay the whole buffer, so this bounds the
   * work one client can cause.
   */
  maxClientMessagesPerSecond?: number;
}

const DEFAULTS = {
  resumeMessages: 10_000,
  resumeBytes: 64 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
  heartbeatMs: 30_000,
  maxClients: 64,
  maxClientsPerAddress: 16,
  maxClientMessageBytes: 16 * 1024,
  maxClientMessagesPerSecond: 20,
};

interface Connection {
  id: number;
  /** The peer's IP address, for the per-address limit. */
  address: string;
  ws: WebSocket;
  subscription: Subscription;
  /** False until the first subscribe or resume: nothing but connection messages before. */
  started: boolean;
  /** Seq of the last data message delivered or skipped (by the filter) on this connection. */
  cursor: number;
  bufferedBytes: number;
  /** Matching messages lost since the last `dropped` notice. */
  lostUnreported: number;
  /** Matching messages lost since the connection was last caught up. */
  lostBehind: number;
  /** The client resumed from before the oldest buffered message and has not been told yet. */
  resumeGap: boolean;
  alive: boolean;
  closing: boolean;
  /** Token bucket of client messages: refills at maxClientMessagesPerSecond. */
  allowance: number;
  allowanceAt: number;
}

export interface ClientInfo {
  id: number;
  started: boolean;
  cursor: number;
  bufferedBytes: number;
  lostBehind: number;
  closing: boolean;
  subscription: Subscription;
}

export class EventServer {
  /** Random id of this server run, in hello: seq restarts at 1 when it changes. */
  readonly instance = randomUUID();
  private readonly opts: Required<
    Omit<EventServerOptions, 'token' | 'metrics' | 'allowedOrigins' | 'checkRequest'>
  > &
    Pick<EventServerOptions, 'token' | 'metrics' | 'allowedOrigins' | 'checkRequest'>;
  private readonly buffer: ResumeBuffer;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** Open connections and upgrades in progress per remote address. */
  private readonly perAddress = new Map<string, number>();
  /** Last status message per stream, for hello: a new client learns every stream's state at once. */
  private readonly lastStatus = new Map<string, StatusMessage>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.handleUpgrade(req, socket, head);
  private seq = 0;
  private nextId = 1;

  constructor(
    private readonly server: Server,
    options: EventServerOptions,
  ) {
    // Options given as undefined (e.g. an absent CLI flag) fall back to the defaults.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const opts = {
      ...DEFAULTS,
      maxLostBeforeClose: options.resumeMessages ?? DEFAULTS.resumeMessages,
      ...(given as EventServerOptions),
    };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) positiveInteger(key, opts[key]);
    positiveInteger('maxLostBeforeClose', opts.maxLostBeforeClose);
    if (opts.maxBufferedBytes < opts.maxMessageBytes || opts.resumeBytes < opts.maxMessageBytes) {
      throw new RangeError(
        'maxBufferedBytes and resumeBytes must each hold at least one message (maxMessageBytes)',
      );
    }
    assertToken(opts.token);
    this.opts = opts;
    this.buffer = new ResumeBuffer(opts.resumeMessages, opts.resumeBytes);
    const wssOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: opts.maxClientMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // A client closed for being too slow may never read our close frame; free it soon.
      closeTimeout: 5_000,
    };
    this.wss = new WebSocketServer(wssOptions);
    server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Publishes a data message to every matching client, now or when it has room; returns its seq.
   * Throws (RangeError/TypeError) on a message that is too large or names an invalid stream.
   */
  publish(msg: Publishable): number {
    const began = performance.now();
    if (!(DATA_TYPES as readonly string[]).includes(msg.type))
      throw new TypeError(`cannot publish type ${msg.type}`);
    assertStreamName(msg.stream);
    const seq = this.seq + 1;
    const data = Buffer.from(JSON.stringify({ seq, ...msg }));
    if (data.length > this.opts.maxMessageBytes) {
      throw new RangeError(`${msg.type} message of ${data.length} bytes exceeds maxMessageBytes`);
    }
    this.seq = seq;
    if (msg.type === 'status') this.lastStatus.set(msg.stream, { seq, ...msg });
    for (const lost of this.buffer.push({ seq, key: filterKey(msg), data })) this.recordLoss(lost);
    for (const c of this.connections) this.pump(c);
    const metrics = this.opts.metrics;
    if (metrics) {
      metrics.observeStage('sink', (performance.now() - began) / 1000);
      if (msg.type === 'segment') metrics.observeLatency(msg.stream, msg.wallclock + msg.duration * 1000);
    }
    return seq;
  }

  /** Seq of the newest published message (0 before the first). */
  get latestSeq(): number {
    return this.seq;
  }

  get bufferStats(): { messages: number; bytes: number; oldestSeq: number | null } {
    return { messages: this.buffer.size, bytes: this.buffer.bytes, oldestSeq: this.buffer.oldestSeq ?? null };
  }

  get clients(): ClientInfo[] {
    return [...this.connections].map((c) => ({
      id: c.id,
      started: c.started,
      cursor: c.cursor,
      bufferedBytes: c.bufferedBytes,
      lostBehind: c.lostBehind,
      closing: c.closing,
      subscription: c.subscription,
    }));
  }

  /** Closes every connection (1001) and detaches from the HTTP server. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.server.off('upgrade', this.onUpgrade);
    const closed = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
          // A peer that does not complete the closing handshake is cut off.
          setTimeout(() => c.ws.terminate(), 1_000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== EVENTS_PATH)
      return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path}; use ${EVENTS_PATH}`);
    const refused = this.opts.checkRequest?.(req);
    if (refused) return rejectUpgrade(socket, refused.status, refused.message, refused.code);
    const origin = req.headers.origin;
    if (origin !== undefined && this.opts.allowedOrigins && !this.opts.allowedOrigins.includes(origin)) {
      return rejectUpgrade(socket, 403, `origin ${origin.slice(0, 100)} is not allowed`);
    }
    if (!isAuthorized(req, this.opts.token)) {
      return rejectUpgrade(
        socket,
        401,
        'missing or wrong token: send Authorization: Bearer <token> or ?token=<token>',
      );
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.opts.maxClientsPerAddress) {
      return rejectUpgrade(
        socket,
        503,
        `too many connections from ${address} (max ${this.opts.maxClientsPerAddress} per address); close one or try again later`,
      );
    }
    if (this.connections.size >= this.opts.maxClients) {
      return rejectUpgrade(socket, 503, `too many clients (max ${this.opts.maxClients}); try again later`);
    }
    let info: ReturnType<EventServerOptions['hello']>;
    try {
      info = this.opts.hello();
    } catch (err) {
      return rejectUpgrade(socket, 500, `server error: ${(err as Error).message}`);
    }
    // Counted from here: upgrades in progress take a slot too, and give it back if they fail.
    this.perAddress.set(address, held + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, n);
    };
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', release);
      this.accept(ws, info, address);
    });
  }

  private accept(
    ws: WebSocket,
    { streams, classes }: ReturnType<EventServerOptions['hello']>,
    address: string,
  ): void {
    const c: Connection = {
      id: this.nextId++,
      address,
      ws,
      subscription: {},
      started: false,
      cursor: this.seq,
      bufferedBytes: 0,
      lostUnreported: 0,
      lostBehind: 0,
      resumeGap: false,
      alive: true,
      closing: false,
      allowance: 2 * this.opts.maxClientMessagesPerSecond,
      allowanceAt: Date.now(),
    };
    this.connections.add(c);
    this.opts.metrics?.wsClients.set(this.connections.size);
    ws.on('error', () => {}); // a 'close' always follows
    ws.on('pong', () => (c.alive = true));
    ws.on('message', (data, isBinary) => this.receive(c, data, isBinary));
    ws.on('close', () => {
      this.connections.delete(c);
      this.opts.metrics?.wsClients.set(this.connections.size);
    });
    const hello: Omit<HelloMessage, 'seq'> = {
      type: 'hello',
      stream: null,
      mediaTime: null,
      wallclock: Date.now(),
      v: PROTOCOL_VERSION,
      instance: this.instance,
      streams,
      classes,
      types: [...DATA_TYPES],
      oldestSeq: this.buffer.oldestSeq ?? null,
      heartbeatMs: this.opts.heartbeatMs,
      maxBufferedBytes: this.opts.maxBufferedBytes,
      states: this.currentStates(streams),
    };
    this.sendControl(c, hello);
  }

  /** Last statuses of the configured streams; forgets removed ones, so the map stays bounded. */
  private currentStates(streams: string[]): StatusMessage[] {
    for (const name of this.lastStatus.keys()) if (!streams.includes(name)) this.lastStatus.delete(name);
    return [...this.lastStatus.values()];
  }

  private receive(c: Connection, data: RawData, isBinary: boolean): void {
    if (!this.withinRate(c)) {
      c.closing = true;
      c.ws.close(
        CLOSE_POLICY_VIOLATION,
        `more than ${this.opts.maxClientMessagesPerSecond} messages per second`,
      );
      return;
    }
    try {
      if (isBinary)
        throw new ProtocolError('invalid-message', 'binary frames are not supported; send JSON text');
      const msg = parseClientMessage(rawText(data));
      if (msg.op === 'subscribe') {
        const { op: _op, since, ...subscription } = msg;
        this.subscribe(c, subscription, since, 'subscribe');
      } else {
        this.subscribe(c, c.subscription, msg.since, 'resume');
      }
    } catch (err) {
      const e =
        err instanceof ProtocolError
          ? err
          : new ProtocolError('invalid-message', `could not handle the message: ${(err as Error).message}`);
      const error: Omit<ErrorMessage, 'seq'> = {
        type: 'error',
        stream: null,
        mediaTime: null,
        wallclock: Date.now(),
        code: e.code,
        message: e.message,
        ...(e.op === undefined ? {} : { op: e.op }),
        ...(e.field === undefined ? {} : { field: e.field }),
      };
      this.sendControl(c, error);
    }
  }

  private withinRate(c: Connection): boolean {
    const rate = this.opts.maxClientMessagesPerSecond;
    const now = Date.now();
    c.allowance = Math.min(2 * rate, c.allowance + ((now - c.allowanceAt) / 1000) * rate);
    c.allowanceAt = now;
    if (c.allowance < 1) return false;
    c.allowance--;
    return true;
  }

  /** Sets the filter and, with `since`, the position: delivery continues after `since`. */
  private subscribe(c: Connection, subscription: Subscription, since: number | undefined, op: string): void {
    if (since !== undefined && since > this.seq) {
      throw new ProtocolError(
        'invalid-field',
        `since ${since} is ahead of this server's latest seq ${this.seq}; if hello.instance changed, the server restarted: resume with 0`,
        op,
        'since',
      );
    }
    c.subscription = subscription;
    if (since !== undefined) {
      c.cursor = since;
      c.lostUnreported = 0;
      c.lostBehind = 0;
      c.resumeGap = since + 1 < (this.buffer.oldestSeq ?? Infinity);
    } else if (!c.started) {
      c.cursor = this.seq;
    }
    c.started = true;
    const ack: Omit<SubscribedMessage, 'seq'> = {
      type: 'subscribed',
      stream: null,
      mediaTime: null,
      wallclock: Date.now(),
      subscription,
      since: c.cursor,
    };
    this.sendControl(c, ack);
    this.pump(c);
  }

  /** Sends what the connection has room for, in seq order, from its cursor on. */
  private pump(c: Connection): void {
    if (!c.started || c.closing) return;
    while (c.cursor < this.seq) {
      const next = c.cursor + 1;
      const oldest = this.buffer.oldestSeq!;
      if (next < oldest) {
        if (!this.reportGap(c, oldest - 1)) return;
        continue;
      }
      const msg = this.buffer.get(next)!;
      if (matches(c.subscription, msg.key) && !this.trySend(c, msg.data)) return;
      c.cursor = next;
    }
    c.lostBehind = 0;
  }

  /** Tells the client it will never receive seq cursor+1..to, and moves its cursor past them. */
  private reportGap(c: Connection, to: number): boolean {
    // Messages lost before a resume are gone without a trace of which matched the filter.
    const notice: Omit<DroppedMessage, 'seq'> = {
      type: 'dropped',
      stream: null,
      mediaTime: null,
      wallclock: Date.now(),
      reason: c.resumeGap ? 'resume-gap' : 'slow-consumer',
      from: c.cursor + 1,
      to,
      count: c.resumeGap ? null : c.lostUnreported,
    };
    const from = c.cursor;
    c.cursor = to;
    if (!this.sendControl(c, notice)) {
      c.cursor = from; // retried when the connection drains
      return false;
    }
    c.lostUnreported = 0;
    c.resumeGap = false;
    return true;
  }

  /** A message left the resume buffer: lost for every connection whose cursor had not passed it. */
  private recordLoss(lost: BufferedMessage): void {
    for (const c of this.connections) {
      if (!c.started || c.closing || c.cursor >= lost.seq || !matches(c.subscription, lost.key)) continue;
      c.lostUnreported++;
      c.lostBehind++;
      this.opts.metrics?.wsDropped.inc();
      if (c.lostBehind > this.opts.maxLostBeforeClose) {
        c.closing = true;
        c.ws.close(CLOSE_TRY_AGAIN_LATER, `too slow: lost ${c.lostBehind} messages; reconnect and resume`);
      }
    }
  }

  /** Connection messages repeat the connection's position as their seq. */
  private sendControl(c: Connection, msg: Omit<ConnectionMessage, 'seq'>): boolean {
    return this.trySend(c, Buffer.from(JSON.stringify({ seq: c.cursor, ...msg })));
  }

  private trySend(c: Connection, data: Buffer): boolean {
    if (c.ws.readyState !== WebSocket.OPEN || c.closing) return false;
    if (c.bufferedBytes + data.length > this.opts.maxBufferedBytes) return false;
    c.bufferedBytes += data.length;
    c.ws.send(data, { binary: false }, (err) => {
      c.bufferedBytes -= data.length;
      if (!err) this.pump(c);
    });
    return true;
  }

  private beat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    }
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function rejectUpgrade(socket: Duplex, status: number, message: string, code?: string): void {
  const body = JSON.stringify({
    error: { code: code ?? (status === 401 ? 'unauthorized' : 'rejected'), message },
  });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="avvp"'] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
}
