// `avvp serve` as a real process: flag and config errors name what is wrong; a running server
// answers HTTP and WebSocket clients and stops gracefully on SIGTERM.
import { chmod, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAvvp as avvp, RunningCli } from '../helpers/cli.js';
import { testClip, testModels } from '../runtime/fixtures.js';
import { TestClient, until } from '../sinks/helpers.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-serve-');

let dir: string;
beforeAll(async () => {
  dir = await tmp();
});

async function config(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

// Every flag and config rule is tested in tests/runtime/config.test.ts; here, that the CLI reports them.
describe('avvp serve: bad flags and configuration', () => {
  it('a URL as a stream name is refused without echoing its credentials (exit 2)', async () => {
    const r = await avvp(['serve', '--source', 'rtsp://admin:secret@10.0.0.5/live=1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--source: stream name looks like a URL/);
    expect(r.stderr).not.toMatch(/secret/);
    expect(r.stderr).toMatch(/Run 'avvp serve --help' for usage/);
  });

  it('decoder flags out of range name the flag (exit 2)', async () => {
    const nice = await avvp(['serve', '--decode-nice', '20']);
    expect(nice.code).toBe(2);
    expect(nice.stderr).toMatch(/--decode-nice/);
    const threads = await avvp(['serve', '--decode-threads', '0']);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--decode-threads/);
    const providers = await avvp(['serve', '--providers', 'gpu']);
    expect(providers.code).toBe(2);
    expect(providers.stderr).toMatch(/--providers: unknown execution provider 'gpu'/);
  });

  it('a config error names the file and the key (exit 2)', async () => {
    const r = await avvp(['serve', '--config', await config('unknown.yaml', 'lookahed: 1\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown\.yaml: lookahed: unknown key; allowed: host, port/);
  });

  it('a missing or headless model directory is a clear error (exit 1)', async () => {
    const models = await avvp(['serve', '--models', join(dir, 'no-models'), '--port', '0']);
    expect(models.code).toBe(1);
    expect(models.stderr).toMatch(/model directory '.*no-models' does not exist: check the path, or/);
    const empty = await avvp(['serve', '--models', dir, '--port', '0']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no parser head \(a manifest of kind "parser"\)/);
  });
});

/** A failed start: the process exits by itself, soon, with one error line and no stack trace. */
async function failsCleanly(args: string[], code: number, line: RegExp, env: NodeJS.ProcessEnv = {}) {
  const began = Date.now();
  const r = await avvp(args, { timeoutMs: 20_000, env });
  expect(r.code, r.stderr).toBe(code);
  expect(Date.now() - began).toBeLessThan(15_000);
  const lines = r.stderr.split('\n');
  expect(
    lines.filter((l) => line.test(l)),
    r.stderr,
  ).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
  return r;
}

describe('avvp serve: every startup failure exits with one line and leaves no process behind', () => {
  it('a blank token (--token, AVVP_TOKEN, --token-file) is a usage error (exit 2)', async () => {
    await failsCleanly(
      ['serve', '--token', ' ', '--port', '0'],
      2,
      /^avvp serve: --token: the token must not be empty/,
    );
    await failsCleanly(['serve', '--port', '0'], 2, /^avvp serve: AVVP_TOKEN: the token must not be empty/, {
      AVVP_TOKEN: '  ',
    });
    const blank = await config('blank-token', '   \nsecond line\n');
    await failsCleanly(
      ['serve', '--token-file', blank, '--port', '0'],
      2,
      /^avvp serve: --token-file: the token must not be empty/,
    );
    await failsCleanly(
      ['serve', '--token', 'a b', '--port', '0'],
      2,
      /--token: the token must not contain spaces/,
    );
    await failsCleanly(
      ['serve', '--token-file', join(dir, 'none')],
      2,
      /--token-file: cannot read '.*none' \(ENOENT\)/,
    );
    await failsCleanly(
      ['serve', '--config', await config('blank-token.yaml', "token: ' '\n")],
      2,
      /blank-token\.yaml: token: the token must not be empty/,
    );
  }, 60_000);

  it('a bad model directory (exit 1)', async () => {
    await failsCleanly(
      ['serve', '--models', join(dir, 'nothing-here'), '--port', '0'],
      1,
      /^avvp serve: model directory/,
    );
  }, 30_000);

  it('a port in use (exit 1): the worker threads started before are closed', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      await failsCleanly(
        ['serve', '--port', String(port), '--models', (await testModels()).dir],
        1,
        new RegExp(`^avvp serve: port ${port} on 127.0.0.1 is already in use; choose another port$`),
      );
    } finally {
      busy.close();
    }
  }, 30_000);

  it('startServer closes the inference pool when a later step throws, so the process can exit', async () => {
    // A process that starts a server with a broken option, catches the error and does nothing else:
    // it exits by itself only if nothing (worker threads, sockets) was left running.
    const models = (await testModels()).dir;
    const script =
      "import { startServer } from './src/runtime/server.ts';" +
      `startServer({ ...${JSON.stringify({ host: '127.0.0.1', port: 0, lookahead: 1, queue: 2, models })},` +
      " ws: { maxClients: 0 } }).then(() => console.log('started'), (e) => console.log('failed: ' + e.message));";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    const exited = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
    ]);
    if (exited === 'hung') child.kill('SIGKILL');
    expect(out).toMatch(/failed: maxClients must be an integer >= 1/);
    expect(exited).toBe(0);
  }, 30_000);
});

describe('avvp serve: numbers are decimal integers, YAML values are quoted as written', () => {
  it.each([
    [['--port', '-1'], /--port must be >= 0 \(negative values are not allowed\), got -1/],
    [['--port', '0x10'], /--port must be a number written in decimal digits, got '0x10'/],
    [['--port', '1e3'], /--port must be an integer, got '1e3'/],
    [['--queue', '2.5'], /--queue must be an integer, got '2.5'/],
    [['--workers', ' 2'], /--workers must be a number, got ' 2'/],
    [['--port', 'Infinity'], /--port must be a number, got 'Infinity'/],
    [['--max-clients-per-address', '0'], /--max-clients-per-address must be >= 1, got 0/],
  ])('%j is refused (exit 2)', async (args, message) => {
    const r = await avvp(['serve', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/ambiguous/);
  });

  it('queue: .inf is reported as .inf, not null', async () => {
    const r = await avvp(['serve', '--config', await config('inf.yaml', 'queue: .inf\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inf\.yaml: queue: must be an integer in \[1, 1000\], got \.inf/);
  });
});

describe('avvp serve: security flags', () => {
  it('refuses a non-loopback --host without a token, with one line saying what to set (exit 2)', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await failsCleanly(
        ['serve', '--host', host, '--port', '0'],
        2,
        /^avvp serve: --host .* is reachable from other machines but no token is set: set AVVP_TOKEN or --token-file FILE \(or pass --insecure-no-token/,
      );
    }
  }, 30_000);

  it('refuses bad allow-lists and source policies (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--allow-host', 'evil.example:80'], /--allow-host: 'evil\.example:80' is not a host name/],
      [
        ['--allow-origin', 'https://x.example/path'],
        /--allow-origin: 'https:\/\/x\.example\/path' is not an origin/,
      ],
      [['--allow-scheme', 'RTSP://'], /--allow-scheme: 'RTSP:\/\/' is not a URL scheme/],
      [['--source-dir', join(dir, 'missing-dir')], /--source-dir: '.*missing-dir' does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = await avvp(['serve', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  }, 30_000);
});

describe('avvp serve: tokens out of argv, and exposure on purpose', () => {
  let cli: RunningCli | undefined;
  afterAll(() => cli?.kill());

  async function stop(running: RunningCli) {
    running.signal('SIGTERM');
    expect(await running.exited).toBe(0);
  }

  it('reads AVVP_TOKEN on 0.0.0.0, and requires it', async () => {
    const models = (await testModels()).dir;
    process.env.AVVP_TOKEN = 'env-token-1';
    try {
      cli = new RunningCli(['serve', '--host', '0.0.0.0', '--port', '0', '--models', models]);
    } finally {
      delete process.env.AVVP_TOKEN;
    }
    const [, port] = await cli.waitFor(/listening on http:\/\/0\.0\.0\.0:(\d+)/);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/v1/streams`)).status).toBe(401);
    const ok = await fetch(`${base}/v1/streams`, { headers: { Authorization: 'Bearer env-token-1' } });
    expect(ok.status).toBe(200);
    expect(cli.stderr).not.toMatch(/WARNING|visible to every local user/);
    await stop(cli);
  }, 60_000);

  it('reads --token-file (first line, trimmed) and warns when every user can read the file', async () => {
    const models = (await testModels()).dir;
    const file = await config('token.txt', '  file-token-2  \nignored\n');
    await chmod(file, 0o644);
    cli = new RunningCli(['serve', '--token-file', file, '--port', '0', '--models', models]);
    const [, base] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(cli.stderr).toMatch(/warning: token file '.*token\.txt' is readable by every user; run chmod 600/);
    const ok = await fetch(`${base}/v1/streams`, { headers: { Authorization: 'Bearer file-token-2' } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${base}/v1/streams`, { headers: { Authorization: 'Bearer ignored' } })).status).toBe(
      401,
    );
    await stop(cli);
    await chmod(file, 0o600);
    cli = new RunningCli(['serve', '--token-file', file, '--port', '0', '--models', models]);
    await cli.waitFor(/listening on/);
    expect(cli.stderr).not.toMatch(/readable by every user/);
    await stop(cli);
  }, 60_000);

  it('--token still works but warns that ps shows it', async () => {
    const models = (await testModels()).dir;
    cli = new RunningCli(['serve', '--token', 'argv-token', '--port', '0', '--models', models]);
    await cli.waitFor(/listening on/);
    expect(cli.stderr).toMatch(
      /warning: --token is visible to every local user through ps; use AVVP_TOKEN or --token-file/,
    );
    await stop(cli);
  }, 60_000);

  it('--insecure-no-token starts on 0.0.0.0 with a loud warning', async () => {
    const models = (await testModels()).dir;
    cli = new RunningCli([
      'serve',
      '--host',
      '0.0.0.0',
      '--insecure-no-token',
      '--port',
      '0',
      '--models',
      models,
    ]);
    await cli.waitFor(/listening on http:\/\/0\.0\.0\.0:\d+/);
    expect(cli.stderr).toMatch(/WARNING: listening on 0\.0\.0\.0 WITHOUT A TOKEN \(--insecure-no-token\)/);
    await stop(cli);
  }, 60_000);
});

describe('avvp serve: a running server', () => {
  let cli: RunningCli;
  afterAll(() => cli?.kill());

  it('serves a file from the config, answers clients, and stops gracefully on SIGTERM', async () => {
    const [clip, models] = await Promise.all([testClip(), testModels()]);
    const file = await config(
      'serve.yaml',
      `port: 0\nmodels: ${models.dir}\nstreams:\n  clip: ${clip.file}\n`,
    );
    cli = new RunningCli(['serve', '--config', file, '--lookahead', '1']);
    const [, base] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(cli.stdout).toMatch(/events {3}ws:\/\/127\.0\.0\.1:\d+\/v1\/events/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Where each model runs, in the log and in /metrics (this machine has no GPU: the CPU).
    expect(cli.stderr).toMatch(/model head runs on cpu/);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
      /avvp_model_provider\{model="head",provider="cpu"\} 1/,
    );
    const client = await TestClient.connect(`${base!.replace('http', 'ws')}/v1/events`);
    const hello = client.received[0]!;
    expect(hello.type === 'hello' && hello.streams).toEqual(['clip']);
    await client.subscribe({ types: ['segment'] });
    await until(
      () => client.data().some((m) => m.type === 'segment' && m.stream === 'clip'),
      'a segment',
      30_000,
    );
    cli.signal('SIGTERM');
    expect(await client.closed()).toBe(1001);
    expect(await cli.exited).toBe(0);
    expect(cli.stderr).toMatch(/SIGTERM: stopping streams/);
  }, 60_000);
});
