// The bundled DSP visual encoder as an ONNX graph: the segment's 8 RGB24 frames at 224x224 ->
// a 7x7 map of 14 descriptors per 32x32-pixel cell (colour, luminance, contrast, chroma, edge
// energy, motion energy, hue energies) and a pooled 91-d vector. No learned weights; the file is
// reproducible from the repository. docs/models/encoders.md lists what each dimension means.
//
// Public API: buildDspVisualEncoder(opts) -> ONNX bytes; VISUAL_ENCODER (sizes, names, layouts).

import { Graph, type Tensor } from '../../engine/onnx/builder.js';
import { featureCount, layout } from './layout.js';

export const VISUAL_FRAMES = 8;
export const VISUAL_SIZE = 224;
export const GRID = 7;
/**
 * Every descriptor is computed on the frames averaged down 4x4 to 56x56 (one pass over the
 * 1.2 MB of input instead of a dozen): a cell is then 8x8 working pixels. Colour means are exact;
 * contrast, chroma, edges and motion see 4-pixel detail and coarser (docs/models/encoders.md).
 */
export const POOL = 4;
export const WORK_SIZE = VISUAL_SIZE / POOL; // 56
export const CELL = WORK_SIZE / GRID; // 8 working pixels = 32 input pixels

/** Hue directions (degrees) of the hue-energy channels, in the RGB chroma plane (0 = red). */
export const HUES = [0, 60, 120, 180, 240, 300] as const;
/** Per-cell descriptors, in map order (the last axis of `visual_map`). */
export const MAP_CHANNELS = [
  'red',
  'green',
  'blue',
  'luma',
  'contrast',
  'chroma',
  'edge',
  'motion',
  ...HUES.map((h) => `hue_${h}` as const),
] as const;
export const MAP_DIM = MAP_CHANNELS.length; // 14
const MOTION = MAP_CHANNELS.indexOf('motion');
const CHROMA = MAP_CHANNELS.indexOf('chroma');

/** Per-pixel descriptors pooled over the whole segment into `salient_colour` and `moving_colour`. */
export const PIXEL_CHANNELS = ['red', 'green', 'blue', ...HUES.map((h) => `hue_${h}` as const)] as const;
const PIXELS = VISUAL_FRAMES * WORK_SIZE * WORK_SIZE;

/** `visual_features` layout: [name, first index, count]. */
export const VISUAL_LAYOUT = layout([
  ['cell_mean', MAP_DIM],
  ['cell_max', MAP_DIM],
  ['cell_std', MAP_DIM],
  ['motion_weighted', MAP_DIM],
  ['chroma_weighted', MAP_DIM],
  ['frame_contrast', 1],
  ['brightness_change', 1],
  ['motion_peak', 1],
  ['salient_colour', PIXEL_CHANNELS.length],
  ['moving_colour', PIXEL_CHANNELS.length],
]);
export const VISUAL_FEATURES = featureCount(VISUAL_LAYOUT); // 91

/** ITU-R BT.601 luma weights. */
export const LUMA = [0.299, 0.587, 0.114] as const;
/** Added to every cell's motion before motion-weighting, so a still segment weights cells equally. */
export const MOTION_WEIGHT_FLOOR = 1e-4;
/**
 * Sharpness of the chroma-weighted pooling, softmax(CHROMA_SHARPNESS * chroma) over cells: a cell
 * 0.2 more colourful than another gets e^4 = 55 times its weight, so the vector describes the most
 * colourful object rather than the (usually larger, duller) background.
 */
export const CHROMA_SHARPNESS = 20;
/**
 * The same for single pixels: `salient_colour` averages the segment's pixels with weights
 * softmax(20 x (max - min channel) / 255), the colour of its most colourful pixels.
 */
export const SALIENCE_SHARPNESS = 20;

export const VISUAL_ENCODER = {
  input: 'frames',
  mapOutput: 'visual_map',
  output: 'visual_features',
  frames: VISUAL_FRAMES,
  width: VISUAL_SIZE,
  height: VISUAL_SIZE,
  fps: VISUAL_FRAMES,
  features: VISUAL_FEATURES,
  mapShape: [GRID, GRID, MAP_DIM] as [number, number, number],
} as const;

export interface DspVisualOptions {
  /** Graph name stored in the file (default 'dsp-visual'). */
  name?: string;
}

/**
 * Builds the encoder: `frames` uint8 [batch, 8, 224, 224, 3] -> `visual_map` float32
 * [batch, 7, 7, 14] and `visual_features` float32 [batch, 91]. Values are in units of full scale
 * (pixel values / 255).
 */
export function buildDspVisualEncoder(opts: DspVisualOptions = {}): Uint8Array {
  const name = opts.name ?? 'dsp-visual';
  const g = new Graph({ name });
  const frames = g.input(VISUAL_ENCODER.input, 'uint8', [
    'batch',
    VISUAL_FRAMES,
    VISUAL_SIZE,
    VISUAL_SIZE,
    3,
  ]);
  const rgb = g.scope('downsample', () => downsample(g, frames)); // [B, F, 56, 56, 3], 0..255
  const luma = g.squeeze(
    g.matmul(
      rgb,
      g.constant(
        LUMA.map((w) => w / 255),
        [3, 1],
      ),
    ),
    [4],
  ); // [B, F, 56, 56], 0..1

  const range = g.sub(g.reduceMax(rgb, [4]), reduceMin(g, rgb, 4)); // max - min channel, 0..255
  const huePixels = g.scope('hue', () => hueEnergies(g, rgb)); // [B, F, 56, 56, 6]
  const absDiff = g.scope('motion', () => {
    const next = g.slice(luma, [1], [VISUAL_FRAMES], [1]);
    const prev = g.slice(luma, [0], [VISUAL_FRAMES - 1], [1]);
    return g.abs(g.sub(next, prev)); // [B, F - 1, 56, 56]
  });
  const overFrames = (t: Tensor) => g.reduceMean(t, [1]);

  const lumaStats = g.scope('luma', () => lumaStatistics(g, luma));
  const motionPerStep = cellMean(g, absDiff); // [B, F - 1, 7, 7]
  const channel = (t: Tensor) => g.unsqueeze(t, [3]);
  const map = g.concat(
    [
      g.mul(overFrames(cellMean(g, rgb, true)), 1 / 255),
      channel(overFrames(lumaStats.mean)),
      channel(lumaStats.contrast),
      channel(g.mul(overFrames(cellMean(g, range)), 1 / 255)),
      channel(g.scope('edge', () => overFrames(cellMean(g, gradientMagnitude(g, luma))))),
      channel(overFrames(motionPerStep)),
      overFrames(cellMean(g, huePixels, true)),
    ],
    3,
  );
  g.output(map, VISUAL_ENCODER.mapOutput);
  const pooled = g.scope('pooled', () => {
    // Pixel-level pooling: the colour of the most colourful pixels, and of the pixels that changed.
    const pixels = g.concat([g.mul(rgb, 1 / 255), huePixels], 4); // [B, F, 56, 56, 9]
    const salient = pixelPooling(
      g,
      pixels,
      g.softmax(g.reshape(g.mul(range, SALIENCE_SHARPNESS / 255), [-1, PIXELS]), 1),
    );
    const moving = g.add(g.reshape(absDiff, [-1, PIXELS - WORK_SIZE * WORK_SIZE]), MOTION_WEIGHT_FLOOR);
    const laterPixels = g.slice(pixels, [1], [VISUAL_FRAMES], [1]);
    const movingColour = pixelPooling(g, laterPixels, g.div(moving, g.reduceSum(moving, [1], true)));
    return g.concat([pooledFeatures(g, map, lumaStats, motionPerStep), salient, movingColour], 1);
  });
  g.output(pooled, VISUAL_ENCODER.output);
  return g.toBytes({ metadata: { 'avvp.model': name, 'avvp.features': 'docs/models/encoders.md' } });
}

/**
 * 4x4 block means of the uint8 frames, [B, F, 224, 224, 3] -> [B, F, 56, 56, 3]: a MatMul sums
 * each row's 4 neighbouring pixels per channel, then a ReduceSum adds 4 rows. This measured
 * about twice as fast in onnxruntime as one ReduceMean over the two strided axes.
 */
function downsample(g: Graph, frames: Tensor): Tensor {
  const rows = g.reshape(g.cast(frames, 'float32'), [-1, VISUAL_FRAMES, VISUAL_SIZE, WORK_SIZE, POOL * 3]);
  const sumPixels = new Float32Array(POOL * 3 * 3);
  for (let p = 0; p < POOL; p++)
    for (let c = 0; c < 3; c++) sumPixels[(p * 3 + c) * 3 + c] = 1 / (POOL * POOL);
  const across = g.matmul(rows, g.constant(sumPixels, [POOL * 3, 3])); // [B, F, 224, 56, 3]
  const blocks = g.reshape(across, [-1, VISUAL_FRAMES, WORK_SIZE, POOL, WORK_SIZE * 3]);
  return g.reshape(g.reduceSum(blocks, [3]), [-1, VISUAL_FRAMES, WORK_SIZE, WORK_SIZE, 3]);
}

function reduceMin(g: Graph, x: Tensor, axis: number): Tensor {
  const shape = x.shape.filter((_, i) => i !== axis);
  return g.emit('ReduceMin', [x, g.ints([axis])], { keepdims: 0 }, [{ dtype: x.dtype, shape }])[0];
}

/** Weighted mean of per-pixel descriptors: pixels [B, F', 56, 56, C], weights [B, F' * 56 * 56] summing to 1 -> [B, C]. */
function pixelPooling(g: Graph, pixels: Tensor, weights: Tensor): Tensor {
  const channels = pixels.shape[4] as number;
  const flat = g.reshape(pixels, [0, -1, channels]);
  return g.squeeze(g.matmul(g.unsqueeze(weights, [1]), flat), [1]);
}

/**
 * Mean over each cell: [B, F, 56, 56] -> [B, F, 7, 7], or with `channels`
 * [B, F, 56, 56, C] -> [B, F, 7, 7, C].
 */
function cellMean(g: Graph, x: Tensor, channels = false): Tensor {
  const tail = channels ? [x.shape[4] as number] : [];
  const split = g.reshape(x, [-1, x.shape[1] as number, GRID, CELL, GRID, CELL, ...tail]);
  return g.reduceMean(split, [3, 5]);
}

interface LumaStatistics {
  /** Per frame and cell: mean luma, [B, F, 7, 7]. */
  mean: Tensor;
  /** Per cell: std of the luma over the cell's pixels, averaged over frames, [B, 7, 7]. */
  contrast: Tensor;
  /** Per frame: std of the luma over the whole frame, [B, F]. */
  frameStd: Tensor;
}

function lumaStatistics(g: Graph, luma: Tensor): LumaStatistics {
  const cells = g.reshape(luma, [-1, VISUAL_FRAMES, GRID, CELL, GRID, CELL]);
  const contrast = g.reduceMean(std(g, cells, [3, 5]), [1]);
  const frameStd = std(g, g.reshape(luma, [-1, VISUAL_FRAMES, WORK_SIZE * WORK_SIZE]), [2]);
  return { mean: cellMean(g, luma), contrast, frameStd };
}

/**
 * Population std over `axes` (dropped), from the centred values: E[x^2] - E[x]^2 loses too much
 * to float32 cancellation (a flat cell came out with contrast 1.5e-4 instead of 0).
 */
function std(g: Graph, x: Tensor, axes: number[]): Tensor {
  const centred = g.sub(x, g.reduceMean(x, axes, true));
  return g.sqrt(g.reduceMean(g.mul(centred, centred), axes));
}

/**
 * Per working pixel, relu of the projection of its chroma vector (R - (G + B)/2, sqrt(3)/2 (G - B))
 * onto each hue direction, / 255: pure red gives 1 at 0 degrees, 0.5 at 60 and 300, 0 elsewhere;
 * greys give 0 everywhere. [B, F, 56, 56, 6].
 */
function hueEnergies(g: Graph, rgb: Tensor): Tensor {
  const alpha = [1, -0.5, -0.5]; // chroma-plane coordinates of the R, G and B axes
  const beta = [0, Math.sqrt(3) / 2, -Math.sqrt(3) / 2];
  const weights = [0, 1, 2].flatMap((c) =>
    HUES.map(
      (h) => (alpha[c] * Math.cos((h * Math.PI) / 180) + beta[c] * Math.sin((h * Math.PI) / 180)) / 255,
    ),
  );
  return g.relu(g.matmul(rgb, g.constant(weights, [3, HUES.length])));
}

/**
 * Sobel gradient magnitude of the working luma, sqrt(gx^2 + gy^2) with both kernels divided by 8
 * (a unit luma step gives 0.5 on the two pixels beside it). Edge pixels are replicated outward
 * first so the frame border itself is not an edge. [B, F, 56, 56].
 */
function gradientMagnitude(g: Graph, luma: Tensor): Tensor {
  const images = g.reshape(luma, [-1, 1, WORK_SIZE, WORK_SIZE]);
  const padded = g.emit('Pad', [images, g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'edge' }, [
    { dtype: 'float32', shape: [images.shape[0], 1, WORK_SIZE + 2, WORK_SIZE + 2] },
  ])[0];
  const sobelX = [-1, 0, 1, -2, 0, 2, -1, 0, 1].map((v) => v / 8);
  const sobelY = [-1, -2, -1, 0, 0, 0, 1, 2, 1].map((v) => v / 8);
  const kernels = g.constant([...sobelX, ...sobelY], [2, 1, 3, 3]);
  const gradients = g.emit('Conv', [padded, kernels], { kernel_shape: [3, 3] }, [
    { dtype: 'float32', shape: [images.shape[0], 2, WORK_SIZE, WORK_SIZE] },
  ])[0];
  const magnitude = g.sqrt(g.reduceSum(g.mul(gradients, gradients), [1]));
  return g.reshape(magnitude, [-1, VISUAL_FRAMES, WORK_SIZE, WORK_SIZE]);
}

/**
 * The first 73 dimensions of `visual_features`: mean, max and std of each map channel over the
 * 49 cells, the map averaged with weights proportional to each cell's motion (+ a floor), the map
 * averaged with softmax(20 x chroma) weights, then the whole-frame luma std (mean over frames),
 * the std over frames of the frame's mean luma, and the largest whole-frame mean |luma
 * difference| between consecutive frames.
 */
function pooledFeatures(g: Graph, map: Tensor, luma: LumaStatistics, motionPerStep: Tensor): Tensor {
  const cells = g.reshape(map, [-1, GRID * GRID, MAP_DIM]);
  const mean = g.reduceMean(cells, [1]);
  const max = g.reduceMax(cells, [1]);
  const cellStd = std(g, cells, [1]);
  const motionWeights = g.add(g.slice(cells, [MOTION], [MOTION + 1], [2]), MOTION_WEIGHT_FLOOR); // [B, 49, 1]
  const motionWeighted = g.div(
    g.reduceSum(g.mul(cells, motionWeights), [1]),
    g.reduceSum(motionWeights, [1]),
  );
  const chromaWeights = g.softmax(g.mul(g.slice(cells, [CHROMA], [CHROMA + 1], [2]), CHROMA_SHARPNESS), 1);
  const chromaWeighted = g.reduceSum(g.mul(cells, chromaWeights), [1]);

  const frameContrast = g.reduceMean(luma.frameStd, [1], true);
  // Cells are equal in size, so a frame's mean luma is the mean of its cell means.
  const frameMean = g.reduceMean(g.reshape(luma.mean, [-1, VISUAL_FRAMES, GRID * GRID]), [2], true); // [B, F, 1]
  const brightnessChange = std(g, frameMean, [1]);
  const stepMotion = g.reduceMean(g.reshape(motionPerStep, [-1, VISUAL_FRAMES - 1, GRID * GRID]), [2]);
  const motionPeak = g.reduceMax(stepMotion, [1], true);
  return g.concat(
    [mean, max, cellStd, motionWeighted, chromaWeighted, frameContrast, brightnessChange, motionPeak],
    1,
  );
}
