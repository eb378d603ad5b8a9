// `avvp serve` as a real process: flag and config errors name what is wrong; a running server
// answers HTTP and WebSocket clients and stops gracefully on SIGTERM.
import { writeFile } from 'node:fs/promises';
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
    expect(models.stderr).toMatch(/model directory '.*no-models' does not exist/);
    const empty = await avvp(['serve', '--models', dir, '--port', '0']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no parser head \(a manifest of kind "parser"\)/);
  });
});

describe('avvp serve: a port in use', () => {
  it('is a clear error (exit 1), not a crash', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await avvp(['serve', '--port', String(port), '--models', (await testModels()).dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`avvp serve: port ${port} on 127.0.0.1 is already in use; choose another port`),
      );
    } finally {
      busy.close();
    }
  }, 30_000);
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
