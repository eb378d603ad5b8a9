import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatManifest, ManifestError, parseManifest, readManifest } from '../../src/models/manifest.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-manifest-');

const valid = {
  name: 'link-synthav',
  kind: 'parser',
  version: '1',
  file: 'link-synthav.onnx',
  sha256: 'AB'.repeat(32),
  inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', 10, 128] }],
  outputs: [{ name: 'probs', dtype: 'float32', shape: ['batch', 10, 3] }],
  classes: ['dog', 'car', 'speech'],
  thresholds: { dog: 0.5, car: 0.4 },
  preprocessing: { sampleRate: 16000, fps: 8 },
  features: { audio: 128, visual: 96, visualMap: [7, 7, 16] },
  encoders: { audio: 'dsp-audio' },
  provenance: { source: 'avvp train', seed: 3, sha256Source: 'export' },
  metrics: { segmentF1: 0.71 },
};

/** The message parseManifest throws for `valid` with `change` applied. */
function errorFor(change: (m: Record<string, unknown>) => void): string {
  const copy = structuredClone(valid) as Record<string, unknown>;
  change(copy);
  try {
    parseManifest(copy, 'models/x.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as Error).message;
  }
  throw new Error('expected parseManifest to throw');
}

describe('parseManifest', () => {
  it('accepts a complete manifest and lower-cases the sha256', () => {
    const m = parseManifest(valid, 'models/x.json');
    expect(m.sha256).toBe('ab'.repeat(32));
    expect(m.features?.visualMap).toEqual([7, 7, 16]);
    expect(m.provenance?.sha256Source).toBe('export');
    expect(parseManifest(JSON.parse(formatManifest(m)))).toEqual(m);
  });

  it('names the file and the field in every error', () => {
    expect(errorFor((m) => delete m.name)).toBe('models/x.json: field "name" is missing');
    expect(errorFor((m) => (m.kind = 'decoder'))).toMatch(
      /field "kind" must be one of audio-encoder, .*got "decoder"/,
    );
    expect(errorFor((m) => (m.sha256 = 'abc'))).toMatch(/field "sha256" must be 64 hex digits/);
    expect(errorFor((m) => (m.file = '../elsewhere.onnx'))).toMatch(/field "file" must be a path relative/);
    expect(errorFor((m) => (m.file = '/abs.onnx'))).toMatch(/field "file"/);
    expect(errorFor((m) => (m.inputs = []))).toMatch(/field "inputs" must list at least one tensor/);
    expect(errorFor((m) => ((m.inputs as { dtype: string }[])[0].dtype = 'float16'))).toMatch(
      /field "inputs\[0\].dtype" must be one of float32/,
    );
    expect(errorFor((m) => ((m.outputs as { shape: unknown[] }[])[0].shape[2] = 0))).toMatch(
      /field "outputs\[0\].shape\[2\]" must be a positive integer or a symbolic name/,
    );
    expect(errorFor((m) => (m.outputs = [...(m.outputs as object[]), ...(m.outputs as object[])]))).toMatch(
      /field "outputs" has the tensor name "probs" twice/,
    );
    expect(errorFor((m) => (m.thresholds = { cat: 0.5 }))).toMatch(
      /field "thresholds.cat" is not one of "classes"/,
    );
    expect(errorFor((m) => (m.thresholds = 1.5))).toMatch(/field "thresholds" must be <= 1/);
    expect(errorFor((m) => (m.features = { audio: 12.5 }))).toMatch(
      /field "features.audio" must be an integer/,
    );
    expect(errorFor((m) => (m.features = { visualMap: [7, 7] }))).toMatch(
      /field "features.visualMap" must be \[height/,
    );
    expect(errorFor((m) => (m.preprocessing = { sampleRate: -1 }))).toMatch(
      /"preprocessing.sampleRate" must be >= 1/,
    );
    expect(errorFor((m) => (m.preprocessing = { fps: 0 }))).toMatch(/"preprocessing.fps" must be > 0, got 0/);
    expect(errorFor((m) => (m.provenance = { command: 'x' }))).toMatch(
      /field "provenance.source" is missing/,
    );
    expect(errorFor((m) => (m.clases = []))).toMatch(/field "clases" is not a manifest field/);
    expect(errorFor((m) => (m.name = 'a/b'))).toMatch(/field "name" must use only letters/);
  });

  it('rejects a manifest that is not an object', () => {
    expect(() => parseManifest([1], 'm.json')).toThrow('m.json: the manifest must be a JSON object, got [1]');
  });

  it('reads files and reports invalid JSON with the path', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'good.json'), formatManifest(parseManifest(valid)));
    await writeFile(join(dir, 'bad.json'), '{"name": ');
    expect((await readManifest(join(dir, 'good.json'))).name).toBe('link-synthav');
    await expect(readManifest(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: not valid JSON/);
    await expect(readManifest(join(dir, 'absent.json'))).rejects.toThrow(
      /absent\.json: cannot read manifest \(ENOENT\)/,
    );
    await writeFile(join(dir, 'huge.json'), Buffer.alloc(2 * 1024 * 1024, 32));
    await expect(readManifest(join(dir, 'huge.json'))).rejects.toThrow(
      /huge\.json: 2097152 bytes is too large for a manifest \(at most 1048576\)/,
    );
  });
});
