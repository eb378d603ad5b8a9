// Real ingest into the encode operator: two ffmpeg sources (fromMedia on lavfi graphs with tones
// and colour boxes at known seconds) merged, encoded in batches by the bundled DSP encoders running
// in the inference worker pool. Checks order, identity, the absent modality, and that the features
// change exactly where the media does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastValueFrom, merge, toArray } from 'rxjs';
import {
  AUDIO_FEATURES,
  VISUAL_ENCODER,
  VISUAL_FEATURES,
  buildDspAudioEncoder,
  buildDspVisualEncoder,
  dspAudioEncoder,
  dspVisualEncoder,
} from '../../src/models/encoders/index.js';
import { InferencePool } from '../../src/pool/pool.js';
import { encode } from '../../src/operators/encode.js';
import { fromMedia } from '../../src/streams/fromMedia.js';
import type { Features } from '../../src/types.js';
import { lavfiSource } from '../helpers/media.js';

const frameOptions = {
  width: VISUAL_ENCODER.width,
  height: VISUAL_ENCODER.height,
  fps: VISUAL_ENCODER.fps,
  sampleRate: 16000,
};

const distance = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]));

describe('ffmpeg segments -> encode -> DSP encoders in the worker pool', () => {
  let pool: InferencePool;

  beforeAll(async () => {
    pool = await InferencePool.create({
      // Built from the encoder definitions (the same bytes as the committed models/ files).
      models: { audio: buildDspAudioEncoder(), visual: buildDspVisualEncoder() },
      size: 2,
      providers: ['cpu'],
    });
  });

  afterAll(() => pool?.close());

  it('encodes two live-decoded streams in cross-stream batches, each in order', async () => {
    const cam1 = fromMedia(
      lavfiSource({
        seconds: 6,
        video: { boxes: [{ from: 1, to: 3, color: 'white' }] },
        audio: { tones: [{ from: 2, to: 4, freq: 1000 }] },
      }),
      { ...frameOptions, stream: 'cam1' },
    );
    const cam2 = fromMedia(
      lavfiSource({ seconds: 6, video: { boxes: [{ from: 3, to: 5, color: 'red' }] }, audio: false }),
      {
        ...frameOptions,
        stream: 'cam2',
      },
    );
    const batches: number[] = [];
    const encoders = {
      audio: dspAudioEncoder((feeds) => pool.run('audio', feeds)),
      visual: dspVisualEncoder((feeds) => pool.run('visual', feeds)),
    };
    const features = await lastValueFrom(
      merge(cam1, cam2).pipe(
        encode(encoders, { maxBatch: 4, maxWaitMs: 20, concurrency: 2, onBatch: (n) => batches.push(n) }),
        toArray(),
      ),
    );
    const of = (stream: string) => features.filter((f) => f.stream === stream);
    const one: Features[] = of('cam1');
    const two: Features[] = of('cam2');
    expect(one.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(two.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(12);

    expect(one.every((f) => f.audio?.length === AUDIO_FEATURES && f.visual?.length === VISUAL_FEATURES)).toBe(
      true,
    );
    expect(two.every((f) => f.audio === undefined && f.visual?.length === VISUAL_FEATURES)).toBe(true);
    expect(one[0].mapShape).toEqual(VISUAL_ENCODER.mapShape);

    // Audio: the tone seconds 2 and 3 stand far from the silent ones; silence after the tone keeps
    // a trace of the resampler's tail, so "same" means within 1 % of that distance.
    const a = one.map((f) => f.audio!);
    const tone = distance(a[2], a[0]);
    expect(tone).toBeGreaterThan(1);
    expect(distance(a[3], a[2])).toBeLessThan(0.01 * tone);
    for (const k of [1, 4, 5]) expect(distance(a[k], a[0])).toBeLessThan(0.01 * tone);
    // Video: the white box in seconds 1-2 (cam1) and the red one in 3-4 (cam2); frames repeat exactly.
    const v1 = one.map((f) => f.visual!);
    expect(v1.map((v) => distance(v, v1[0]) > 0)).toEqual([false, true, true, false, false, false]);
    const v2 = two.map((f) => f.visual!);
    expect(v2.map((v) => distance(v, v2[0]) > 0)).toEqual([false, false, false, true, true, false]);
  });
});
