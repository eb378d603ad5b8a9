// Issue 13, item 5 (in part): a server runs at most maxStreams streams; POST /v1/streams beyond the
// limit is answered 429 and starts nothing, and a slot freed by DELETE can be used again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/runtime/server.js';
import { DEFAULT_SOURCE_POLICY } from '../../src/streams/sourcePolicy.js';
import { makeTestMedia, tempDir } from '../helpers/media.js';
import { startTestServer, testModels } from './fixtures.js';

describe('maxStreams', () => {
  const tmp = tempDir('avvp-stream-limit-');
  let server: RunningServer;

  const post = (name: string) =>
    fetch(`${server.urls.base}/v1/streams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, source: tmp.file('clip.mp4') }),
    });

  beforeAll(async () => {
    await makeTestMedia(tmp.file('clip.mp4'), { seconds: 30 });
    server = await startTestServer((await testModels()).dir, {
      maxStreams: 2,
      sourcePolicy: { ...DEFAULT_SOURCE_POLICY, fileDirs: [tmp.dir] },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    tmp.remove();
  }, 20_000);

  it('answers 429 beyond the limit, adds nothing, and frees the slot on DELETE', async () => {
    expect((await post('a')).status).toBe(201);
    expect((await post('b')).status).toBe(201);
    const refused = await post('c');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /at most 2 streams \(maxStreams\)/,
    );
    expect(server.runtime.list().map((s) => s.name)).toEqual(['a', 'b']);
    expect((await fetch(`${server.urls.base}/v1/streams/a`, { method: 'DELETE' })).status).toBe(204);
    expect((await post('c')).status).toBe(201);
  }, 30_000);
});
