// The one HTTP server of `avvp serve`: the WebSocket API (/v1/events), Prometheus (/metrics),
// health (/healthz, /readyz) and the stream REST API (/v1/streams). The runtime plugs in through
// the Readiness and StreamController interfaces. See docs/protocol.md and docs/metrics.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamState, StreamStatus } from '../types.js';
import { isAuthorized } from './auth.js';
import { redactUrl } from '../util/redact.js';
import { RequestGuard } from './request-guard.js';
import type { Metrics } from './metrics.js';
import { streamNameProblem } from './stream-name.js';
import { EventServer, type EventServerOptions } from './ws-server.js';

/** What /readyz needs to know, asked on every request. */
export interface Readiness {
  modelsLoaded(): boolean;
  /** Every configured stream with its state and how many segments it has produced. */
  streams(): { name: string; state: StreamState; segments: number }[];
}

export interface StreamSummary {
  name: string;
  /** The configured source; credentials in it are masked before it is sent (src/util/redact.ts). */
  source: string;
  status: StreamStatus | null;
}

/** Runtime stream management behind /v1/streams; implemented by the runtime. */
export interface StreamController {
  list(): StreamSummary[];
  /** Starts a stream; throws StreamControllerError('conflict') when the name is taken. */
  add(name: string, source: string): Promise<StreamSummary>;
  /** Stops and forgets a stream; throws StreamControllerError('not-found') when unknown. */
  remove(name: string): Promise<void>;
}

const CONTROLLER_STATUS = { invalid: 400, 'not-found': 404, conflict: 409, limit: 429 } as const;

/** An expected failure of a controller call, answered with its status code and message. */
export class StreamControllerError extends Error {
  constructor(
    readonly kind: keyof typeof CONTROLLER_STATUS,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpServerOptions {
  metrics: Metrics;
  readiness: Readiness;
  streams: StreamController;
  /** Streams and classes for the WebSocket hello. */
  hello: EventServerOptions['hello'];
  /** Protects everything but /healthz and /readyz. */
  token?: string;
  /** Largest accepted request body (bytes). */
  maxBodyBytes?: number;
  /**
   * Host names requests may name besides localhost, IP addresses and the listen address (DNS
   * rebinding protection; `.example.com` for subdomains, `*` for any). See docs/security.md.
   */
  allowedHosts?: string[];
  /** Web origins whose pages may call the API and open the WebSocket (default: the same origin only). */
  allowedOrigins?: string[];
  /** Options of the WebSocket server (limits), less those given above. */
  ws?: Omit<EventServerOptions, 'hello' | 'token' | 'metrics' | 'checkRequest'>;
}

export const MAX_SOURCE_LENGTH = 2048;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class HttpApi {
  readonly server: Server;
  readonly events: EventServer;
  private readonly maxBodyBytes: number;
  private readonly guard: RequestGuard;

  constructor(private readonly opts: HttpServerOptions) {
    this.maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024;
    if (!Number.isSafeInteger(this.maxBodyBytes) || this.maxBodyBytes < 1) {
      throw new RangeError(`maxBodyBytes must be an integer >= 1, got ${opts.maxBodyBytes}`);
    }
    const { allowedOrigins: wsOrigins, ...wsOptions } = opts.ws ?? {};
    this.guard = new RequestGuard({
      allowedHosts: opts.allowedHosts,
      allowedOrigins: [...(opts.allowedOrigins ?? []), ...(wsOrigins ?? [])],
    });
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => sendError(res, err));
    });
    this.events = new EventServer(this.server, {
      ...wsOptions,
      hello: opts.hello,
      token: opts.token,
      metrics: opts.metrics,
      checkRequest: (req) => this.guard.check(req),
    });
  }

  /** Listens (port 0: any free port); resolves to the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is already in use; choose another port`
            : err.code === 'EACCES'
              ? `no permission to listen on port ${port}; use a port above 1023`
              : `cannot listen on ${host}:${port}: ${err.message}`;
        reject(new Error(hint, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.guard.listening(host);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await this.events.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/healthz') return this.only(req, 'GET', () => sendJson(res, 200, { status: 'ok' }));
    if (path === '/readyz') return this.only(req, 'GET', () => this.ready(res));
    // Health stays open to probes, which name the pod IP or any address; everything else is
    // refused to browsers on other sites (DNS rebinding, cross-site requests) before the token.
    const refused = this.guard.check(req);
    if (refused) throw new HttpError(refused.status, refused.code, refused.message);
    if (!isAuthorized(req, this.opts.token)) {
      throw new HttpError(401, 'unauthorized', 'missing or wrong token: send Authorization: Bearer <token>', {
        'WWW-Authenticate': 'Bearer realm="avvp"',
      });
    }
    if (path === '/metrics') {
      return this.only(req, 'GET', async () => {
        const text = await this.opts.metrics.text();
        res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType });
        res.end(text);
      });
    }
    if (path === '/v1/streams') {
      if (req.method === 'GET')
        return sendJson(res, 200, { streams: this.opts.streams.list().map(maskSummary) });
      if (req.method === 'POST') return this.addStream(req, res);
      throw methodNotAllowed('GET, POST');
    }
    if (path.startsWith('/v1/streams/')) {
      const name = streamNameInPath(path.slice('/v1/streams/'.length));
      if (req.method === 'GET') return sendJson(res, 200, { stream: this.findStream(name) });
      if (req.method === 'DELETE') {
        await this.opts.streams.remove(name);
        return void res.writeHead(204).end();
      }
      throw methodNotAllowed('GET, DELETE');
    }
    if (path === '/v1/events') {
      throw new HttpError(426, 'upgrade-required', 'GET /v1/events is a WebSocket endpoint', {
        Upgrade: 'websocket',
      });
    }
    throw new HttpError(404, 'not-found', `no route ${path}; see docs/protocol.md`);
  }

  private async only(req: IncomingMessage, method: string, handle: () => unknown): Promise<void> {
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) throw methodNotAllowed(method);
    await handle();
  }

  private ready(res: ServerResponse): void {
    const reasons: string[] = [];
    if (!this.opts.readiness.modelsLoaded()) reasons.push('models are not loaded yet');
    for (const s of this.opts.readiness.streams()) {
      if (s.segments === 0 && s.state !== 'reconnecting') {
        reasons.push(`stream ${s.name} has produced no segment yet (state ${s.state})`);
      }
    }
    sendJson(res, reasons.length === 0 ? 200 : 503, { ready: reasons.length === 0, reasons });
  }

  private async addStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'invalid-body', 'body must be a JSON object {"name": "...", "source": "..."}');
    }
    const { name, source, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0)
      throw new HttpError(400, 'invalid-body', `unknown field "${extra[0]}"; allowed: name, source`);
    if (typeof name !== 'string')
      throw new HttpError(400, 'invalid-name', 'name must be a string such as "cam1"');
    const problem = streamNameProblem(name);
    if (problem) throw new HttpError(400, 'invalid-name', problem);
    if (typeof source !== 'string' || source.length === 0 || source.length > MAX_SOURCE_LENGTH) {
      throw new HttpError(
        400,
        'invalid-source',
        `source must be a file path or URL of 1..${MAX_SOURCE_LENGTH} characters`,
      );
    }
    const added = await this.opts.streams.add(name, source);
    res.setHeader('Location', `/v1/streams/${encodeURIComponent(name)}`);
    sendJson(res, 201, { stream: maskSummary(added) });
  }

  private findStream(name: string): StreamSummary {
    const found = this.opts.streams.list().find((s) => s.name === name);
    if (!found) throw new HttpError(404, 'not-found', `no stream named ${name}`);
    return maskSummary(found);
  }
}

function streamNameInPath(encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'invalid-name', 'stream name in the path is not valid percent-encoding');
  }
  const problem = streamNameProblem(name);
  if (problem) throw new HttpError(400, 'invalid-name', problem);
  return name;
}

/** Reads a JSON body of at most `limit` bytes; answers 413/415/400 errors. */
async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported-media-type', 'send the body as Content-Type: application/json');
  }
  const tooLarge = () => new HttpError(413, 'body-too-large', `request body exceeds ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid-json', 'request body is not valid JSON');
  }
}

function maskSummary(s: StreamSummary): StreamSummary {
  return { ...s, source: redactUrl(s.source) };
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method-not-allowed', `allowed methods: ${allow}`, { Allow: allow });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  let status = 500;
  let code = 'internal';
  let message = `internal error: ${(err as Error)?.message ?? String(err)}`;
  let headers: Record<string, string> = {};
  if (err instanceof HttpError) {
    ({ status, code, message, headers } = err);
  } else if (err instanceof StreamControllerError) {
    status = CONTROLLER_STATUS[err.kind];
    code = err.kind;
    message = err.message;
  }
  if (res.headersSent) return void res.destroy();
  // After an early error the rest of the body is not read: close instead of draining it.
  if (status === 413) headers.Connection = 'close';
  sendJson(res, status, { error: { code, message } }, headers);
}
