// The DSP visual encoder against a float64 reference and against what known images must give.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  EncoderInputError,
  MAP_CHANNELS,
  VISUAL_FEATURES,
  VISUAL_LAYOUT,
  dspVisualEncoder,
} from '../../../src/models/encoders/index.js';
import { synthClip } from '../../../src/synth/clip.js';
import type { Segment } from '../../../src/types.js';
import { frame, noiseFrames, segment, visualEncoder, worstError } from './helpers.js';
import { referenceVisual } from './reference.js';

let encoder: Awaited<ReturnType<typeof visualEncoder>>;
beforeAll(async () => {
  encoder = await visualEncoder();
});
afterAll(async () => {
  await encoder.session.release();
});

type Rgb = [number, number, number];
const GREY: Rgb = [100, 100, 100];
const channel = (name: (typeof MAP_CHANNELS)[number]) => MAP_CHANNELS.indexOf(name);
/** Value of one map channel at cell (row, col). */
const cell = (map: Float32Array, row: number, col: number, name: (typeof MAP_CHANNELS)[number]) =>
  map[(row * 7 + col) * 14 + channel(name)];
const feature = (v: Float32Array, name: string, offset = 0) =>
  v[VISUAL_LAYOUT.find(([n]) => n === name)![1] + offset];

async function encodeOne(frames: Uint8Array[]) {
  const [e] = await encoder.encode([segment({ frames })]);
  return e;
}

describe('dsp-visual', () => {
  test('layout covers 91 dimensions without gaps; the map is 7x7x14', async () => {
    let next = 0;
    for (const [, first, count] of VISUAL_LAYOUT) {
      expect(first).toBe(next);
      next += count;
    }
    expect(next).toBe(VISUAL_FEATURES);
    const e = await encodeOne(noiseFrames(1));
    expect(e.mapShape).toEqual([7, 7, 14]);
    expect(e.visualMap).toHaveLength(686);
    expect(e.visual).toHaveLength(91);
  });

  // Tolerance |onnx - reference| <= 1e-4 + 1e-4 |reference| on every map value and feature
  // (measured worst: under 2e-6, float32 against float64).
  test.each([
    ['random texture', () => noiseFrames(5, 40, 200)],
    ['a SynthAV second', () => synthClip({ seed: 3 }, 0).segment(2).frames!],
  ])('%s: map and vector match the float64 reference', async (_, make) => {
    const frames = make();
    const got = await encodeOne(frames);
    const ref = referenceVisual(frames);
    const mapError = worstError(got.visualMap, ref.map.flat(2), 1e-4, 1e-4);
    expect(mapError.ratio, `map value ${mapError.at}`).toBeLessThanOrEqual(1);
    const vectorError = worstError(got.visual, ref.vector, 1e-4, 1e-4);
    expect(vectorError.ratio, `feature ${vectorError.at}`).toBeLessThanOrEqual(1);
  });

  test('a red patch filling cell (2, 3) gives that cell red colour and full chroma, grey elsewhere', async () => {
    const still = Array.from({ length: 8 }, () => frame(GREY, [[96, 64, 128, 96, [255, 0, 0]]]));
    const { visualMap: map, visual } = await encodeOne(still);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 7; col++) {
        const patch = row === 2 && col === 3;
        expect(cell(map, row, col, 'red')).toBeCloseTo(patch ? 1 : 100 / 255, 5);
        expect(cell(map, row, col, 'green')).toBeCloseTo(patch ? 0 : 100 / 255, 5);
        expect(cell(map, row, col, 'luma')).toBeCloseTo(patch ? 0.299 : 100 / 255, 5);
        expect(cell(map, row, col, 'chroma')).toBeCloseTo(patch ? 1 : 0, 5);
        expect(cell(map, row, col, 'contrast')).toBeCloseTo(0, 5); // each cell is flat inside
        expect(cell(map, row, col, 'motion')).toBe(0);
        expect(cell(map, row, col, 'hue_0')).toBeCloseTo(patch ? 1 : 0, 5);
        expect(cell(map, row, col, 'hue_60')).toBeCloseTo(patch ? 0.5 : 0, 5);
        expect(cell(map, row, col, 'hue_120')).toBeCloseTo(0, 5);
      }
    }
    // The red pixels are the only colourful ones: the salient colour is (nearly) pure red.
    expect(feature(visual, 'salient_colour', 0)).toBeGreaterThan(0.99);
    expect(feature(visual, 'salient_colour', 1)).toBeLessThan(0.01);
  });

  test('a vertical black/white edge at x = 112 gives edge energy only in column 3', async () => {
    const edge = Array.from({ length: 8 }, () => frame([0, 0, 0], [[112, 0, 224, 224, [255, 255, 255]]]));
    const { visualMap: map, visual } = await encodeOne(edge);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 7; col++) {
        // Sobel / 8 gives 0.5 on the two working pixels beside a unit step: 2 x 0.5 / 8 columns.
        expect(cell(map, row, col, 'edge'), `cell ${row},${col}`).toBeCloseTo(col === 3 ? 0.125 : 0, 5);
      }
    }
    expect(feature(visual, 'cell_max', channel('edge'))).toBeCloseTo(0.125, 5);
    expect(feature(visual, 'frame_contrast')).toBeCloseTo(0.5, 5); // half black, half white
  });

  test('a square moving right along row 2 gives motion energy only in the cells it crosses', async () => {
    // 32x32 white square on black, rows 64..96 (cell row 2), moving 16 px per frame from x = 0.
    const frames = Array.from({ length: 8 }, (_, t) =>
      frame([0, 0, 0], [[16 * t, 64, 16 * t + 32, 96, [255, 255, 255]]]),
    );
    const { visualMap: map, visual } = await encodeOne(frames);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 7; col++) {
        const crossed = row === 2 && col <= 4; // the square spans x = 0..144 over the segment
        const motion = cell(map, row, col, 'motion');
        if (crossed) expect(motion, `cell ${row},${col}`).toBeGreaterThan(0.05);
        else expect(motion, `cell ${row},${col}`).toBe(0);
      }
    }
    // Each step uncovers and covers 16 of the 224 columns in a band of 32 rows: 2*16*32 / 224^2.
    expect(feature(visual, 'motion_peak')).toBeCloseTo((2 * 16 * 32) / (224 * 224), 5);
    // Weighting cells by motion looks at the (bright) square rather than the black background.
    expect(feature(visual, 'motion_weighted', channel('luma'))).toBeGreaterThan(
      5 * feature(visual, 'cell_mean', channel('luma')),
    );
    // The changed pixels of each later frame are half newly covered (white), half uncovered (black).
    expect(feature(visual, 'moving_colour', 0)).toBeCloseTo(0.5, 2);
  });

  test('still frames have no motion and no brightness change; a flash has', async () => {
    const still = await encodeOne(Array.from({ length: 8 }, () => frame(GREY)));
    expect(feature(still.visual, 'motion_peak')).toBe(0);
    expect(feature(still.visual, 'brightness_change')).toBe(0);
    const flash = await encodeOne(
      Array.from({ length: 8 }, (_, t) => frame(t === 4 ? [255, 255, 255] : GREY)),
    );
    expect(feature(flash.visual, 'brightness_change')).toBeGreaterThan(0.1);
    expect(feature(flash.visual, 'motion_peak')).toBeCloseTo(155 / 255, 4);
  });

  // Tolerance as for the audio encoder: batch size changes the kernels' summation order.
  test('batch of 16 equals 16 batches of 1', async () => {
    const segments = Array.from({ length: 16 }, (_, i) =>
      segment({ frames: noiseFrames(100 + i, i * 8, 120 + i * 8), index: i }),
    );
    const batched = await encoder.encode(segments);
    for (let i = 0; i < 16; i++) {
      const [single] = await encoder.encode([segments[i]]);
      expect(worstError(batched[i].visual, single.visual, 1e-4, 1e-4).ratio).toBeLessThanOrEqual(1);
      expect(worstError(batched[i].visualMap, single.visualMap, 1e-4, 1e-4).ratio).toBeLessThanOrEqual(1);
    }
  });
});

describe('dsp-visual input checks (before onnxruntime is called)', () => {
  const encode = async (s: Segment) => {
    let called = false;
    const run = dspVisualEncoder(async () => {
      called = true;
      return {};
    });
    const error = await run([segment({ frames: noiseFrames(1) }), s]).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(EncoderInputError);
    return (error as Error).message;
  };

  test('wrong frame count', async () => {
    const message = await encode(segment({ frames: noiseFrames(2).slice(0, 7), index: 3 }));
    expect(message).toMatch(
      /stream "test" segment 3 has 7 frames; the encoder takes 8 per second: ingest with fps 8/,
    );
  });

  test('wrong frame size', async () => {
    const message = await encode({ ...segment({ frames: noiseFrames(2) }), width: 320, height: 240 });
    expect(message).toMatch(/is 320x240; the encoder takes 224x224 RGB24 frames/);
  });

  test('a frame with the wrong number of bytes', async () => {
    const frames = noiseFrames(2);
    frames[5] = frames[5].subarray(0, 1000);
    expect(await encode(segment({ frames }))).toMatch(/frame 5 has 1000 bytes, not 150528 \(224x224 RGB24\)/);
  });

  test('no frames', async () => {
    expect(await encode(segment({ frames: null }))).toMatch(/has no frames/);
  });
});
