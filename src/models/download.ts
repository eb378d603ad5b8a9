// HTTP(S) download of one large file with sha256 verification and resume. Bytes go to
// `<dest>.part`; a dropped connection is retried with `Range: bytes=<have>-` so only the
// missing tail is fetched again, and an interrupted run leaves the `.part` file for the next
// run to resume. Only a complete, verified file is renamed to `dest`.
//
//   await downloadFile('https://host/file.onnx', 'models/x.onnx', { sha256, size, progress: true });
//
// Redirects are followed (bounded, Range kept). Every failure is a DownloadError whose message
// says what happened and what to do; `kind` lets callers and tests tell them apart.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Progress } from '../util/progress.js';
import { sha256File } from '../util/sha256.js';

export type DownloadErrorKind =
  'offline' | 'http' | 'timeout' | 'interrupted' | 'too-many-redirects' | 'size' | 'sha256' | 'file';

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  /** Expected hex sha256; without it the file is accepted and its computed hash returned. */
  sha256?: string;
  /** Expected size in bytes, checked against the server's length before downloading. */
  size?: number;
  /** Refuse bodies larger than this when the size is not known (default 8 GiB). */
  maxBytes?: number;
  /** Give up when a connection is silent this long, in ms (default 30 000). */
  timeoutMs?: number;
  maxRedirects?: number;
  /** Resume attempts after a dropped connection or a 5xx, within this call (default 3). */
  retries?: number;
  /** Wait before each retry, in ms (default 1000, doubling). */
  retryDelayMs?: number;
  /** Show a Progress bar/log on stderr (or on `progressStream`). */
  progress?: boolean;
  progressStream?: NodeJS.WriteStream;
  /** Name shown in progress and messages (default: the file name of `dest`). */
  label?: string;
  /** Called with short notes (resuming, retrying) meant for the user. */
  log?: (line: string) => void;
}

export interface DownloadResult {
  sha256: string;
  bytes: number;
  /** Offsets at which the transfer resumed from an existing partial file. */
  resumedAt: number[];
  /** A sha256 the server announced for the file (Hugging Face's X-Linked-Etag), if any. */
  serverSha256?: string;
}

const OFFLINE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const label = opts.label ?? dest.split(/[\\/]/).pop()!;
  const retries = opts.retries ?? 3;
  const log = opts.log ?? (() => {});
  const resumedAt: number[] = [];
  let serverSha256: string | undefined;

  for (let attempt = 0; ; attempt++) {
    let have = await sizeOf(part);
    if (opts.size !== undefined && have > opts.size) {
      log(`${part} is larger than the expected ${opts.size} bytes; starting over`);
      await rm(part);
      have = 0;
    }
    if (opts.size !== undefined && have === opts.size) break;
    try {
      if (have > 0) {
        log(`resuming ${label} at byte ${have}`);
        resumedAt.push(have);
      }
      const outcome = await transfer(url, part, have, label, opts);
      serverSha256 ??= outcome.serverSha256;
      if (outcome.restart) continue;
      break;
    } catch (err) {
      const failure = asDownloadError(err, url);
      const got = await sizeOf(part);
      const retryable =
        failure.kind === 'interrupted' || failure.kind === 'timeout' || isServerError(failure);
      if (!retryable || attempt >= retries) {
        if (got > 0 && retryable)
          failure.message += `. ${got} bytes are kept in ${part}: run the same command again to resume`;
        throw failure;
      }
      const delay = (opts.retryDelayMs ?? 1000) * 2 ** attempt;
      log(`${failure.message}; retrying in ${delay} ms (attempt ${attempt + 2} of ${retries + 1})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  const bytes = await sizeOf(part);
  if (opts.size !== undefined && bytes !== opts.size) {
    await rm(part, { force: true });
    throw new DownloadError(
      'size',
      `${label}: received ${bytes} bytes, expected ${opts.size}; the partial file was removed`,
    );
  }
  const sha256 = await sha256File(part);
  const expected = opts.sha256?.toLowerCase() ?? serverSha256;
  if (expected !== undefined && sha256 !== expected) {
    await rm(part, { force: true });
    const whose = opts.sha256 !== undefined ? 'expected' : 'the server announced';
    throw new DownloadError(
      'sha256',
      `${label}: sha256 mismatch for ${url}: got ${sha256}, ${whose} ${expected}. ` +
        `The download is corrupt or the file changed upstream; it was removed. Try again, or check the mirror.`,
    );
  }
  try {
    await rename(part, dest);
  } catch (err) {
    throw new DownloadError(
      'file',
      `cannot move ${part} to ${dest} (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  return { sha256, bytes, resumedAt, ...(serverSha256 !== undefined ? { serverSha256 } : {}) };
}

interface TransferOutcome {
  /** The server refused the range: the partial file was dropped, start again from zero. */
  restart: boolean;
  serverSha256?: string;
}

/** One request (after redirects) appending to `part` from offset `have`. */
async function transfer(
  url: string,
  part: string,
  have: number,
  label: string,
  opts: DownloadOptions,
): Promise<TransferOutcome> {
  // Opened before the request because, once the response arrives, the body listeners must be
  // attached without awaiting anything: a connection closed meanwhile would go unnoticed.
  const file = await open(part, 'a');
  try {
    return await receive(file, url, part, have, label, opts);
  } finally {
    await file.close();
  }
}

async function receive(
  file: FileHandle,
  url: string,
  part: string,
  have: number,
  label: string,
  opts: DownloadOptions,
): Promise<TransferOutcome> {
  const { response: res, serverSha256 } = await request(url, have, opts);
  const status = res.statusCode ?? 0;
  if (status === 416 && have > 0) {
    res.resume();
    await rm(part, { force: true });
    opts.log?.(`the server cannot resume ${label} at byte ${have}; starting over`);
    return { restart: true, serverSha256 };
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new DownloadError(
      'http',
      status === 404
        ? `${url} was not found (HTTP 404): the name, revision or mirror layout is wrong`
        : `${url} answered HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd(),
    );
  }
  let start = 0;
  if (status === 200 && have > 0)
    opts.log?.(`the server ignored the range request; downloading ${label} from the start`);
  if (status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    start = range ? Number(range[1]) : -1;
    if (start !== have) {
      res.resume();
      await rm(part, { force: true });
      throw new DownloadError(
        'interrupted',
        `${url} resumed at the wrong offset (${res.headers['content-range']})`,
      );
    }
  }
  const length =
    res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  const total = length !== undefined ? start + length : opts.size;
  if (opts.size !== undefined && total !== undefined && total !== opts.size) {
    res.resume();
    await rm(part, { force: true });
    throw new DownloadError(
      'size',
      `${url} is ${total} bytes, expected ${opts.size}: the file changed upstream or the mirror is wrong`,
    );
  }
  const limit = opts.size ?? opts.maxBytes ?? 8 * 1024 ** 3;
  if (total !== undefined && total > limit) {
    res.resume();
    throw new DownloadError('size', `${url} is ${total} bytes, more than the limit of ${limit}`);
  }

  const progress = opts.progress
    ? new Progress({
        label,
        total,
        unit: 'B',
        ...(opts.progressStream ? { stream: opts.progressStream } : {}),
      })
    : undefined;
  let received = start;
  try {
    received = await writeBody(res, file, start, limit, url, progress);
  } finally {
    progress?.finish();
  }
  // node reports a short body as an 'aborted' error, but check in case the socket closed cleanly.
  if (total !== undefined && received < total)
    throw new DownloadError('interrupted', `connection closed after ${received} of ${total} bytes`);
  return { restart: false, serverSha256 };
}

/**
 * Appends the body to `file`, returning the byte count reached (from `start`). Chunks are taken
 * in flowing mode so that every byte read before a dropped connection reaches the disk (an
 * async iterator would discard what was buffered); the response pauses while writes lag behind.
 */
function writeBody(
  res: http.IncomingMessage,
  file: FileHandle,
  start: number,
  limit: number,
  url: string,
  progress: Progress | undefined,
): Promise<number> {
  let received = start;
  let pending = 0;
  // A full (200) response replaces whatever the partial file held.
  let writes: Promise<unknown> = start === 0 ? file.truncate(0) : Promise.resolve();
  const settle = (): Promise<number> => writes.then(() => received);
  return new Promise((resolve, reject) => {
    res.on('data', (chunk: Buffer) => {
      if (received + chunk.length > limit) {
        res.destroy(new DownloadError('size', `${url} sent more than ${limit} bytes`));
        return;
      }
      pending += chunk.length;
      if (pending > 4 * 1024 * 1024) res.pause();
      writes = writes.then(async () => {
        await file.write(chunk);
        received += chunk.length;
        pending -= chunk.length;
        progress?.update(received);
        if (res.isPaused() && pending <= 1024 * 1024) res.resume();
      });
    });
    res.on('end', () => settle().then(resolve, reject));
    res.on('error', (err) => settle().then(() => reject(err), reject));
    // A socket closed mid-body does not always surface as an 'error': catch it here too.
    res.on('close', () => {
      if (!res.complete) {
        const lost = new DownloadError('interrupted', `connection to ${new URL(url).host} lost`);
        settle().then(() => reject(lost), reject);
      }
    });
  });
}

/** GET with Range from `offset`, following redirects; resolves with the final response. */
async function request(
  url: string,
  offset: number,
  opts: DownloadOptions,
): Promise<{ response: http.IncomingMessage; serverSha256?: string }> {
  const maxRedirects = opts.maxRedirects ?? 5;
  let current = parseUrl(url);
  let serverSha256: string | undefined;
  for (let hop = 0; ; hop++) {
    const response = await get(current, offset, opts.timeoutMs ?? 30_000);
    serverSha256 ??= linkedSha256(response);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined)
      return { response, serverSha256 };
    response.resume();
    if (hop >= maxRedirects)
      throw new DownloadError('too-many-redirects', `${url} redirected more than ${maxRedirects} times`);
    current = parseUrl(new URL(location, current).href);
  }
}

function get(url: URL, offset: number, timeoutMs: number): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  const headers: http.OutgoingHttpHeaders = { 'user-agent': 'avvp-stream' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  return new Promise((resolve, reject) => {
    let response: http.IncomingMessage | undefined;
    const req = client.get(url, { headers, timeout: timeoutMs }, (res) => {
      response = res;
      resolve(res);
    });
    // The socket timeout keeps applying while the body streams: then it fails the body.
    req.on('timeout', () => (response ?? req).destroy(timeoutError(url, timeoutMs)));
    req.on('error', reject);
  });
}

function timeoutError(url: URL, timeoutMs: number): DownloadError {
  return new DownloadError('timeout', `${url.host} sent nothing for ${timeoutMs / 1000} s`);
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DownloadError('http', `'${text}' is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DownloadError('http', `'${text}' is not an http(s) URL`);
  return url;
}

/** Hugging Face announces the sha256 of LFS files as X-Linked-Etag on the redirecting response. */
function linkedSha256(res: http.IncomingMessage): string | undefined {
  const value = res.headers['x-linked-etag'];
  const tag = (Array.isArray(value) ? value[0] : value)?.replace(/^(W\/)?"|"$/g, '').toLowerCase();
  return tag !== undefined && /^[0-9a-f]{64}$/.test(tag) ? tag : undefined;
}

function asDownloadError(err: unknown, url: string): DownloadError {
  if (err instanceof DownloadError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (OFFLINE_CODES.has(code)) {
    return new DownloadError(
      'offline',
      `cannot reach ${new URL(url).host} (${code}): this machine looks offline or the host is wrong. ` +
        `Use --mirror URL for a reachable mirror, or copy the files in by hand (see docs/models.md)`,
    );
  }
  if (RETRYABLE_CODES.has(code) || (err as Error).message === 'aborted')
    return new DownloadError('interrupted', `connection to ${new URL(url).host} lost (${code || 'aborted'})`);
  if (code.startsWith('E') && 'syscall' in (err as object))
    return new DownloadError('file', `download of ${url} failed: ${(err as Error).message}`);
  return new DownloadError('interrupted', `download of ${url} failed: ${(err as Error).message}`);
}

function isServerError(err: DownloadError): boolean {
  return err.kind === 'http' && / HTTP 5\d\d/.test(err.message);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
