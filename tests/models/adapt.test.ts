// adaptExport on CLIP/CLAP-shaped random graphs installed the way `avvp models fetch` installs
// them: the segment encoders it writes load in the registry, validate against their manifests,
// and compute the pooled, L2-normalised embeddings of the export.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdaptError, adaptExport } from '../../src/models/adapters/adapt.js';
import { composePrefix } from '../../src/models/adapters/compose.js';
import { clipPixelPrefix } from '../../src/models/adapters/prefix.js';
import { readManifest } from '../../src/models/manifest.js';
import { Graph } from '../../src/engine/onnx/builder.js';
import { decodeModel, encodeModel } from '../../src/engine/onnx/proto.js';
import { listProblems, loadModelDir } from '../../src/models/registry.js';
import { validateModelFile } from '../../src/models/validate.js';
import { Rng } from '../../src/util/rng.js';
import {
  clapAudioLike,
  clipVisionLike,
  clipVisionWithTokensLike,
  installExport,
} from './fixtures/tiny-exports.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-adapt-');

async function run(file: string, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await tmp();
  await installExport(dir, 'clip-vit-b32-vision', clipVisionLike());
  await installExport(dir, 'clap-htsat-unfused-audio', clapAudioLike());
});

describe('adaptExport', () => {
  it('turns a CLIP vision export into a segment encoder: frames -> mean embedding, unit length', async () => {
    const F = 3;
    const out = await adaptExport(dir, 'clip-vit-b32-vision', { frames: F });
    const manifest = await readManifest(out.manifestPath);
    expect(manifest).toMatchObject({
      name: 'clip-vit-b32-vision-segment',
      kind: 'visual-encoder',
      inputs: [{ name: 'frames', dtype: 'uint8', shape: ['batch', F, 224, 224, 3] }],
      outputs: [{ name: 'visual_features', dtype: 'float32', shape: ['batch', 512] }],
      features: { visual: 512 },
      preprocessing: { fps: F, embedsNormalized: true },
    });
    await validateModelFile(out.filePath, manifest);

    const rng = new Rng(3);
    const B = 2;
    const frames = Uint8Array.from({ length: B * F * 224 * 224 * 3 }, () => rng.int(0, 256));
    const got = (await run(out.filePath, { frames: new ort.Tensor('uint8', frames, [B, F, 224, 224, 3]) }))
      .visual_features;
    expect(got.dims).toEqual([B, 512]);
    // Reference: every frame through prefix + export (B*F images), then the mean of each
    // segment's F raw embeddings, normalised, in float64.
    const perFrame = composePrefix(clipPixelPrefix().toModel(), decodeModel(clipVisionLike()));
    const session = await ort.InferenceSession.create(encodeModel(perFrame), { executionProviders: ['cpu'] });
    const raw = (await session.run({ frames: new ort.Tensor('uint8', frames, [B * F, 224, 224, 3]) }))
      .image_embeds.data as Float32Array;
    await session.release();
    const data = got.data as Float32Array;
    for (let b = 0; b < B; b++) {
      const mean = Array.from({ length: 512 }, (_, j) => {
        let s = 0;
        for (let k = 0; k < F; k++) s += raw[(b * F + k) * 512 + j];
        return s / F;
      });
      const norm = Math.hypot(...mean);
      for (let j = 0; j < 512; j++) expect(data[b * 512 + j]).toBeCloseTo(mean[j] / norm, 5);
    }
  });

  it('makes the patch tokens a 7x7 visual map when the CLIP export provides them', async () => {
    const own = await tmp();
    await installExport(own, 'clip-vit-b32-vision', clipVisionWithTokensLike());
    const F = 2;
    const out = await adaptExport(own, 'clip-vit-b32-vision', { frames: F });
    const manifest = await readManifest(out.manifestPath);
    expect(manifest.outputs).toEqual([
      { name: 'visual_features', dtype: 'float32', shape: ['batch', 512] },
      { name: 'visual_map', dtype: 'float32', shape: ['batch', 7, 7, 768] },
    ]);
    expect(manifest.features).toEqual({ visual: 512, visualMap: [7, 7, 768] });
    await validateModelFile(out.filePath, manifest);

    const rng = new Rng(8);
    const frames = Uint8Array.from({ length: F * 224 * 224 * 3 }, () => rng.int(0, 256));
    const map = (await run(out.filePath, { frames: new ort.Tensor('uint8', frames, [1, F, 224, 224, 3]) }))
      .visual_map;
    expect(map.dims).toEqual([1, 7, 7, 768]);
    // Reference: the per-frame tokens, class token dropped, averaged over the frames.
    const perFrame = composePrefix(clipPixelPrefix().toModel(), decodeModel(clipVisionWithTokensLike()));
    const session = await ort.InferenceSession.create(encodeModel(perFrame), { executionProviders: ['cpu'] });
    const tokens = (await session.run({ frames: new ort.Tensor('uint8', frames, [F, 224, 224, 3]) }))
      .last_hidden_state.data as Float32Array;
    await session.release();
    const got = map.data as Float32Array;
    for (let cell = 0; cell < 49; cell++)
      for (let d = 0; d < 768; d += 97) {
        const want = (tokens[(1 + cell) * 768 + d] + tokens[(50 + 1 + cell) * 768 + d]) / 2;
        expect(got[cell * 768 + d]).toBeCloseTo(want, 4);
      }
  });

  it('turns a CLAP audio export into a 48 kHz one-second encoder with unit-length output', async () => {
    const out = await adaptExport(dir, 'clap-htsat-unfused-audio');
    const manifest = await readManifest(out.manifestPath);
    expect(manifest).toMatchObject({
      kind: 'audio-encoder',
      inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', 48000] }],
      outputs: [{ name: 'audio_features', dtype: 'float32', shape: ['batch', 512] }],
      preprocessing: { sampleRate: 48000 },
      features: { audio: 512 },
    });
    const audio = Float32Array.from({ length: 48000 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 48000));
    const got = (await run(out.filePath, { audio: new ort.Tensor('float32', audio, [1, 48000]) }))
      .audio_features;
    expect(got.dims).toEqual([1, 512]);
    expect(Math.hypot(...(got.data as Float32Array))).toBeCloseTo(1, 5);

    const loaded = await loadModelDir(dir);
    expect(listProblems(loaded)).toEqual([]);
    expect(loaded.models.map((m) => [m.manifest.name, m.status])).toContainEqual([
      'clap-htsat-unfused-audio-segment',
      'ok',
    ]);
  });

  it('refuses a changed file and a model that is not a known kind of export', async () => {
    const other = await tmp();
    await installExport(other, 'clip-vit-b32-vision', clipVisionLike());
    await writeFile(join(other, 'clip-vit-b32-vision.onnx'), clipVisionLike(7));
    await expect(adaptExport(other, 'clip-vit-b32-vision')).rejects.toThrow(
      /does not match clip-vit-b32-vision\.json/,
    );
    const g = new Graph({ seed: 4 });
    const ids = g.cast(g.input('input_ids', 'int64', ['batch', 'sequence']), 'float32');
    g.output(g.matmul(g.reduceSum(ids, [1], true), g.param('w', [1, 512], { normal: 1 })), 'text_embeds');
    await installExport(other, 'clip-vit-b32-text', g.toBytes());
    await expect(adaptExport(other, 'clip-vit-b32-text')).rejects.toThrow(
      new AdaptError(
        'clip-vit-b32-text is neither a CLIP vision export (input pixel_values) nor a CLAP audio export (input input_features)',
      ),
    );
    await expect(adaptExport(other, 'absent')).rejects.toThrow(
      /absent\.json: cannot read manifest \(ENOENT\)/,
    );
  });
});
