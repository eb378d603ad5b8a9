// CLIP/CLAP-style encoders in the runtime and in extraction: random-weight graphs with the public
// exports' I/O, adapted by `avvp models adapt`'s code (raw frames and 48 kHz PCM in), paired with
// an untrained head of their feature sizes. The runtime must ingest at the encoders' format (8 fps
// 224x224, 48 kHz) and parse a real file end to end; extraction must write their feature sizes.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adaptExport } from '../../src/models/adapters/adapt.js';
import { loadRuntimeModels, RuntimeModelError } from '../../src/runtime/models.js';
import { Inference, streamPipeline } from '../../src/runtime/pipeline.js';
import { fromMedia } from '../../src/streams/fromMedia.js';
import { extractFeatures, fileVideos, openExtractEncoders } from '../../src/runtime/extract.js';
import { parseNpy } from '../../src/datasets/npy.js';
import { makeTestMedia } from '../helpers/media.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { clapAudioLike, clipVisionWithTokensLike, installExport } from '../models/fixtures/tiny-exports.js';
import { writeUntrainedHead } from './fixtures.js';

const tmp = tempDirs('avvp-clip-clap-');
const AUDIO = 'clap-htsat-unfused-audio-segment';
const VISUAL = 'clip-vit-b32-vision-segment';
let models: string;
let clip: string;

beforeAll(async () => {
  models = await tmp();
  await installExport(models, 'clip-vit-b32-vision', clipVisionWithTokensLike());
  await installExport(models, 'clap-htsat-unfused-audio', clapAudioLike());
  await adaptExport(models, 'clip-vit-b32-vision', { frames: 8 });
  await adaptExport(models, 'clap-htsat-unfused-audio');
  // Only the adapted encoders stay: the raw exports take preprocessed tensors, not Segments.
  for (const name of ['clip-vit-b32-vision', 'clap-htsat-unfused-audio'])
    for (const ext of ['.onnx', '.json']) await rm(join(models, name + ext));
  await writeUntrainedHead(models, {
    audioDim: 512,
    visualDim: 512,
    encoders: { audio: AUDIO, visual: VISUAL },
  });
  clip = await makeTestMedia(join(await tmp(), 'clip.mp4'), {
    seconds: 4,
    video: { width: 320, height: 240, boxes: [{ from: 1, to: 3, color: 'red' }] },
    audio: { channels: 2, tones: [{ from: 0, to: 2 }] },
  });
}, 120_000);

describe('CLIP/CLAP-style encoders', () => {
  it('the runtime ingests at their format: 224x224 centre crops at 8 fps, 48 kHz audio; map from the patch tokens', async () => {
    const m = await loadRuntimeModels(models);
    expect(m.ingest).toEqual({ sampleRate: 48000, fps: 8, width: 224, height: 224, centreCrop: true });
    expect(m.encoders.audio).toMatchObject({ name: AUDIO, samples: 48000, features: 512 });
    expect(m.encoders.visual).toMatchObject({
      name: VISUAL,
      frames: 8,
      features: 512,
      mapShape: [7, 7, 768],
    });
  });

  it('parses a real file end to end through the worker pool', async () => {
    const m = await loadRuntimeModels(models);
    const inference = await Inference.create(m, { workers: 1 });
    try {
      const segments = fromMedia(clip, { ...m.ingest });
      const out = await lastValueFrom(
        streamPipeline(segments, inference, { mode: 'process-all', lookahead: 1 }).pipe(toArray()),
      );
      const predictions = out.flatMap((o) => (o.kind === 'segment' ? [o.prediction] : []));
      expect(predictions.map((p) => p.index)).toEqual([0, 1, 2, 3]);
      for (const p of predictions) {
        expect(p.audio).toHaveLength(25);
        expect(p.visual).toHaveLength(25);
        expect([...p.audio, ...p.visual].every((x) => x >= 0 && x <= 1)).toBe(true);
      }
    } finally {
      await inference.close();
    }
  }, 60_000);

  it('avvp extract writes their feature sizes (512) and the patch-token map', async () => {
    const encoders = await openExtractEncoders(models, { workers: 1 });
    try {
      expect(encoders.ingest).toEqual({
        sampleRate: 48000,
        fps: 8,
        width: 224,
        height: 224,
        centreCrop: true,
      });
      const out = join(await tmp(), 'features');
      const summary = await extractFeatures({
        videos: await fileVideos([clip]),
        out,
        encoders,
        segments: 4,
        maps: true,
      });
      expect(summary.failed).toEqual([]);
      const npy = async (m: string) => parseNpy(await readFile(join(out, m, 'clip.npy'))).shape;
      expect(await npy('audio')).toEqual([4, 512]);
      expect(await npy('visual')).toEqual([4, 512]);
      expect(await npy('visual_map')).toEqual([4, 7, 7, 768]);
    } finally {
      await encoders.close();
    }
  }, 60_000);

  it('a raw export (preprocessed tensors in) is refused with the reason and the fix', async () => {
    const raw = await tmp();
    await installExport(raw, 'clap-htsat-unfused-audio', clapAudioLike());
    await installExport(raw, 'clip-vit-b32-vision', clipVisionWithTokensLike());
    await writeUntrainedHead(raw, { audioDim: 512, visualDim: 512 });
    const refusal = loadRuntimeModels(raw);
    await expect(refusal).rejects.toThrow(RuntimeModelError);
    await expect(refusal).rejects.toThrow(/no input 'audio' \(has input_features\).*avvp models adapt/);
  });
});
