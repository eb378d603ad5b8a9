// DNS rebinding and cross-site requests: the Host header of every REST, metrics and WebSocket
// request must name this server (localhost, an IP address, the listen name, or an allowed name), and
// a browser's Origin must be the same origin or an allowed one. Health stays open to probes. A
// per-address connection limit keeps one client from taking every WebSocket slot.
import { request as httpRequest } from 'node:http';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, startServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.api.close();
  server = undefined;
});

/** A GET with the headers a browser (or an attacker's page) would send; fetch cannot set Host. */
function get(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: server!.port, path, method: 'GET', headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (t: string) => (text += t));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function connect(headers: Record<string, string> = {}, localAddress?: string): Promise<TestClient> {
  const c = await TestClient.connect(server!.wsUrl, { headers, localAddress });
  clients.push(c);
  return c;
}

describe('Host header (DNS rebinding)', () => {
  it('refuses a foreign host name on REST, metrics and the WebSocket with 403 and a clear message', async () => {
    server = await startServer();
    for (const path of ['/v1/streams', '/metrics', '/v1/streams/cam1', '/nowhere']) {
      const res = await get(path, { Host: `evil.example:${server.port}` });
      expect(res.status, path).toBe(403);
      expect(res.body.error?.code).toBe('host-not-allowed');
      expect(res.body.error?.message).toMatch(/host 'evil\.example:\d+' is not allowed .*--allow-host/);
    }
    await expect(connect({ Host: 'evil.example' })).rejects.toMatchObject({ status: 403 });
    expect(server.api.events.clients).toHaveLength(0);
  });

  it('refuses a foreign host even with the right token (checked before the token)', async () => {
    server = await startServer({ token: 'tok' });
    const res = await get('/v1/streams', { Host: 'evil.example', Authorization: 'Bearer tok' });
    expect(res.status).toBe(403);
    expect((await get('/v1/streams', { Host: 'localhost', Authorization: 'Bearer tok' })).status).toBe(200);
  });

  it('accepts localhost, IP addresses (which cannot be rebound), with or without the port', async () => {
    server = await startServer();
    const p = server.port;
    for (const host of [
      `127.0.0.1:${p}`,
      '127.0.0.1',
      `localhost:${p}`,
      'LOCALHOST',
      'localhost.',
      `[::1]:${p}`,
      '[::1]',
      '10.1.2.3:8080',
    ]) {
      expect((await get('/v1/streams', { Host: host })).status, host).toBe(200);
    }
    await connect({ Host: `localhost:${p}` });
  });

  it('refuses malformed Host headers', async () => {
    server = await startServer();
    for (const host of ['user@localhost', 'localhost/x', 'a b', '[zz]:1']) {
      expect((await get('/v1/streams', { Host: host })).status, host).toBe(403);
    }
  });

  it('accepts configured names, .domain for subdomains, and * for any', async () => {
    server = await startServer({ allowedHosts: ['avvp.example', '.corp.example'] });
    expect((await get('/v1/streams', { Host: 'avvp.example:8080' })).status).toBe(200);
    expect((await get('/v1/streams', { Host: 'cam.corp.example' })).status).toBe(200);
    expect((await get('/v1/streams', { Host: 'corp.example' })).status).toBe(200);
    expect((await get('/v1/streams', { Host: 'evilcorp.example' })).status).toBe(403);
    expect((await get('/v1/streams', { Host: 'avvp.example.evil' })).status).toBe(403);
    await connect({ Host: 'avvp.example' });
    await server.api.close();
    server = await startServer({ allowedHosts: ['*'] });
    expect((await get('/v1/streams', { Host: 'anything.example' })).status).toBe(200);
  });

  it("accepts this machine's host name when listening on every interface", async () => {
    const name = hostname().toLowerCase();
    server = await startServer({}, '127.0.0.1');
    const loopbackOnly = (await get('/v1/streams', { Host: name })).status;
    await server.api.close();
    server = await startServer({}, '0.0.0.0');
    expect((await get('/v1/streams', { Host: `${name}:${server.port}` })).status).toBe(200);
    // Not when listening on loopback only (unless the name is localhost or an address).
    if (name !== 'localhost' && !/^[\d.]+$/.test(name)) expect(loopbackOnly).toBe(403);
  });

  it('leaves /healthz and /readyz open to probes with any Host (they name the pod IP or a service)', async () => {
    server = await startServer();
    expect((await get('/healthz', { Host: 'evil.example' })).status).toBe(200);
    expect((await get('/readyz', { Host: 'my-service.namespace.svc' })).status).toBe(503); // not ready, not refused
  });
});

describe('Origin header (cross-site pages)', () => {
  it('refuses a page from another site on REST and on the WebSocket by default', async () => {
    server = await startServer();
    const res = await get('/v1/streams', { Origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'origin-not-allowed' });
    expect(res.body.error?.message).toMatch(/--allow-origin https:\/\/evil\.example/);
    await expect(connect({ Origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    // Another local web app (another port), a file:// page ("null"), an IP address at our port.
    await expect(connect({ Origin: 'http://localhost:3000' })).rejects.toMatchObject({ status: 403 });
    await expect(connect({ Origin: 'null' })).rejects.toMatchObject({ status: 403 });
    await expect(connect({ Origin: `http://10.9.9.9:${server.port}` })).rejects.toMatchObject({
      status: 403,
    });
    expect(server.api.events.clients).toHaveLength(0);
  });

  it('accepts the same origin, configured origins, and requests without Origin (not a browser)', async () => {
    server = await startServer({ allowedOrigins: ['https://dash.example'] });
    const p = server.port;
    expect((await get('/v1/streams', { Origin: `http://127.0.0.1:${p}` })).status).toBe(200);
    expect(
      (await get('/v1/streams', { Host: `localhost:${p}`, Origin: `http://localhost:${p}` })).status,
    ).toBe(200);
    // The origin must match the host the request goes to.
    expect(
      (await get('/v1/streams', { Host: `127.0.0.1:${p}`, Origin: `http://localhost:${p}` })).status,
    ).toBe(403);
    expect((await get('/v1/streams', { Origin: 'https://dash.example' })).status).toBe(200);
    expect((await get('/v1/streams', { Origin: 'https://dash.example.evil' })).status).toBe(403);
    await connect({ Origin: 'https://dash.example' });
    await connect({ Origin: `http://127.0.0.1:${p}` });
    await connect();
    expect(server.api.events.clients).toHaveLength(3);
  });

  it('behind a reverse proxy that keeps Host, a page from the proxy origin is the same origin', async () => {
    server = await startServer({ allowedHosts: ['avvp.example'] });
    const headers = { Host: 'avvp.example', Origin: 'https://avvp.example' };
    expect((await get('/v1/streams', headers)).status).toBe(200);
    await connect(headers);
  });
});

describe('WebSocket connections per remote address', () => {
  it('one address cannot take every slot (default 16); other addresses still get in', async () => {
    server = await startServer();
    for (let i = 0; i < 16; i++) await connect();
    const refused = await TestClient.connect(server.wsUrl).catch((err: { status?: number }) => err);
    expect(refused).toMatchObject({ status: 503 });
    // Another loopback address is another client.
    await connect({}, '127.0.0.2');
    expect(server.api.events.clients).toHaveLength(17);
    // A slot given back can be taken again.
    clients.shift()!.close();
    const deadline = Date.now() + 5_000;
    for (;;) {
      const c = await TestClient.connect(server.wsUrl).catch(() => undefined);
      if (c) {
        clients.push(c);
        break;
      }
      if (Date.now() > deadline) throw new Error('the slot was never given back');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('is configurable (maxClientsPerAddress) and the message says why', async () => {
    server = await startServer({ ws: { maxClientsPerAddress: 1 } });
    await connect();
    const res = await get('/v1/events', {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    expect(res.status).toBe(503);
    expect(res.body.error?.message).toMatch(/too many connections from .*127\.0\.0\.1 \(max 1 per address\)/);
  });
});
