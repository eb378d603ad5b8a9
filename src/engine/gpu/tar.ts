// Extracting named regular files from a .tgz (an npm tarball) without trusting it: a streaming
// gzip + ustar reader in plain Node that writes only the entries asked for, each to a path the
// caller chooses (never a path taken from the archive), so nothing can land outside the target.
// The archive is refused as a whole when any entry's name is absolute or climbs with '..', when it
// holds a symbolic or hard link, when a wanted entry is not a regular file or appears twice, and
// when the bytes are not gzip or not tar (header checksums).
//
// Public API: extractEntries(tgz, wanted: Map<entryName, destPath>) -> Map<entryName, {bytes,
// sha256}>, TarError.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

export interface ExtractedEntry {
  bytes: number;
  sha256: string;
}

const BLOCK = 512;

/** The NUL-terminated string in header bytes [start, start + length). */
function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function octal(h: Buffer, start: number, length: number, what: string): number {
  const text = field(h, start, length).trim();
  if (h[start] & 0x80) throw new TarError(`tar entry ${what} uses a base-256 size, which is not supported`);
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new TarError(`not a tar archive (bad ${what} field '${text.slice(0, 20)}')`);
  return parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = field(h, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === parseInt(stored, 8);
}

/** Paths in a pax extended header ('path', 'linkpath'). */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(data.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length)
      throw new TarError('malformed pax header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Refuses names that are absolute or leave the archive root. */
function checkName(name: string): void {
  const parts = name.replace(/\\/g, '/').split('/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || parts.includes('..'))
    throw new TarError(`refusing the archive: entry '${name.slice(0, 200)}' points outside the archive root`);
}

/**
 * Streams `tgz` and writes each entry named in `wanted` to its destination path (created or
 * truncated). Throws TarError when the archive is unsafe or malformed or a wanted entry is absent;
 * destinations already written are left for the caller to remove.
 */
export async function extractEntries(
  tgz: string,
  wanted: ReadonlyMap<string, string>,
): Promise<Map<string, ExtractedEntry>> {
  const magic = Buffer.alloc(2);
  const probe = await open(tgz, 'r');
  try {
    await probe.read(magic, 0, 2, 0);
  } finally {
    await probe.close();
  }
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw new TarError(`${tgz} is not a gzip file (.tgz expected)`);

  const done = new Map<string, ExtractedEntry>();
  let pending: Buffer = Buffer.alloc(0);
  let headers = 0;
  let ended = false;
  // The entry whose data is being read.
  let remaining = 0; // data bytes still to come
  let padding = 0; // bytes of block padding after the data
  let sink: { name: string; fh: FileHandle; hash: ReturnType<typeof createHash>; bytes: number } | null =
    null;
  let meta: Buffer[] | null = null; // collecting a pax / GNU long-name payload
  let metaType = '';
  let nextName: string | null = null;

  const handleHeader = async (h: Buffer) => {
    if (h.every((b) => b === 0)) {
      ended = true;
      return;
    }
    if (!checksumOk(h))
      throw new TarError(headers === 0 ? `${tgz} is not a tar archive` : 'corrupt tar header (bad checksum)');
    headers++;
    const type = String.fromCharCode(h[156] || 0x30);
    const size = octal(h, 124, 12, 'size');
    const prefix = h.subarray(257, 263).toString('latin1').startsWith('ustar') ? field(h, 345, 155) : '';
    let name = nextName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    remaining = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'L' || type === 'K' || type === 'g') {
      meta = type === 'g' ? null : [];
      metaType = type;
      return;
    }
    nextName = null;
    name = name.replace(/^\.\//, '');
    checkName(name);
    if (type === '1' || type === '2' || type === 'K')
      throw new TarError(
        `refusing the archive: entry '${name.slice(0, 200)}' is a ${type === '2' ? 'symbolic' : 'hard'} link`,
      );
    const dest = wanted.get(name);
    if (dest === undefined) return;
    if (type !== '0' && type !== '7')
      throw new TarError(`refusing the archive: '${name}' is not a regular file (tar type '${type}')`);
    if (done.has(name)) throw new TarError(`refusing the archive: '${name}' appears more than once`);
    sink = { name, fh: await open(dest, 'w', 0o755), hash: createHash('sha256'), bytes: 0 };
    if (remaining === 0) await finishEntry();
  };

  const finishEntry = async () => {
    if (!sink) return;
    await sink.fh.close();
    done.set(sink.name, { bytes: sink.bytes, sha256: sink.hash.digest('hex') });
    sink = null;
  };

  const handleData = async (chunk: Buffer) => {
    if (sink) {
      sink.hash.update(chunk);
      sink.bytes += chunk.length;
      await sink.fh.write(chunk);
    } else if (meta) meta.push(chunk);
  };

  const finishMeta = () => {
    if (!meta) return;
    const data = Buffer.concat(meta);
    if (metaType === 'x') {
      const path = paxRecords(data).path;
      if (path !== undefined) nextName = path;
    } else if (metaType === 'L') {
      nextName = field(data, 0, data.length);
    }
    meta = null;
  };

  const gunzip = createGunzip();
  const input = createReadStream(tgz).pipe(gunzip);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (!ended) {
        if (remaining > 0) {
          const n = Math.min(remaining, pending.length - at);
          if (n === 0) break;
          await handleData(pending.subarray(at, at + n));
          at += n;
          remaining -= n;
          if (remaining === 0) {
            await finishEntry();
            finishMeta();
          }
        } else if (padding > 0) {
          const n = Math.min(padding, pending.length - at);
          if (n === 0) break;
          at += n;
          padding -= n;
        } else {
          if (pending.length - at < BLOCK) break;
          await handleHeader(pending.subarray(at, at + BLOCK));
          at += BLOCK;
          if (remaining === 0) finishMeta();
        }
      }
      pending = Buffer.from(pending.subarray(at));
      if (ended) break;
    }
  } catch (e) {
    if (e instanceof TarError) throw e;
    const code = (e as { code?: string }).code;
    if (code?.startsWith('Z_'))
      throw new TarError(`${tgz} is not a valid gzip file (${(e as Error).message})`);
    throw e;
  } finally {
    const open = sink as { fh: FileHandle } | null;
    if (open) await open.fh.close().catch(() => {});
    input.destroy();
  }
  if (headers === 0) throw new TarError(`${tgz} is not a tar archive (no entries)`);
  if (!ended && (remaining > 0 || pending.length > 0)) throw new TarError(`${tgz} is truncated`);
  const missing = [...wanted.keys()].filter((n) => !done.has(n));
  if (missing.length > 0)
    throw new TarError(`${tgz} does not contain ${missing.join(', ')}; is it the right package?`);
  return done;
}
