// The bundled model files: reproducible builds, committed files up to date, loadable by the
// registry, and the encoder functions usable as the encode operator's encoders.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { formatManifest } from '../../../src/models/manifest.js';
import { loadModelDir } from '../../../src/models/registry.js';
import {
  BUNDLED_MODELS,
  buildDspAudioEncoder,
  buildDspVisualEncoder,
  dspAudioEncoder,
  dspVisualEncoder,
  sessionRunner,
} from '../../../src/models/encoders/index.js';
import { InferencePool } from '../../../src/pool/pool.js';
import { openSession } from '../../../src/engine/session.js';
import { encodeBatch, type Encoders } from '../../../src/operators/encode.js';
import { synthClip } from '../../../src/synth/clip.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-models-');

const run = promisify(execFile);
const MODELS = new URL('../../../models/', import.meta.url).pathname;

describe('bundled DSP encoder files', () => {
  test('building twice gives the same bytes', () => {
    expect(Buffer.from(buildDspAudioEncoder()).equals(Buffer.from(buildDspAudioEncoder()))).toBe(true);
    expect(Buffer.from(buildDspVisualEncoder()).equals(Buffer.from(buildDspVisualEncoder()))).toBe(true);
  });

  test('the committed models/ files equal a fresh build (run `npm run models:build` if this fails)', async () => {
    for (const build of BUNDLED_MODELS) {
      const { manifest, bytes } = build();
      const onnx = await readFile(join(MODELS, manifest.file));
      expect(onnx.equals(Buffer.from(bytes)), `${manifest.file} is stale`).toBe(true);
      expect(await readFile(join(MODELS, `${manifest.name}.json`), 'utf8')).toBe(formatManifest(manifest));
    }
  });

  test('the manifests name the inputs and outputs the ONNX files have', async () => {
    for (const build of BUNDLED_MODELS) {
      const { manifest, bytes } = build();
      const { session } = await openSession(bytes, { providers: ['cpu'] });
      expect([...session.inputNames]).toEqual(manifest.inputs.map((t) => t.name));
      expect([...session.outputNames].sort()).toEqual(manifest.outputs.map((t) => t.name).sort());
      await session.release();
    }
  });

  test('they stay small (under 1 MB together)', () => {
    const total = BUNDLED_MODELS.reduce((n, build) => n + build().bytes.length, 0);
    expect(total).toBeLessThan(1_000_000);
  });

  test('the registry finds both with matching sha256', async () => {
    const dir = await loadModelDir(MODELS);
    for (const name of ['dsp-audio', 'dsp-visual']) {
      const entry = dir.models.find((m) => m.manifest.name === name);
      expect(entry?.status, name).toBe('ok');
    }
  });

  test('npm run models:build writes the same files into --dir', async () => {
    const dir = await tmp();
    const { stdout } = await run('npx', ['tsx', 'scripts/build-models.ts', '--dir', dir]);
    expect(stdout).toMatch(/wrote .*dsp-audio\.onnx/);
    for (const name of ['dsp-audio.onnx', 'dsp-audio.json', 'dsp-visual.onnx', 'dsp-visual.json']) {
      expect((await readFile(join(dir, name))).equals(await readFile(join(MODELS, name))), name).toBe(true);
    }
  });

  test('models:build with --dir but no folder fails with a usage message', async () => {
    const failed = await run('npx', ['tsx', 'scripts/build-models.ts', '--dir']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toMatch(/--dir needs a folder/);
  });
});

describe('DSP encoders in the encode operator', () => {
  test('SynthAV segments (one without audio) become Features with the documented sizes', async () => {
    const audio = await openSession(join(MODELS, 'dsp-audio.onnx'), {
      providers: ['cpu'],
      intraOpThreads: 1,
    });
    const visual = await openSession(join(MODELS, 'dsp-visual.onnx'), {
      providers: ['cpu'],
      intraOpThreads: 1,
    });
    try {
      const encoders: Encoders = {
        audio: dspAudioEncoder(sessionRunner(audio.session)),
        visual: dspVisualEncoder(sessionRunner(visual.session)),
      };
      const clip = synthClip({ seed: 11, duration: 3 }, 0);
      const segments = clip.segments();
      segments[1] = { ...segments[1], audio: null };
      const features = await encodeBatch(encoders)(segments);
      expect(features.map((f) => f.index)).toEqual([0, 1, 2]);
      expect(features.map((f) => f.audio?.length)).toEqual([296, undefined, 296]);
      for (const f of features) {
        expect(f.visual).toHaveLength(91);
        expect(f.visualMap).toHaveLength(686);
        expect(f.mapShape).toEqual([7, 7, 14]);
        expect([...f.visual!, ...f.visualMap!].every(Number.isFinite)).toBe(true);
      }
    } finally {
      await audio.session.release();
      await visual.session.release();
    }
  });

  test('through the inference worker pool the encoders give what they give on this thread', async () => {
    const pool = await InferencePool.create({
      models: { 'dsp-audio': join(MODELS, 'dsp-audio.onnx'), 'dsp-visual': join(MODELS, 'dsp-visual.onnx') },
      size: 1,
      providers: ['cpu'],
    });
    const local = await openSession(join(MODELS, 'dsp-visual.onnx'), { providers: ['cpu'] });
    try {
      const segments = synthClip({ seed: 5, duration: 2 }, 1).segments();
      const pooledAudio = await dspAudioEncoder((feeds) => pool.run('dsp-audio', feeds))(segments);
      const pooledVisual = await dspVisualEncoder((feeds) => pool.run('dsp-visual', feeds))(segments);
      const localVisual = await dspVisualEncoder(sessionRunner(local.session))(segments);
      expect(pooledAudio.map((a) => a.length)).toEqual([296, 296]);
      pooledVisual.forEach((v, i) => {
        expect(Array.from(v.visual)).toEqual(Array.from(localVisual[i].visual));
        expect(Array.from(v.visualMap)).toEqual(Array.from(localVisual[i].visualMap));
      });
      // The caller's segments are intact: the pool transfers the stacked copies, not the frames.
      expect(segments[0].frames![0].length).toBe(224 * 224 * 3);
      expect(segments[0].audio!.length).toBe(16000);
    } finally {
      await pool.close();
      await local.session.release();
    }
  });
});
