// `avvp demo` (what `npm start` runs) as a real process, bounded with --seconds.
import { describe, expect, it } from 'vitest';
import { runAvvp as avvp } from '../helpers/cli.js';
import { CACHE_HOME, testClip, testModels } from '../runtime/fixtures.js';

describe('avvp demo', () => {
  it('serves the looping clip and prints URLs, the truth and live events that match it', async () => {
    // The demo finds the clip in the cache (same clip, same cache folder).
    const [, models] = await Promise.all([testClip(), testModels()]);
    const r = await avvp(['demo', '--seconds', '16', '--port', '0', '--models', models.dir], {
      env: { XDG_CACHE_HOME: CACHE_HOME },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/clip {5}\S+demo-easy-7-9\.mp4 \(10 s, cached/);
    expect(r.stdout).toMatch(/events {3}ws:\/\/127\.0\.0\.1:\d+\/v1\/events/);
    expect(r.stdout).toMatch(/metrics {2}http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(r.stdout).toMatch(/truth {4}\S+ (audio|visual)/);
    expect(r.stdout).toMatch(/stream demo up/);
    if (!models.trained) return; // an untrained head finds nothing in particular (testModels warned)
    // At least one event started and matched the truth.
    expect(r.stdout).toMatch(
      /start {2}(audio|visual|audio-visual)\s+\S+\s+\d+-\d+\s+\d+-\d+\s+\d\.\d\d {2}yes \(/,
    );
    const summary = /(\d+) events started, (\d+) within a second of a true onset/.exec(r.stdout);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBeGreaterThan(0);
  }, 60_000);

  it('refuses bad flags', async () => {
    const r = await avvp(['demo', '--preset', 'nightmare']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--preset must be one of easy, default, hard, got 'nightmare'/);
  });
});
