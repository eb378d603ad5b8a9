// Seeded fuzzing of the REST and WebSocket APIs with malformed and hostile inputs: random JSON,
// wrong types for every field, huge strings, deep nesting, bad encodings, odd methods, paths and
// headers. Every request must get a 2xx/4xx answer (never a 5xx, never a hang or a crash), every
// WebSocket message exactly one schema-valid reply (or a 4xxx-free close code for oversize frames),
// and afterwards the server must still answer /healthz with memory bounded. Counts are bounded so
// the file runs in a few seconds; the seed is fixed (set AVVP_FUZZ_SEED to try others).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, startServer, until, type TestServer } from './helpers.js';

const SEED = Number(process.env.AVVP_FUZZ_SEED ?? 20240613);
const REST_CASES = 400;
const WS_MESSAGES = 400;

/** mulberry32: a small seeded PRNG, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzz {
  constructor(readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  string(max = 40): string {
    const alphabets = [
      'abcdefghijklmnopqrstuvwxyz0123456789',
      ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
      '\u0000\u0001\u001f\u007f\n\r\t',
      'é日本語🎥\u202e\ufeff\ud800',
    ];
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += this.pick(Array.from(this.pick(alphabets)));
    return s;
  }
  /** Any JSON value, up to `depth` levels deep. */
  json(depth = 3): unknown {
    const kind = this.int(depth > 0 ? 9 : 7);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.random() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE, 65536]);
      case 3:
        return this.string();
      case 4:
        return this.pick([
          '',
          'cam1',
          'rtsp://u:p@h/x',
          '../../etc/passwd',
          'lavfi:testsrc',
          'x'.repeat(3000),
        ]);
      case 5:
        return this.pick([[], {}, '__proto__', 'constructor']);
      case 6:
        return this.int(1000) - 500;
      case 7:
        return Array.from({ length: this.int(5) }, () => this.json(depth - 1));
      default:
        return Object.fromEntries(
          Array.from({ length: this.int(5) }, () => [this.string(8), this.json(depth - 1)]),
        );
    }
  }
  /** Nested arrays or objects, `levels` deep. */
  nested(levels: number): string {
    const open = this.random() < 0.5 ? '[' : '{"a":';
    const close = open === '[' ? ']' : '}';
    return open.repeat(levels) + '1' + close.repeat(levels);
  }
}

interface Reply {
  status: number;
  body: string;
}

/** One raw HTTP request (fetch would refuse some of these methods and headers). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time: a request that lies about its length must not poison the next one.
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (t: string) => (text += t.slice(0, 1000)));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(5_000, () =>
      req.destroy(new Error(`no answer to ${method} ${path} ${JSON.stringify(headers).slice(0, 300)}`)),
    );
    // The server may close early (413) while the body is still being written.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(body);
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ ws: { maxClientMessagesPerSecond: 100_000 } });
  server.ready.models = true;
});
afterAll(async () => {
  await server.api.close();
});

async function stillHealthy(): Promise<void> {
  const res = await send(server.port, 'GET', '/healthz', {});
  expect(res.status).toBe(200);
}

describe('fuzzing the REST API', () => {
  it(`answers ${REST_CASES} hostile POST /v1/streams bodies with 2xx/4xx only`, async () => {
    const f = new Fuzz(rng(SEED));
    const fields = ['name', 'source'] as const;
    const rssBefore = process.memoryUsage().rss;
    const statuses = new Map<number, number>();
    for (let i = 0; i < REST_CASES; i++) {
      let body: string | Buffer;
      let type = 'application/json';
      switch (f.int(8)) {
        case 0: // any JSON value
          body = JSON.stringify(f.json());
          break;
        case 1: {
          // a valid body with one field of the wrong type or value
          const value: Record<string, unknown> = { name: `s${i}`, source: 'rtsp://10.0.0.5/live' };
          value[f.pick(fields)] = f.json(2);
          body = JSON.stringify(value);
          break;
        }
        case 2: // extra and prototype-polluting fields
          body = `{"name":"p${i}","source":"rtsp://h/x","${f.pick(['__proto__', 'constructor', 'extra', ''])}":${JSON.stringify(f.json(1))}}`;
          break;
        case 3: // deep nesting, within and beyond the body limit
          body = f.nested(f.pick([100, 1000, 5000, 20000]));
          break;
        case 4: // huge strings
          body = JSON.stringify({
            name: 'x'.repeat(f.pick([65, 1000, 15000])),
            source: 'y'.repeat(f.pick([10, 2049, 40000])),
          });
          break;
        case 5: // truncated or broken JSON, invalid UTF-8
          body = f.pick([
            Buffer.from(JSON.stringify({ name: 'a', source: 'b' }).slice(0, f.int(20))),
            Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
            Buffer.from('{"name":"a","source":"b"}\u0000'),
          ]);
          break;
        case 6: // a wrong or missing content type
          body = JSON.stringify({ name: `t${i}`, source: 'rtsp://h/x' });
          type = f.pick([
            'text/plain',
            '',
            'application/json; charset=latin1',
            'application/x-www-form-urlencoded',
            'APPLICATION/JSON',
          ]);
          break;
        default: // random bytes
          body = Buffer.from(Array.from({ length: f.int(200) }, () => f.int(256)));
      }
      const headers: Record<string, string> = type === '' ? {} : { 'Content-Type': type };
      const res = await send(server.port, 'POST', '/v1/streams', headers, body);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `case ${i}: ${String(body).slice(0, 200)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `case ${i}: ${String(body).slice(0, 200)} -> ${res.body}`).toBeLessThan(500);
    }
    // Most of these are refusals; a few random ones may be valid streams.
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((n, [, count]) => n + count, 0);
    expect(refused).toBeGreaterThan(REST_CASES / 2);
    await stillHealthy();
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  }, 30_000);

  it('answers hostile methods, paths and headers with 2xx/4xx only', async () => {
    const f = new Fuzz(rng(SEED + 1));
    const paths = [
      '/v1/streams',
      '/v1/streams/',
      '/v1/streams/%',
      '/v1/streams/%E0%A4%A',
      '/v1/streams/..%2F..%2Fetc',
      `/v1/streams/${'a'.repeat(5000)}`,
      '/v1/streams/cam1?x=1#y',
      '/metrics',
      '/readyz',
      '/v1/events',
      '//v1//streams',
      '/%00',
      '*',
    ];
    for (let i = 0; i < 150; i++) {
      const method = f.pick([
        'GET',
        'POST',
        'DELETE',
        'PUT',
        'PATCH',
        'OPTIONS',
        'HEAD',
        'TRACE',
        'PROPFIND',
      ]);
      const path =
        f.random() < 0.7
          ? f.pick(paths)
          : `/${encodeURIComponent(f.string(60).replace(/[\ud800-\udfff]/g, '?'))}`;
      const headers: Record<string, string> = {};
      if (f.random() < 0.3)
        headers.Authorization = f.pick(['Bearer', 'Bearer  x y', 'Basic Zm9vOmJhcg==', 'x'.repeat(4000)]);
      if (f.random() < 0.3) headers.Origin = f.pick(['null', 'http://evil.example', 'file://', '%%%']);
      if (f.random() < 0.3) headers['Content-Length'] = f.pick(['0', '99999999999', '5']);
      if (f.random() < 0.2) headers['Content-Type'] = 'application/json';
      let res: Reply;
      try {
        res = await send(
          server.port,
          method,
          path,
          headers,
          method === 'GET' || method === 'HEAD' ? undefined : '{}',
        );
      } catch (err) {
        // Node's own parser may refuse a malformed request by closing: not a server failure.
        if (
          /socket hang up|no answer/.test((err as Error).message) &&
          headers['Content-Length'] !== undefined
        )
          continue;
        throw err;
      }
      expect(
        res.status,
        `${method} ${path} ${JSON.stringify(headers).slice(0, 200)} -> ${res.body}`,
      ).toBeLessThan(500);
    }
    await stillHealthy();
  }, 30_000);
});

describe('fuzzing the WebSocket API', () => {
  it(`replies to each of ${WS_MESSAGES} hostile client messages once, with a valid message`, async () => {
    const f = new Fuzz(rng(SEED + 2));
    const client = await TestClient.connect(server.wsUrl);
    const subscribeFields = ['streams', 'types', 'labels', 'minConfidence', 'since'] as const;
    const before = client.received.length;
    let sent = 0;
    for (let i = 0; i < WS_MESSAGES; i++) {
      let msg: string | Buffer;
      switch (f.int(7)) {
        case 0:
          msg = JSON.stringify(f.json());
          break;
        case 1: {
          // subscribe with one field of the wrong type or value
          const value: Record<string, unknown> = { op: 'subscribe' };
          value[f.pick(subscribeFields)] = f.json(2);
          msg = JSON.stringify(value);
          break;
        }
        case 2:
          msg = JSON.stringify({ op: 'resume', since: f.json(1), ...(f.random() < 0.3 ? { extra: 1 } : {}) });
          break;
        case 3:
          msg = JSON.stringify({ op: f.json(1) });
          break;
        case 4:
          msg = f.nested(f.pick([10, 500, 2500])); // within the 16 KiB frame limit
          break;
        case 5:
          msg = Buffer.from(Array.from({ length: f.int(100) + 1 }, () => f.int(256)));
          break;
        default:
          msg = f.string(f.pick([5, 200, 3000])); // at most 12 KiB of UTF-8
      }
      const expected = client.received.length + 1;
      if (Buffer.isBuffer(msg)) client.ws.send(msg, { binary: true });
      else client.send(msg);
      sent++;
      await until(
        () => client.received.length >= expected || client.closeCode !== undefined,
        `a reply to ${JSON.stringify(String(msg).slice(0, 200))}`,
        5_000,
      );
      expect(client.closeCode, String(msg).slice(0, 200)).toBeUndefined();
    }
    // Every message got exactly one reply (error or subscribed), in order; all are schema-valid.
    await new Promise((r) => setTimeout(r, 50));
    expect(client.received.length - before).toBe(sent);
    client.assertValid();
    const replies = client.received.slice(before);
    expect(replies.every((m) => m.type === 'error' || m.type === 'subscribed')).toBe(true);
    expect(replies.filter((m) => m.type === 'error').length).toBeGreaterThan(sent / 2);
    expect(client.closeCode).toBeUndefined();
    client.close();
    await stillHealthy();
  }, 30_000);

  it('closes connections that send text frames that are not UTF-8 (1007)', async () => {
    for (const bytes of [[0xff], [0x7b, 0xc3, 0x28, 0x7d], [0xed, 0xa0, 0x80]]) {
      const client = await TestClient.connect(server.wsUrl);
      client.ws.send(Buffer.from(bytes), { binary: false });
      expect(await client.closed()).toBe(1007);
    }
    await stillHealthy();
  });

  it('closes connections that send oversized frames (1009), and keeps serving others', async () => {
    const f = new Fuzz(rng(SEED + 3));
    for (let i = 0; i < 5; i++) {
      const client = await TestClient.connect(server.wsUrl);
      client.send(JSON.stringify({ op: 'subscribe', labels: ['x'.repeat(17_000 + f.int(100_000))] }));
      expect(await client.closed()).toBe(1009);
    }
    const ok = await TestClient.connect(server.wsUrl);
    await ok.subscribe({ types: ['segment'] });
    ok.close();
    await stillHealthy();
  }, 30_000);
});
