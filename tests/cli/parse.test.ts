// `avvp parse` as a real process on a SynthAV MP4 with known events, and its failures.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { truthSummary, type DemoClip } from '../../src/runtime/demo-clip.js';
import { runAvvp as avvp } from '../helpers/cli.js';
import { testClip, testModels, type TestModels } from '../runtime/fixtures.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-parse-');

let clip: DemoClip;
let models: TestModels;
let MODELS: string;
beforeAll(async () => {
  [clip, models] = await Promise.all([testClip(), testModels()]);
  MODELS = models.dir;
}, 60_000);

interface Printed {
  id: string;
  label: string;
  modality: string;
  start: number;
  end: number;
  confidence: number;
}

describe('avvp parse', () => {
  it("prints the clip's known events, as JSON lines and as readable lines", async (ctx) => {
    if (!models.trained) return ctx.skip('no trained head in models/');
    const json = await avvp(['parse', clip.file, '--jsonl', '--models', MODELS]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Printed);
    const truth = truthSummary(clip.clip);
    expect(events).toHaveLength(truth.length);
    for (const t of truth) {
      const e = events.find((x) => x.label === t.label && x.modality === t.modality);
      expect(e, `${t.label} ${t.modality}`).toBeDefined();
      expect(Math.abs(e!.start - t.span.start)).toBeLessThanOrEqual(1);
      expect(Math.abs(e!.end - t.span.end)).toBeLessThanOrEqual(1);
      expect(e!.confidence).toBeGreaterThan(0.5);
      expect(e!.id).toBe(`input:${t.modality}:${t.label}:${e!.start}`);
    }

    const readable = await avvp(['parse', clip.file, '--models', MODELS, '--lookahead', '0']);
    expect(readable.code).toBe(0);
    for (const line of readable.stdout.trim().split('\n')) {
      expect(line).toMatch(/^\s*\d+\.\d-\s*\d+\.\d s (audio|visual|audio-visual)\s+\S+\s+[01]\.\d\d$/);
    }
  }, 60_000);

  it('fails with a clear message: no argument, bad flag, missing file, not media, no head', async () => {
    const none = await avvp(['parse']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give the file or URL to parse/);
    const lookahead = await avvp(['parse', 'x.mp4', '--lookahead', '1.5']);
    expect(lookahead.code).toBe(2);
    expect(lookahead.stderr).toMatch(/--lookahead must be an integer, got '1.5'/);

    const missing = await avvp(['parse', '/no/such/clip.mp4', '--models', MODELS]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file: '\/no\/such\/clip\.mp4'/);

    const dir = await tmp();
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'not a video\n');
    const notMedia = await avvp(['parse', text, '--models', MODELS]);
    expect(notMedia.code).toBe(1);
    expect(notMedia.stderr).toMatch(/cannot decode '.*notes\.mp4'/);

    const headless = await avvp(['parse', clip.file, '--models', dir]);
    expect(headless.code).toBe(1);
    expect(headless.stderr).toMatch(/no parser head/);
  }, 60_000);
});
