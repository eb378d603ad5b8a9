import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, downloadFile } from '../../src/models/download.js';
import { refusedUrl, startFileServer, type FileServer } from './fixtures/file-server.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-download-');

const payload = randomBytes(200_000);
const corrupted = Buffer.from(payload);
corrupted[1000] ^= 0xff;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const quick = { retryDelayMs: 0, timeoutMs: 5000 };

let server: FileServer;
beforeAll(async () => {
  server = await startFileServer({
    '/good.bin': { body: payload },
    '/corrupt.bin': { body: corrupted },
    '/drop.bin': { body: payload, drop: { bytes: 70_000, times: 1 } },
    '/drop-always.bin': { body: payload, drop: { bytes: 50_000, times: 99 } },
    '/norange.bin': { body: payload, ignoreRange: true, drop: { bytes: 30_000, times: 1 } },
    '/stall.bin': { body: payload, stall: 10_000 },
    '/hop1': { redirect: '/hop2', headers: { 'x-linked-etag': `"${sha(payload)}"` } },
    '/hop2': { redirect: '/good.bin' },
    '/loop': { redirect: '/loop' },
    '/busy.bin': { body: payload, fail: { status: 503, times: 1 } },
    '/forbidden.bin': { body: payload, fail: { status: 403, times: 1 } },
    '/etag-wrong': { redirect: '/good.bin', headers: { 'x-linked-etag': `"${'0'.repeat(64)}"` } },
  });
});
afterAll(() => server.close());

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

describe('downloadFile', () => {
  it('downloads and verifies a good file, leaving no .part behind', async () => {
    const dest = join(await tmp(), 'good.bin');
    const result = await downloadFile(`${server.url}/good.bin`, dest, {
      sha256: sha(payload),
      size: payload.length,
    });
    expect(result).toEqual({ sha256: sha(payload), bytes: payload.length, resumedAt: [] });
    expect((await readFile(dest)).equals(payload)).toBe(true);
    await expect(stat(`${dest}.part`)).rejects.toThrow(/ENOENT/);
  });

  it('rejects and removes a file whose sha256 does not match', async () => {
    const dest = join(await tmp(), 'corrupt.bin');
    const err = await failure(downloadFile(`${server.url}/corrupt.bin`, dest, { sha256: sha(payload) }));
    expect(err.kind).toBe('sha256');
    expect(err.message).toMatch(
      /corrupt\.bin: sha256 mismatch for http:\/\/127\.0\.0\.1:\d+\/corrupt\.bin: got [0-9a-f]{64}, expected/,
    );
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
    await expect(stat(`${dest}.part`)).rejects.toThrow(/ENOENT/);
  });

  it('resumes with a Range request after the connection drops mid-body', async () => {
    const dest = join(await tmp(), 'drop.bin');
    const notes: string[] = [];
    const result = await downloadFile(`${server.url}/drop.bin`, dest, {
      ...quick,
      sha256: sha(payload),
      log: (l) => notes.push(l),
    });
    expect(result.resumedAt).toEqual([70_000]);
    expect((await readFile(dest)).equals(payload)).toBe(true);
    expect(server.requests.filter((r) => r.path === '/drop.bin').map((r) => r.range)).toEqual([
      undefined,
      'bytes=70000-',
    ]);
    expect(notes.join('\n')).toMatch(/connection to 127\.0\.0\.1:\d+ lost .*retrying/);
  });

  it('keeps the .part file when retries run out, and the next call resumes from it', async () => {
    const dest = join(await tmp(), 'drop-always.bin');
    const err = await failure(downloadFile(`${server.url}/drop-always.bin`, dest, { ...quick, retries: 1 }));
    expect(err.kind).toBe('interrupted');
    const kept = (await stat(`${dest}.part`)).size;
    expect(kept).toBe(100_000);
    expect(err.message).toContain(
      `${kept} bytes are kept in ${dest}.part: run the same command again to resume`,
    );
    server.routes['/drop-always.bin'].drop = undefined;
    const result = await downloadFile(`${server.url}/drop-always.bin`, dest, { sha256: sha(payload) });
    expect(result.resumedAt).toEqual([kept]);
    expect((await readFile(dest)).equals(payload)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    const dest = join(await tmp(), 'norange.bin');
    const result = await downloadFile(`${server.url}/norange.bin`, dest, { ...quick, sha256: sha(payload) });
    expect(result.resumedAt).toEqual([30_000]);
    expect(server.requests.filter((r) => r.path === '/norange.bin')[1].range).toBe('bytes=30000-');
    expect((await readFile(dest)).equals(payload)).toBe(true);
  });

  it('drops a stale .part larger than the expected size, and one the server cannot resume', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'a.bin.part'), Buffer.alloc(payload.length + 5));
    await downloadFile(`${server.url}/good.bin`, join(dir, 'a.bin'), {
      size: payload.length,
      sha256: sha(payload),
    });
    expect((await readFile(join(dir, 'a.bin'))).equals(payload)).toBe(true);
    await writeFile(join(dir, 'b.bin.part'), Buffer.alloc(payload.length + 5));
    await downloadFile(`${server.url}/good.bin`, join(dir, 'b.bin'), { sha256: sha(payload) });
    expect((await readFile(join(dir, 'b.bin'))).equals(payload)).toBe(true);
  });

  it('follows redirects and checks the sha256 the server announces', async () => {
    const dest = join(await tmp(), 'hop.bin');
    const result = await downloadFile(`${server.url}/hop1`, dest);
    expect(result.serverSha256).toBe(sha(payload));
    const err = await failure(downloadFile(`${server.url}/etag-wrong`, join(await tmp(), 'x.bin')));
    expect(err.kind).toBe('sha256');
    expect(err.message).toMatch(/the server announced 0{64}/);
  });

  it('retries a 5xx answer but not a 4xx one', async () => {
    const dir = await tmp();
    const notes: string[] = [];
    const busy = await downloadFile(`${server.url}/busy.bin`, join(dir, 'busy'), {
      ...quick,
      log: (l) => notes.push(l),
    });
    expect(busy.sha256).toBe(sha(payload));
    expect(notes[0]).toMatch(
      /busy\.bin answered HTTP 503 Service Unavailable; retrying in 0 ms \(attempt 2 of 4\)/,
    );
    const forbidden = await failure(downloadFile(`${server.url}/forbidden.bin`, join(dir, 'f'), quick));
    expect(forbidden.message).toMatch(/forbidden\.bin answered HTTP 403 Forbidden$/);
  });

  it('gives up on redirect loops, 404s, wrong sizes and silent servers', async () => {
    const dir = await tmp();
    const loop = await failure(downloadFile(`${server.url}/loop`, join(dir, 'l'), { maxRedirects: 3 }));
    expect(loop.kind).toBe('too-many-redirects');
    expect(loop.message).toMatch(/redirected more than 3 times/);
    const missing = await failure(downloadFile(`${server.url}/nothing.onnx`, join(dir, 'n')));
    expect(missing.message).toMatch(/nothing\.onnx was not found \(HTTP 404\)/);
    const size = await failure(downloadFile(`${server.url}/good.bin`, join(dir, 's'), { size: 12 }));
    expect(size.message).toMatch(/is 200000 bytes, expected 12/);
    const silent = await failure(
      downloadFile(`${server.url}/stall.bin`, join(dir, 't'), { timeoutMs: 300, retries: 0 }),
    );
    expect(silent.kind).toBe('timeout');
    expect(silent.message).toMatch(/sent nothing for 0\.3 s\. 10000 bytes are kept in .*t\.part/);
  });

  it('says the machine looks offline when the connection is refused', async () => {
    const err = await failure(downloadFile(`${await refusedUrl()}/x.onnx`, join(await tmp(), 'x')));
    expect(err.kind).toBe('offline');
    expect(err.message).toMatch(
      /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\): this machine looks offline.*--mirror URL/,
    );
  });

  it('rejects URLs that are not http(s)', async () => {
    const err = await failure(downloadFile('ftp://example.org/x', join(await tmp(), 'x')));
    expect(err.message).toBe("'ftp://example.org/x' is not an http(s) URL");
  });
});
