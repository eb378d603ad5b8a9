// The stream REST API against the attacks of issue 13 (items 1 and 3), on a real server (Runtime +
// HttpApi + ffmpeg): sources the policy does not allow are refused with 400 before any ffmpeg
// starts (no file written or read, no local service reached), allowed files still play, and a
// failing source's password shows nowhere (REST, WebSocket status, logs).
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/runtime/server.js';
import type { StatusMessage } from '../../src/sinks/protocol.js';
import { DEFAULT_SOURCE_POLICY } from '../../src/streams/sourcePolicy.js';
import { childPids, makeTestMedia, tempDir } from '../helpers/media.js';
import { TestClient, until } from '../sinks/helpers.js';
import { startTestServer, testModels } from './fixtures.js';

/** A local TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('POST /v1/streams under the source policy', () => {
  const tmp = tempDir('avvp-policy-e2e-');
  const media = tmp.file('media');
  const outside = tmp.file('outside');
  const victim = tmp.file('victim.txt');
  const logs: string[] = [];
  let server: RunningServer;
  let client: TestClient;

  const post = async (name: string, source: string) => {
    const res = await fetch(`${server.urls.base}/v1/streams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, source }),
    });
    return { status: res.status, body: (await res.json()) as { error?: { message: string } } };
  };

  beforeAll(async () => {
    mkdirSync(media);
    mkdirSync(outside);
    writeFileSync(victim, 'original\n');
    await makeTestMedia(`${outside}/clip.mp4`, { seconds: 3 });
    await makeTestMedia(`${media}/clip.mp4`, { seconds: 3 });
    symlinkSync(`${outside}/clip.mp4`, `${media}/escape.mp4`);
    const models = await testModels();
    server = await startTestServer(models.dir, {
      sourcePolicy: { ...DEFAULT_SOURCE_POLICY, fileDirs: [media] },
      log: (line) => logs.push(line),
    });
    client = await TestClient.connect(server.urls.events);
    await client.subscribe();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    tmp.remove();
  }, 20_000);

  it('refuses the lavfi file write: 400, no ffmpeg started, the file untouched', async () => {
    const r = await post('w', `lavfi:sine=d=1,ametadata=mode=print:file=${victim}`);
    expect(r.status).toBe(400);
    expect(r.body.error!.message).toMatch(/lavfi.*--allow-lavfi/);
    const r2 = await post('w2', `lavfi:testsrc=d=1,metadata=mode=print:file=${victim}`);
    expect(r2.status).toBe(400);
    expect(await childPids()).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(victim, 'utf8')).toBe('original\n');
    expect(server.runtime.list()).toEqual([]);
  });

  it('refuses the movie= read, local services and pseudo-protocols', async () => {
    const port = await closedPort();
    for (const [source, why] of [
      [`lavfi:movie=filename=${victim}:f=concat`, /lavfi/],
      ['tcp://127.0.0.1:22', /scheme 'tcp' is not allowed/],
      [`http://127.0.0.1:${port}/x`, /this machine/],
      [`http://localhost:${server.port}/v1/streams`, /this machine/],
      [`concat:${victim}`, /pseudo-protocol/],
      [`subfile:,,start,0,end,0,,:${victim}`, /pseudo-protocol/],
      [`-f lavfi`, /starts with "-"/],
    ] as const) {
      const r = await post('probe', source);
      expect(r.status, source).toBe(400);
      expect(r.body.error!.message, source).toMatch(why);
    }
    expect(await childPids()).toEqual([]);
  });

  it('opens files only inside the allowed folders, symbolic links resolved', async () => {
    const outsideFile = await post('out', `${outside}/clip.mp4`);
    expect(outsideFile.status).toBe(400);
    expect(outsideFile.body.error!.message).toMatch(/not a file inside the allowed folders/);
    expect((await post('up', `${media}/../outside/clip.mp4`)).status).toBe(400);
    expect((await post('esc', `${media}/escape.mp4`)).status).toBe(400);
    expect((await post('etc', '/etc/passwd')).status).toBe(400);

    expect((await post('ok', `${media}/clip.mp4`)).status).toBe(201);
    await until(
      () => client.data().some((m) => m.type === 'segment' && m.stream === 'ok'),
      'a segment',
      20_000,
    );
    expect((await fetch(`${server.urls.base}/v1/streams/ok`, { method: 'DELETE' })).status).toBe(204);
  }, 30_000);

  it('never shows the password of a failing http source (REST, WebSocket status, logs)', async () => {
    const port = await closedPort();
    const password = 'p@ss: w0rd?token';
    const source = `http://admin:${password}@127.0.0.1:${port}/cam.mjpg?api_key=KEY123`;
    // An operator's stream (config file): trusted, so it may name this machine.
    await server.runtime.addTrusted('leaky', source);
    const isDown = (m: { type: string; stream: string | null; state?: string }) =>
      m.type === 'status' && m.stream === 'leaky' && m.state === 'down';
    await until(() => client.received.some(isDown), 'leaky down', 20_000);
    const down = client.received.find(isDown) as StatusMessage;
    expect(down.reason).toMatch(
      /^cannot decode 'http:\/\/\*\*\*@127\.0\.0\.1:\d+\/cam\.mjpg\?api_key=\*\*\*': ffmpeg exited/,
    );

    const listed = await (await fetch(`${server.urls.base}/v1/streams/leaky`)).text();
    const everything = [
      JSON.stringify(client.received),
      listed,
      ...logs,
      JSON.stringify(server.runtime.list()),
    ];
    for (const text of everything) {
      expect(text).not.toContain('w0rd');
      expect(text).not.toContain('p@ss');
      expect(text).not.toContain('KEY123');
    }
    expect(listed).toContain('http://***@127.0.0.1');
    expect(logs.join('\n')).toMatch(/stream leaky: down/);
    await server.runtime.remove('leaky');
  }, 30_000);
});
