// A Node client of the WebSocket API v1 that survives disconnects: it reconnects with backoff and
// resumes after the last seq it delivered, so a drop within the server's resume buffer loses
// nothing and a longer one is reported through `dropped`. Used by tools and tests; browsers can
// follow the same steps (docs/protocol.md, "Resume").
import WebSocket from 'ws';
import type { DataMessage, DroppedMessage, ErrorMessage, ServerMessage, Subscription } from './protocol.js';

export interface EventClientOptions {
  /** ws://host:port/v1/events */
  url: string;
  token?: string;
  subscription?: Subscription;
  /** First reconnect delay; doubles per failed attempt up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  onMessage: (msg: DataMessage) => void;
  /** Messages lost for good (`dropped`) and errors the server reported. */
  onNotice?: (msg: DroppedMessage | ErrorMessage) => void;
  /** Connection state changes, e.g. for a status line. */
  onState?: (state: 'connecting' | 'open' | 'closed', detail?: string) => void;
}

export class EventClient {
  /** Seq of the last message delivered (or reported lost); where a reconnect resumes. */
  lastSeq: number | undefined;
  private instance: string | undefined;
  private ws: WebSocket | undefined;
  private stopped = false;
  private delay: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: EventClientOptions) {
    this.delay = opts.reconnectMs ?? 500;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.opts.onState?.('closed', 'closed by the client');
  }

  private connect(): void {
    this.opts.onState?.('connecting');
    const headers: Record<string, string> = this.opts.token
      ? { Authorization: `Bearer ${this.opts.token}` }
      : {};
    const ws = new WebSocket(this.opts.url, { headers });
    this.ws = ws;
    ws.on('message', (data) => this.receive(JSON.parse(data.toString()) as ServerMessage));
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      if (res.statusCode === 401 || res.statusCode === 403) {
        // Retrying cannot fix a wrong token or origin.
        this.stopped = true;
        this.opts.onState?.('closed', `refused with HTTP ${res.statusCode}: check the token`);
      }
    });
    ws.on('error', () => {}); // 'close' follows and schedules the reconnect
    ws.on('close', (code) => {
      if (this.ws !== ws || this.stopped) return;
      this.opts.onState?.('connecting', `connection closed (${code}); retrying in ${this.delay} ms`);
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, this.opts.maxReconnectMs ?? 10_000);
    });
  }

  private receive(msg: ServerMessage): void {
    switch (msg.type) {
      case 'hello': {
        // A new server instance restarted its seq at 1: everything it has buffered is new to us.
        if (this.instance !== undefined && msg.instance !== this.instance) this.lastSeq = 0;
        this.instance = msg.instance;
        const since = this.lastSeq === undefined ? {} : { since: this.lastSeq };
        this.ws!.send(JSON.stringify({ op: 'subscribe', ...this.opts.subscription, ...since }));
        return;
      }
      case 'subscribed':
        // From here on a reconnect resumes, even if no message arrived yet.
        this.lastSeq ??= msg.since;
        this.delay = this.opts.reconnectMs ?? 500;
        this.opts.onState?.('open');
        return;
      case 'dropped':
        this.lastSeq = msg.to;
        this.opts.onNotice?.(msg);
        return;
      case 'error':
        this.opts.onNotice?.(msg);
        return;
      default:
        if (this.lastSeq !== undefined && msg.seq <= this.lastSeq) return; // already delivered
        this.lastSeq = msg.seq;
        this.opts.onMessage(msg);
    }
  }
}
