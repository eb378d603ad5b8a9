// Shared pieces of the runtime tests: the model directory, a cached SynthAV clip with known events
// (made once per machine, reused by later runs), and a server started with fast reconnects.
//
// Models: the bundled directory when it has the trained LINK head; otherwise the bundled encoders
// with an untrained head of the same I/O contract, built here with the project's ONNX builder
// (random weights, real onnxruntime), so the plumbing is still tested and only the checks of what
// the parser finds are skipped (saying why).
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIO_ENCODER, VISUAL_ENCODER } from '../../src/models/encoders/index.js';
import { formatManifest } from '../../src/models/manifest.js';
import { linear } from '../../src/engine/nn/index.js';
import { Graph } from '../../src/engine/onnx/builder.js';
import { encodeModel } from '../../src/engine/onnx/proto.js';
import { demoClip, type DemoClip } from '../../src/runtime/demo-clip.js';
import { BUNDLED_MODEL_DIR } from '../../src/runtime/models.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/runtime/server.js';
import { LLP_CLASSES } from '../../src/datasets/llp.js';

/** A SynthAV clip the bundled head parses right (events within a second of the truth). */
export const CLIP = { seed: 7, index: 9, preset: 'easy' } as const;
/** Stands in for $XDG_CACHE_HOME, so the demo (which caches in $XDG_CACHE_HOME/avvp) finds the clip. */
export const CACHE_HOME = join(tmpdir(), 'avvp-test-cache');
export const CACHE = join(CACHE_HOME, 'avvp');

export function testClip(): Promise<DemoClip> {
  return demoClip({ ...CLIP, cacheDir: CACHE });
}

export interface TestModels {
  dir: string;
  /** False when models/ has no trained head yet: accuracy checks skip. */
  trained: boolean;
}

let cached: Promise<TestModels> | undefined;

export function testModels(): Promise<TestModels> {
  return (cached ??= (async () => {
    for (const name of await readdir(BUNDLED_MODEL_DIR)) {
      if (!name.endsWith('.json')) continue;
      const manifest = JSON.parse(await readFile(join(BUNDLED_MODEL_DIR, name), 'utf8')) as { kind?: string };
      if (manifest.kind === 'parser') return { dir: BUNDLED_MODEL_DIR, trained: true };
    }
    console.warn(`SKIPPING accuracy checks: ${BUNDLED_MODEL_DIR} has no parser head (npm run models:train)`);
    return { dir: await untrainedHeadModels(), trained: false };
  })());
}

/** The bundled encoders plus an untrained head with the parser contract, in a temp folder. */
async function untrainedHeadModels(): Promise<string> {
  const dir = join(tmpdir(), `avvp-test-models-${process.pid}`);
  await mkdir(dir, { recursive: true });
  for (const f of ['dsp-audio.json', 'dsp-audio.onnx', 'dsp-visual.json', 'dsp-visual.onnx'])
    await copyFile(join(BUNDLED_MODEL_DIR, f), join(dir, f));
  await writeUntrainedHead(dir, { audioDim: AUDIO_ENCODER.features, visualDim: VISUAL_ENCODER.features });
  return dir;
}

export interface UntrainedHeadOptions {
  audioDim: number;
  visualDim: number;
  /** Encoders to pin by name (the manifest's `encoders`); default: paired by feature sizes. */
  encoders?: { audio: string; visual: string };
}

/**
 * Writes `untrained-head.onnx` + manifest into `dir`: a parser with the runtime's I/O contract
 * (per modality [batch, 10, D] -> sigmoid(Linear) [batch, 10, 25]), random weights, real ONNX.
 */
export async function writeUntrainedHead(dir: string, o: UntrainedHeadOptions): Promise<void> {
  const WINDOW = 10;
  const g = new Graph({ name: 'untrained-head', seed: 1 });
  const classes = LLP_CLASSES.length;
  const audio = g.input('audio', g.float, ['batch', WINDOW, o.audioDim]);
  const visual = g.input('visual', g.float, ['batch', WINDOW, o.visualDim]);
  g.output(g.sigmoid(linear(g, audio, classes, { name: 'audio_head' })), 'audio_prob');
  g.output(g.sigmoid(linear(g, visual, classes, { name: 'visual_head' })), 'visual_prob');
  const bytes = encodeModel(g.toModel());
  await writeFile(join(dir, 'untrained-head.onnx'), bytes);
  const probs = (name: string) => ({ name, dtype: 'float32' as const, shape: ['batch', WINDOW, classes] });
  await writeFile(
    join(dir, 'untrained-head.json'),
    formatManifest({
      name: 'untrained-head',
      kind: 'parser',
      version: 'test',
      file: 'untrained-head.onnx',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      inputs: [
        { name: 'audio', dtype: 'float32', shape: ['batch', WINDOW, o.audioDim] },
        { name: 'visual', dtype: 'float32', shape: ['batch', WINDOW, o.visualDim] },
      ],
      outputs: [probs('audio_prob'), probs('visual_prob')],
      classes: [...LLP_CLASSES],
      thresholds: 0.5,
      features: { audio: o.audioDim, visual: o.visualDim },
      ...(o.encoders ? { encoders: o.encoders } : {}),
    }),
  );
}

export function startTestServer(models: string, o: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    models,
    lookahead: 2,
    queue: 2,
    processMetrics: false,
    // Reconnect within a second of a source coming back, so recovery tests stay short.
    media: { backoff: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 } },
    ...o,
  });
}
