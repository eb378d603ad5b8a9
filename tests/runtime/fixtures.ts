// Shared pieces of the runtime tests: the bundled models, a cached SynthAV clip with known events
// (made once per machine, reused by later runs), and a server started with fast reconnects.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoClip, type DemoClip } from '../../src/runtime/demo-clip.js';
import { BUNDLED_MODEL_DIR } from '../../src/runtime/models.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/runtime/server.js';

export const MODELS = BUNDLED_MODEL_DIR;
/** A SynthAV clip the bundled head parses right (events within a second of the truth). */
export const CLIP = { seed: 7, index: 0, preset: 'easy' } as const;
/** Stands in for $XDG_CACHE_HOME, so the demo (which caches in $XDG_CACHE_HOME/avvp) finds the clip. */
export const CACHE_HOME = join(tmpdir(), 'avvp-test-cache');
export const CACHE = join(CACHE_HOME, 'avvp');

export function testClip(): Promise<DemoClip> {
  return demoClip({ ...CLIP, cacheDir: CACHE });
}

export function startTestServer(o: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    models: MODELS,
    lookahead: 2,
    queue: 2,
    processMetrics: false,
    // Reconnect within a second of a source coming back, so recovery tests stay short.
    media: { backoff: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 } },
    ...o,
  });
}
