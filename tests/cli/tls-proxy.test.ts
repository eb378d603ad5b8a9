// The reverse-proxy example of docs/security.md, run for real: nginx with a self-signed certificate
// terminates TLS in front of a real `avvp serve` on a temporary port; a WebSocket client and a REST
// client connect through it over TLS with the token, and the Host check still applies behind it.
// Skipped, saying why, where nginx or openssl is not installed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RunningCli } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { testModels } from '../runtime/fixtures.js';

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      execFileSync('test', ['-x', join(dir, cmd)]);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

const NGINX = which('nginx');
const OPENSSL = which('openssl');
const missing = [!NGINX && 'nginx', !OPENSSL && 'openssl'].filter(Boolean).join(' and ');
if (missing)
  console.warn(`tls-proxy.test.ts: skipped: ${missing} not installed (apt-get install nginx openssl)`);

const tmp = tempDirs('avvp-tls-');
const TOKEN = 'proxy-token-3';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function nginxConf(dir: string, listen: number, upstream: number): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  server {
    listen 127.0.0.1:${listen} ssl;
    server_name localhost;
    ssl_certificate     ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://127.0.0.1:${upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
      proxy_buffering off;
    }
  }
}
`;
}

function get(port: number, path: string, ca: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: 'localhost', servername: 'localhost', port, path, ca, headers, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(missing !== '')('avvp serve behind nginx with TLS (docs/security.md)', () => {
  let cli: RunningCli | undefined;
  let nginx: ChildProcess | undefined;
  afterAll(async () => {
    cli?.kill();
    // SIGTERM (fast shutdown), not SIGKILL: the master must take its worker down with it.
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
  });

  it('serves the WebSocket and REST API over wss:// and https:// through the proxy', async () => {
    const dir = await tmp();
    execFileSync(
      OPENSSL!,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    const ca = await readFile(join(dir, 'cert.pem'), 'utf8');

    process.env.AVVP_TOKEN = TOKEN;
    try {
      cli = new RunningCli(['serve', '--port', '0', '--models', (await testModels()).dir]);
    } finally {
      delete process.env.AVVP_TOKEN;
    }
    const [, upstream] = await cli.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/);

    const listen = await freePort();
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, nginxConf(dir, listen, Number(upstream)));
    let nginxErr = '';
    nginx = spawn(NGINX!, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (t: string) => (nginxErr += t));
    // Wait until nginx answers (or fails to start).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const status = await get(listen, '/healthz', ca, {}).catch(() => 0);
      if (status === 200) break;
      if (nginx.exitCode !== null || Date.now() > deadline) {
        const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
        throw new Error(`nginx did not start (exit ${nginx.exitCode}): ${nginxErr}${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // REST through the proxy: the token is required; Host is forwarded and still checked.
    expect(await get(listen, '/v1/streams', ca, {})).toBe(401);
    expect(await get(listen, '/v1/streams', ca, { Authorization: `Bearer ${TOKEN}` })).toBe(200);
    expect(
      await get(listen, '/v1/streams', ca, { Authorization: `Bearer ${TOKEN}`, Host: 'evil.example' }),
    ).toBe(403);

    // WebSocket over TLS with the upgrade forwarded.
    const ws = new WebSocket(`wss://localhost:${listen}/v1/events`, {
      ca,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const hello = await new Promise<{ type: string }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(data.toString())));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    expect(hello.type).toBe('hello');
    ws.send(JSON.stringify({ op: 'subscribe' }));
    const ack = await new Promise<{ type: string }>((resolve) =>
      ws.once('message', (data) => resolve(JSON.parse(data.toString()))),
    );
    expect(ack.type).toBe('subscribed');
    // Without the token the upgrade is refused through the proxy too.
    const refused = new WebSocket(`wss://localhost:${listen}/v1/events`, { ca });
    const status = await new Promise<number>((resolve) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      refused.once('open', () => resolve(101));
      refused.once('error', () => resolve(0));
    });
    expect(status).toBe(401);
    ws.close();

    cli.signal('SIGTERM');
    expect(await cli.exited).toBe(0);
  }, 60_000);
});
