import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatManifest, type ModelManifest } from '../../src/models/manifest.js';
import { checkCompatibility, listProblems, loadModelDir, ModelDirError } from '../../src/models/registry.js';
import { clipVisionLike } from './fixtures/tiny-exports.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-registry-');

const io = {
  inputs: [{ name: 'x', dtype: 'float32' as const, shape: ['batch', 4] }],
  outputs: [{ name: 'y', dtype: 'float32' as const, shape: ['batch', 4] }],
};

function manifest(
  name: string,
  kind: ModelManifest['kind'],
  extra: Partial<ModelManifest> = {},
): ModelManifest {
  return { name, kind, version: '1', file: `${name}.onnx`, sha256: '0'.repeat(64), ...io, ...extra };
}

/** Writes a manifest and (unless `bytes` is null) its file, with the right sha256. */
async function put(
  dir: string,
  m: ModelManifest,
  bytes: Buffer | null = Buffer.from(`weights of ${m.name}`),
) {
  const sha256 = bytes ? createHash('sha256').update(bytes).digest('hex') : m.sha256;
  if (bytes) await writeFile(join(dir, m.file), bytes);
  await writeFile(join(dir, `${m.name}.json`), formatManifest({ ...m, sha256 }));
}

const dspAudio = manifest('dsp-audio', 'audio-encoder', {
  features: { audio: 64 },
  preprocessing: { sampleRate: 16000 },
});
const dspVisual = manifest('dsp-visual', 'visual-encoder', {
  features: { visual: 48, visualMap: [7, 7, 12] },
  preprocessing: { fps: 8 },
});
const clap = manifest('clap-audio', 'audio-encoder', {
  features: { audio: 512 },
  preprocessing: { sampleRate: 48000 },
});

describe('loadModelDir', () => {
  it('loads manifests, verifies hashes and pairs heads with encoders', async () => {
    const dir = await tmp();
    await put(dir, dspAudio);
    await put(dir, dspVisual);
    await put(dir, clap);
    await put(
      dir,
      manifest('link', 'parser', {
        features: { audio: 512, visual: 48 },
        preprocessing: { sampleRate: 48000, fps: 8 },
      }),
    );
    await put(dir, manifest('fnac', 'localizer', { features: { audio: 64, visualMap: [7, 7, 12] } }));
    const loaded = await loadModelDir(dir);
    expect(loaded.models.map((m) => [m.manifest.name, m.status])).toEqual([
      ['clap-audio', 'ok'],
      ['dsp-audio', 'ok'],
      ['dsp-visual', 'ok'],
      ['fnac', 'ok'],
      ['link', 'ok'],
    ]);
    expect(loaded.pairings).toEqual([
      { head: 'fnac', audio: 'dsp-audio', visual: 'dsp-visual' },
      { head: 'link', audio: 'clap-audio', visual: 'dsp-visual' },
    ]);
    expect(listProblems(loaded)).toEqual([]);
  });

  it('reports missing files, hash mismatches, invalid and duplicate manifests together', async () => {
    const dir = await tmp();
    await put(dir, dspAudio);
    await put(dir, clap, null);
    await put(dir, dspVisual);
    await writeFile(join(dir, 'dsp-visual.onnx'), 'tampered');
    await writeFile(join(dir, 'broken.json'), '{"name": "x", "kind": "parser"}');
    await writeFile(join(dir, 'zz-copy.json'), formatManifest({ ...dspAudio, sha256: 'f'.repeat(64) }));
    await mkdir(join(dir, 'notes.json'));
    const loaded = await loadModelDir(dir);
    const byName = Object.fromEntries(loaded.models.map((m) => [m.manifest.name, m]));
    expect(byName['dsp-audio'].status).toBe('ok');
    expect(byName['clap-audio'].status).toBe('missing');
    expect(byName['clap-audio'].problem).toBe(
      `${join(dir, 'clap-audio.onnx')} (named by ${join(dir, 'clap-audio.json')}) is missing`,
    );
    expect(byName['dsp-visual'].status).toBe('sha256-mismatch');
    expect(byName['dsp-visual'].problem).toMatch(
      /dsp-visual\.onnx does not match .*dsp-visual\.json: sha256 is [0-9a-f]{64}/,
    );
    const problems = listProblems(loaded).join('\n');
    expect(problems).toContain(`${join(dir, 'broken.json')}: field "version" is missing`);
    expect(problems).toContain(`${join(dir, 'notes.json')}: cannot read manifest (EISDIR)`);
    expect(problems).toContain(`name "dsp-audio" is already used by ${join(dir, 'dsp-audio.json')}`);
  });

  it('skips hashing when asked, still noticing missing files', async () => {
    const dir = await tmp();
    await put(dir, dspAudio);
    await put(dir, clap, null);
    const loaded = await loadModelDir(dir, { checkHashes: false });
    expect(loaded.models.map((m) => m.status)).toEqual(['missing', 'unchecked']);
  });

  it('says clearly when the directory is absent, not a folder, or empty', async () => {
    const dir = await tmp();
    await expect(loadModelDir(join(dir, 'nope'))).rejects.toThrow(ModelDirError);
    await expect(loadModelDir(join(dir, 'nope'))).rejects.toThrow(/model directory '.*nope' does not exist/);
    await writeFile(join(dir, 'file'), '');
    await expect(loadModelDir(join(dir, 'file'))).rejects.toThrow(/is not a directory/);
    const empty = await loadModelDir(dir);
    expect(listProblems(empty)).toEqual([
      `${dir} has no model manifests (*.json): fetch one with 'avvp models fetch <name>'`,
    ]);
    await rm(dir, { recursive: true });
  });
});

describe('loadModelDir with validate', () => {
  it('marks files whose I/O does not match their manifest, or that onnxruntime cannot load', async () => {
    const dir = await tmp();
    const bytes = Buffer.from(clipVisionLike());
    const clipIo = {
      inputs: [{ name: 'pixel_values', dtype: 'float32' as const, shape: ['batch', 3, 224, 224] }],
      outputs: [{ name: 'image_embeds', dtype: 'float32' as const, shape: ['batch', 512] }],
    };
    await put(dir, manifest('clip', 'visual-encoder', { ...clipIo, features: { visual: 512 } }), bytes);
    await put(dir, manifest('wrong-io', 'visual-encoder', { features: { visual: 512 } }), bytes);
    await put(dir, manifest('not-onnx', 'visual-encoder', { ...clipIo, features: { visual: 512 } }));
    const loaded = await loadModelDir(dir, { validate: true });
    expect(loaded.models.map((m) => [m.manifest.name, m.status])).toEqual([
      ['clip', 'ok'],
      ['not-onnx', 'invalid'],
      ['wrong-io', 'invalid'],
    ]);
    const problems = listProblems(loaded).join('\n');
    expect(problems).toMatch(/not-onnx\.onnx is not (a valid ONNX file|an ONNX model)/);
    expect(problems).toMatch(
      /wrong-io\.onnx does not match its manifest: input 'x' is missing from the file/,
    );
  });
});

describe('checkCompatibility', () => {
  it('names the head, the need and why each encoder does not fit', () => {
    const head = manifest('link', 'parser', {
      features: { audio: 128, visual: 48, visualMap: [7, 7, 16] },
      preprocessing: { sampleRate: 16000, fps: 4 },
    });
    const { pairings, problems } = checkCompatibility([dspAudio, clap, dspVisual, head], 'models');
    expect(pairings).toEqual([]);
    expect(problems).toEqual([
      "parser 'link' needs 128-d audio features at 16000 Hz, but 'dsp-audio' provides 64-d audio features; " +
        "'clap-audio' provides 512-d audio features and runs at 48000 Hz",
      "parser 'link' needs 48-d visual features and a 7x7x16 visual map at 4 fps, but 'dsp-visual' provides a 7x7x12 visual map and runs at 8 fps",
    ]);
  });

  it('honours a head pinned to a named encoder', () => {
    const pinned = (audio: string) =>
      manifest('emb', 'embedder', { features: { audio: 64 }, encoders: { audio } });
    expect(checkCompatibility([dspAudio, clap, pinned('dsp-audio')]).pairings).toEqual([
      { head: 'emb', audio: 'dsp-audio' },
    ]);
    expect(checkCompatibility([dspAudio, pinned('clap-audio')], 'models').problems).toEqual([
      "embedder 'emb' needs 64-d audio features from 'clap-audio' (its encoders.audio), which is not in models",
    ]);
    expect(checkCompatibility([dspAudio, dspVisual, pinned('dsp-visual')]).problems).toEqual([
      "embedder 'emb' needs 64-d audio features from 'dsp-visual' (its encoders.audio), but 'dsp-visual' is a visual-encoder",
    ]);
  });

  it('reports a head with no encoder of the kind, and encoders that declare no features', () => {
    const head = manifest('cls', 'classifier', { features: { visual: 512 } });
    const bare = manifest('bare', 'audio-encoder');
    expect(checkCompatibility([head, bare], 'models').problems).toEqual([
      "audio encoder 'bare' does not declare features.audio, so no head can be paired with it",
      "classifier 'cls' needs 512-d visual features, but models has no visual-encoder",
    ]);
  });
});
