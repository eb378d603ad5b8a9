// Training of the window-level parsers (HAN/VALOR++ and LINK): data from an LLP-layout folder
// (per-video feature .npy files, LLP CSVs, VALOR pseudo labels) or made in memory from SynthAV with
// a model folder's encoders (the bundled DSP ones by default); seeded training with per-epoch
// validation by the official LLP metric, best epoch by validation Segment Type@AV; export of ONNX +
// manifest with the metrics.
//
// Public API: ParserData, loadLlpSplit, openEncoders, synthSplit, featureStats, trainParser,
// predictParser, evaluateParser, metricRecord.

import { join } from 'node:path';
import { evaluateLlp, type LlpMetrics, type LlpPrediction } from '../eval/llp.js';
import type { ModelManifest } from '../models/manifest.js';
import { ModelFileError, openSession, ortTensor, type Provider } from '../engine/session.js';
import {
  EncoderChoiceError,
  chooseEncoders,
  segmentEncoders,
  sessionRunner,
} from '../models/encoders/index.js';
import { ModelDirError, loadModelDir, type ModelEntry } from '../models/registry.js';
import { PARSER_IO, parserSpec, type FeatureStats, type ParserConfig } from '../models/parsers/index.js';
import { synthClips } from '../synth/clip.js';
import type { PresetName } from '../synth/presets.js';
import type { Segment } from '../types.js';
import { exportModel, type Exported } from '../models/export.js';
import {
  groundTruth,
  LLP_CLASSES,
  LLP_SEGMENTS,
  LlpFormatError,
  loadEvalAnnotations,
  loadPseudoLabels,
  loadVideoFeatures,
  loadWeakLabels,
  type LlpSplit,
} from '../datasets/llp.js';
import { warmupCosine } from '../engine/schedule.js';
import { Trainer, tensorDataset, type Dataset, type FitOptions } from '../engine/trainer.js';

const T = LLP_SEGMENTS;
const C = LLP_CLASSES.length;

/** One split in memory, row-major: features [N, T, D], labels [N, C], pseudo labels [N, T, C]. */
export interface ParserData {
  filenames: string[];
  audioDim: number;
  visualDim: number;
  audio: Float32Array;
  visual: Float32Array;
  labels: Float32Array;
  pseudoAudio: Float32Array;
  pseudoVisual: Float32Array;
  /** Dense ground truth per video (val/test), for the LLP metric. */
  truth?: { audio: Uint8Array; visual: Uint8Array }[];
}

/** Collects videos one at a time into a ParserData. */
class SplitBuilder {
  private readonly rows: {
    filename: string;
    audio: Float32Array;
    visual: Float32Array;
    labels: number[];
    pa: ArrayLike<number>;
    pv: ArrayLike<number>;
  }[] = [];
  truth: { audio: Uint8Array; visual: Uint8Array }[] = [];

  add(
    filename: string,
    audio: Float32Array,
    visual: Float32Array,
    labels: number[],
    pa: ArrayLike<number>,
    pv: ArrayLike<number>,
  ): void {
    this.rows.push({ filename, audio, visual, labels, pa, pv });
  }

  build(withTruth: boolean): ParserData {
    const n = this.rows.length;
    if (n === 0) throw new LlpFormatError('the split has no videos');
    const audioDim = this.rows[0].audio.length / T;
    const visualDim = this.rows[0].visual.length / T;
    const out: ParserData = {
      filenames: this.rows.map((r) => r.filename),
      audioDim,
      visualDim,
      audio: new Float32Array(n * T * audioDim),
      visual: new Float32Array(n * T * visualDim),
      labels: new Float32Array(n * C),
      pseudoAudio: new Float32Array(n * T * C),
      pseudoVisual: new Float32Array(n * T * C),
      ...(withTruth ? { truth: this.truth } : {}),
    };
    this.rows.forEach((r, i) => {
      out.audio.set(r.audio, i * T * audioDim);
      out.visual.set(r.visual, i * T * visualDim);
      for (const c of r.labels) out.labels[i * C + c] = 1;
      out.pseudoAudio.set(r.pa, i * T * C);
      out.pseudoVisual.set(r.pv, i * T * C);
    });
    return out;
  }
}

/** Weak labels spread over all segments: the segment targets when no pseudo labels are given. */
function weakEverywhere(classes: number[]): Uint8Array {
  const m = new Uint8Array(T * C);
  for (let t = 0; t < T; t++) for (const c of classes) m[t * C + c] = 1;
  return m;
}

export interface LlpSplitOptions {
  /** Folder with audio/<id>.npy and visual/<id>.npy, (10, D) per video. */
  features: string;
  /** Folder with the LLP CSVs. */
  annotations: string;
  /** VALOR-layout pseudo labels (CLAP/… and CLIP/segment_pseudo_labels); default: weak labels on every segment. */
  pseudo?: string;
  split: LlpSplit;
}

export async function loadLlpSplit(o: LlpSplitOptions): Promise<ParserData> {
  const evalAnn = o.split === 'train' ? undefined : await loadEvalAnnotations(o.annotations, o.split);
  const videos = evalAnn ? evalAnn.videos : await loadWeakLabels(o.annotations, 'train');
  const builder = new SplitBuilder();
  const dims: { audio?: number; visual?: number } = {};
  for (const video of videos) {
    const load = async (m: 'audio' | 'visual') => {
      const f = await loadVideoFeatures(join(o.features, m), video.filename, { steps: T, dim: dims[m] });
      dims[m] = f.shape[1];
      return f.data;
    };
    const audio = await load('audio');
    const visual = await load('visual');
    const pseudo = o.pseudo ? await loadPseudoLabels(o.pseudo, video.filename) : undefined;
    const fallback = weakEverywhere(video.classes);
    builder.add(
      video.filename,
      audio,
      visual,
      video.classes,
      pseudo?.audio ?? fallback,
      pseudo?.visual ?? fallback,
    );
    if (evalAnn) builder.truth.push(groundTruth(evalAnn, video.filename));
  }
  return builder.build(evalAnn !== undefined);
}

export type SegmentEncoder = (
  segments: readonly Segment[],
) => Promise<{ audio: Float32Array[]; visual: Float32Array[] }>;

/**
 * The encoders of a model folder, chosen as everywhere else (chooseEncoders: the only audio and
 * visual encoder there), run on this thread on the CPU so that training data is reproducible.
 */
export async function openEncoders(modelsDir: string): Promise<SegmentEncoder> {
  const hint = "; use the bundled models folder or build its encoders with 'npm run models:build'";
  let chosen;
  try {
    chosen = chooseEncoders(await loadModelDir(modelsDir));
  } catch (err) {
    if (err instanceof ModelDirError || err instanceof EncoderChoiceError)
      throw new ModelFileError(`${err.message}${err.message.includes('models:build') ? '' : hint}`);
    throw err;
  }
  const runner = async (entry: ModelEntry) =>
    sessionRunner((await openSession(entry.filePath, { providers: ['cpu'] })).session);
  const encode = segmentEncoders(chosen, {
    audio: await runner(chosen.audio),
    visual: await runner(chosen.visual),
  });
  return async (segments) => ({
    audio: await encode.audio(segments),
    visual: (await encode.visual(segments)).map((e) => e.visual),
  });
}

export interface SynthSplitOptions {
  seed: number;
  split: LlpSplit;
  clips: number;
  preset: PresetName;
  encode: SegmentEncoder;
  onClip?: (done: number) => void;
}

/** SynthAV clips rendered and encoded in memory, with their weak, pseudo and dense labels. */
export async function synthSplit(o: SynthSplitOptions): Promise<ParserData> {
  const builder = new SplitBuilder();
  let done = 0;
  for (const clip of synthClips({ seed: o.seed, split: o.split, preset: o.preset }, o.clips)) {
    const { audio, visual } = await o.encode(clip.segments());
    const join2 = (rows: Float32Array[]) => {
      const out = new Float32Array(rows.length * rows[0].length);
      rows.forEach((r, t) => out.set(r, t * r.length));
      return out;
    };
    const pseudo = clip.pseudoLabels();
    const labels = clip.truth.annotated.map((name) => LLP_CLASSES.indexOf(name));
    builder.add(clip.name, join2(audio), join2(visual), labels, pseudo.audio, pseudo.visual);
    builder.truth.push({ audio: clip.truth.audio, visual: clip.truth.visual });
    o.onClip?.(++done);
  }
  return builder.build(o.split !== 'train');
}

/** Per-dimension mean and standard deviation (floored at 1e-3 of the largest, and at 1e-6). */
export function featureStats(data: ParserData): { audio: FeatureStats; visual: FeatureStats } {
  const stats = (x: Float32Array, dim: number): FeatureStats => {
    const rows = x.length / dim;
    const mean = new Array<number>(dim).fill(0);
    const sq = new Array<number>(dim).fill(0);
    for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += x[r * dim + d] / rows;
    for (let r = 0; r < rows; r++)
      for (let d = 0; d < dim; d++) sq[d] += (x[r * dim + d] - mean[d]) ** 2 / rows;
    const std = sq.map(Math.sqrt);
    const floor = Math.max(1e-6, 1e-3 * Math.max(...std));
    return { mean, std: std.map((s) => Math.max(s, floor)) };
  };
  return { audio: stats(data.audio, data.audioDim), visual: stats(data.visual, data.visualDim) };
}

function dataset(d: ParserData): Dataset {
  return tensorDataset({
    [PARSER_IO.audio]: { dtype: 'float32', data: d.audio, sampleShape: [T, d.audioDim] },
    [PARSER_IO.visual]: { dtype: 'float32', data: d.visual, sampleShape: [T, d.visualDim] },
    [PARSER_IO.labels]: { dtype: 'float32', data: d.labels, sampleShape: [C] },
    [PARSER_IO.pseudoAudio]: { dtype: 'float32', data: d.pseudoAudio, sampleShape: [T, C] },
    [PARSER_IO.pseudoVisual]: { dtype: 'float32', data: d.pseudoVisual, sampleShape: [T, C] },
  });
}

/** Model outputs for every video of a split, in order (inference graph, batches of 64). */
export async function predictParser(
  trainer: Trainer,
  d: ParserData,
  which: 'current' | 'best' = 'current',
): Promise<LlpPrediction[]> {
  const out: LlpPrediction[] = [];
  const n = d.filenames.length;
  for (let start = 0; start < n; start += 64) {
    const b = Math.min(64, n - start);
    const slice = (x: Float32Array, per: number) => x.subarray(start * per, (start + b) * per);
    const result = await trainer.predict(
      {
        [PARSER_IO.audio]: ortTensor('float32', slice(d.audio, T * d.audioDim), [b, T, d.audioDim]),
        [PARSER_IO.visual]: ortTensor('float32', slice(d.visual, T * d.visualDim), [b, T, d.visualDim]),
      },
      which,
    );
    const get = (name: string) => result[name].data as Float32Array;
    for (let i = 0; i < b; i++) {
      out.push({
        video: get(PARSER_IO.video).slice(i * C, (i + 1) * C),
        audio: get(PARSER_IO.audioProb).slice(i * T * C, (i + 1) * T * C),
        visual: get(PARSER_IO.visualProb).slice(i * T * C, (i + 1) * T * C),
      });
    }
  }
  return out;
}

export function evaluateParser(predictions: LlpPrediction[], d: ParserData): LlpMetrics {
  if (!d.truth) throw new Error('evaluateParser: the split has no dense ground truth (use val or test)');
  return evaluateLlp(predictions.map((prediction, i) => ({ prediction, truth: d.truth![i] })));
}

/** The ten LLP metrics as a flat record: seg_a, seg_v, seg_av, seg_type, seg_event, ev_a, ... */
export function metricRecord(m: LlpMetrics, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [level, short] of [
    ['segment', 'seg'],
    ['event', 'ev'],
  ] as const) {
    const l = m[level];
    Object.assign(out, {
      [`${prefix}${short}_a`]: l.audio,
      [`${prefix}${short}_v`]: l.visual,
      [`${prefix}${short}_av`]: l.av,
      [`${prefix}${short}_type`]: l.type,
      [`${prefix}${short}_event`]: l.event,
    });
  }
  return out;
}

export interface TrainParserOptions {
  config: ParserConfig;
  /** Model name (ONNX and manifest file names). */
  name: string;
  train: ParserData;
  val: ParserData;
  epochs: number;
  seed: number;
  batchSize?: number;
  /** Peak learning rate (warm-up over the first 10% of steps, then cosine to 1%). */
  lr?: number;
  /** Where the training step runs (default cpu: bit-reproducible on any machine). */
  providers?: Provider[];
  /** Training steps per onnxruntime run (default 1; above 1 parameters stay on the GPU). */
  stepsPerRun?: number;
  /** Export the best epoch's model here (ONNX + manifest). */
  out?: string;
  manifest?: Partial<ModelManifest>;
  progress?: FitOptions['progress'];
  log?: (line: string) => void;
}

export interface TrainedParser {
  trainer: Trainer;
  history: Record<string, number>[];
  best: { epoch: number; value: number };
  exported?: Exported;
}

/** The metric that selects the best epoch: validation Segment Type@AV. */
export const SELECT_METRIC = 'val_seg_type';

export async function trainParser(o: TrainParserOptions): Promise<TrainedParser> {
  for (const [what, d] of [
    ['train', o.train],
    ['val', o.val],
  ] as const) {
    if (d.audioDim !== o.config.audioDim || d.visualDim !== o.config.visualDim) {
      throw new LlpFormatError(
        `${what} features are audio ${d.audioDim}-d, visual ${d.visualDim}-d but the model takes ${o.config.audioDim} and ${o.config.visualDim}`,
      );
    }
  }
  const spec = parserSpec(o.config, { name: o.name, seed: o.seed });
  const trainer = await Trainer.create(spec, {
    seed: o.seed,
    providers: o.providers ?? ['cpu'],
    stepsPerRun: o.stepsPerRun,
    log: o.log,
  });
  const batchSize = o.batchSize ?? 32;
  const total = o.epochs * Math.ceil(o.train.filenames.length / batchSize);
  const lr = o.lr ?? 1e-3;
  const history = await trainer.fit(dataset(o.train), {
    epochs: o.epochs,
    batchSize,
    schedule: warmupCosine({ base: lr, warmup: Math.ceil(total / 10), total, min: lr / 100 }),
    evaluate: async (t) => metricRecord(evaluateParser(await predictParser(t, o.val), o.val), 'val_'),
    select: { metric: SELECT_METRIC, mode: 'max' },
    progress: o.progress,
    log: o.log,
  });
  const best = trainer.best!;
  const result: TrainedParser = { trainer, history, best: { epoch: best.epoch, value: best.value } };
  if (o.out) {
    const bestRecord = history[best.epoch - 1];
    const metrics = Object.fromEntries(Object.entries(bestRecord).filter(([k]) => k.startsWith('val_')));
    result.exported = await exportModel(spec, trainer.parameters('best'), {
      dir: o.out,
      manifest: {
        kind: 'parser',
        version: '1',
        classes: [...LLP_CLASSES],
        thresholds: 0.5,
        features: { audio: o.config.audioDim, visual: o.config.visualDim },
        ...o.manifest,
        provenance: { source: 'avvp train', seed: o.seed, sha256Source: 'export', ...o.manifest?.provenance },
        metrics: { ...metrics, best_epoch: best.epoch, epochs: o.epochs },
      },
    });
  }
  return result;
}
