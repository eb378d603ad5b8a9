// Offline feature extraction (`avvp extract`): every video of a folder, a file list or a SynthAV
// split goes through the live runtime's own source and encoder operators (fromMedia or
// synthSource -> overload in 'process-all' mode -> encode through a shared batcher on the worker
// pool), without real-time pacing, and is written as per-video (segments, D) .npy files in the LLP
// community's layout, keyed by the 11-character video id. Writes are atomic (temp file + rename),
// a run can be resumed (complete outputs are skipped), and <out>/extract.json records what was made
// with which encoders. Rules and decisions: docs/training.md, "Feature extraction".
//
// Public API: openExtractEncoders, fileVideos, synthVideos, videoKey, extractFeatures,
// ExtractError, MANIFEST_FILE.

import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  EMPTY,
  NEVER,
  Observable,
  Subject,
  catchError,
  from,
  fromEvent,
  lastValueFrom,
  map,
  mergeMap,
  of,
  take,
  takeUntil,
  tap,
  toArray,
} from 'rxjs';
import {
  EncoderChoiceError,
  EncoderInputError,
  chooseEncoders,
  segmentEncoders,
  type IngestFormat,
} from '../models/encoders/index.js';
import type { ModelManifest } from '../models/manifest.js';
import { ModelDirError, loadModelDir } from '../models/registry.js';
import { InferencePool, PoolError } from '../pool/pool.js';
import { createSharedBatcher } from '../operators/batch.js';
import { encodeBatch, type Encoders } from '../operators/encode.js';
import { overload } from '../operators/overload.js';
import { fromMedia, MediaSourceError } from '../streams/fromMedia.js';
import { synthClip } from '../synth/clip.js';
import { writeDataset } from '../synth/dataset.js';
import type { PresetName } from '../synth/presets.js';
import { FRAME_HEIGHT, FRAME_WIDTH } from '../synth/scene.js';
import { synthSource } from '../synth/source.js';
import type { Features, Segment } from '../types.js';
import { formatNpy, parseNpy } from '../datasets/npy.js';
import { LLP_SEGMENTS, type LlpSplit } from '../datasets/llp.js';

export const MANIFEST_FILE = 'extract.json';

/** Segments each video may have out to the encoders at once (the source pauses beyond that). */
const PENDING_PER_VIDEO = 4;

/** Extensions a folder is scanned for; files named on the command line are always tried. */
const VIDEO_EXTENSIONS = new Set(
  ['mp4', 'm4v', 'mkv', 'webm', 'mov', 'avi', 'ts', 'mts', 'flv', 'mpg', 'mpeg', 'ogv', 'wmv', '3gp'].map(
    (e) => `.${e}`,
  ),
);

/** A problem with the run as a whole (bad input list, incompatible output folder, bad encoders). */
export class ExtractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractError';
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders

export interface EncoderInfo {
  name: string;
  file: string;
  sha256: string;
  /** Feature size per segment. */
  dim: number;
}

export interface ExtractEncoders {
  encoders: Required<Encoders>;
  audio: EncoderInfo;
  /** mapShape: the visual encoder's spatial map, when it has one. */
  visual: EncoderInfo & { mapShape?: [number, number, number] };
  /** How the videos are decoded for these encoders. */
  ingest: IngestFormat;
  /** Inference workers (the width of the shared batcher). */
  workers: number;
  close(): Promise<void>;
}

/**
 * The audio and visual encoder of a model folder (manifest checked, sha256 verified), run by an
 * InferencePool (one onnxruntime thread per worker). Encoders must take raw one-second media, as
 * the bundled DSP encoders and the CLIP/CLAP exports adapted by `avvp models adapt` do.
 */
export async function openExtractEncoders(
  modelsDir: string,
  opts: { workers?: number } = {},
): Promise<ExtractEncoders> {
  let chosen;
  try {
    chosen = chooseEncoders(await loadModelDir(modelsDir));
  } catch (err) {
    throw err instanceof ModelDirError || err instanceof EncoderChoiceError
      ? new ExtractError(err.message)
      : err;
  }
  const workers = opts.workers ?? Math.min(2, availableParallelism());
  const pool = await InferencePool.create({
    models: { audio: chosen.audio.filePath, visual: chosen.visual.filePath },
    size: workers, // providers: the engine's default choice (cuda when present, then cpu)
  }).catch((err: unknown) => {
    throw err instanceof PoolError ? new ExtractError(`${modelsDir}: ${err.message}`) : err;
  });
  const { specs } = chosen;
  const info = (m: ModelManifest, filePath: string, dim: number): EncoderInfo => ({
    name: m.name,
    file: path.basename(filePath),
    sha256: m.sha256,
    dim,
  });
  return {
    encoders: segmentEncoders(chosen, {
      audio: (feeds) => pool.run('audio', feeds),
      visual: (feeds) => pool.run('visual', feeds),
    }),
    audio: info(chosen.audio.manifest, chosen.audio.filePath, specs.audio.features),
    visual: {
      ...info(chosen.visual.manifest, chosen.visual.filePath, specs.visual.features),
      ...(specs.visual.mapShape ? { mapShape: specs.visual.mapShape } : {}),
    },
    ingest: chosen.ingest,
    workers,
    close: () => pool.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Videos

/** One video to extract: its key, where it came from, and its segments on demand. */
export interface VideoJob {
  /** The LLP key: file names of the outputs (<id>.npy). */
  id: string;
  /** The input file, or the SynthAV clip's LLP file name. */
  source: string;
  /**
   * The source operator: segments decoded in the encoders' format, with flow control (acknowledge
   * each one on `consumed`).
   */
  open(consumed: Observable<unknown>, maxPending: number, format: IngestFormat): Observable<Segment>;
}

/** LLP's key of a file: the first 11 characters of its name without extension (the whole name if shorter). */
export function videoKey(file: string): string {
  const stem = path.basename(file, path.extname(file));
  return stem.slice(0, 11);
}

/**
 * Videos from files and folders. Folders are scanned (not recursively) for video extensions, hidden
 * files skipped; files named directly are always tried. Two inputs with one key are an error.
 */
export async function fileVideos(inputs: readonly string[]): Promise<VideoJob[]> {
  if (inputs.length === 0)
    throw new ExtractError('no input given: pass --input with a folder or video files');
  const files: string[] = [];
  for (const input of inputs) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input))
      throw new ExtractError(
        `input '${input}' is a URL; extract reads files and folders (a live source has no end: use avvp serve)`,
      );
    const info = await stat(input).catch(() => null);
    if (!info) throw new ExtractError(`input '${input}' does not exist (check the path)`);
    if (info.isDirectory()) {
      const names = (await readdir(input)).filter(
        (n) => !n.startsWith('.') && VIDEO_EXTENSIONS.has(path.extname(n).toLowerCase()),
      );
      if (names.length === 0)
        throw new ExtractError(
          `folder '${input}' holds no video files (looked for ${[...VIDEO_EXTENSIONS].join(' ')})`,
        );
      files.push(...names.sort().map((n) => path.join(input, n)));
    } else files.push(input);
  }
  const byKey = new Map<string, string>();
  for (const file of files) {
    const key = videoKey(file);
    const clash = byKey.get(key);
    if (clash !== undefined)
      throw new ExtractError(
        `'${clash}' and '${file}' have the same video id '${key}' (the first 11 characters of the name); rename one`,
      );
    byKey.set(key, file);
  }
  return files.map((file) => ({
    id: videoKey(file),
    source: file,
    // audio and video are required: a missing stream fails the video with fromMedia's message
    open: (consumed, maxPending, format) =>
      fromMedia(file, {
        stream: videoKey(file),
        ...format,
        audio: true,
        video: true,
        consumed,
        maxPending,
      }),
  }));
}

export interface SynthVideosOptions {
  seed: number;
  split: LlpSplit;
  clips: number;
  preset?: PresetName;
}

/** SynthAV clips are made at their default length, LLP's ten seconds. */
const SYNTH_SEGMENTS = LLP_SEGMENTS;

/**
 * SynthAV clips 0..clips-1 of a split, rendered in memory by synthSource (one source per clip).
 * A clip's id is worked out when the run reaches it (drawing a scene takes about a millisecond).
 */
export function synthVideos(o: SynthVideosOptions): VideoJob[] {
  return Array.from({ length: o.clips }, (_, i) => {
    let names: { id: string; name: string } | undefined;
    const clip = () => {
      if (!names) {
        const { id, name } = synthClip({ seed: o.seed, split: o.split, preset: o.preset }, i);
        names = { id, name };
      }
      return names;
    };
    return {
      get id() {
        return clip().id;
      },
      get source() {
        return clip().name;
      },
      open: (consumed, maxPending, format) => {
        // SynthAV renders any frame and sample rate, at one frame size
        if (format.width !== FRAME_WIDTH || format.height !== FRAME_HEIGHT)
          throw new ExtractError(
            `SynthAV renders ${FRAME_WIDTH}x${FRAME_HEIGHT} frames; the visual encoder takes ${format.width}x${format.height}`,
          );
        return synthSource({
          seed: o.seed,
          split: o.split,
          preset: o.preset,
          fps: format.fps,
          sampleRate: format.sampleRate,
          clips: 1,
          firstClip: i,
          stream: clip().name,
          consumed,
          maxPending,
        });
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Extraction

export interface VideoRecord {
  id: string;
  source: string;
  /** Seconds decoded (at most `segments`; absent for videos completed by an earlier run without a record). */
  decoded?: number;
  /** Rows repeated from the last decoded second to reach `segments`. */
  padded?: number;
  /** True when the source had more seconds than `segments` (the rest was not decoded). */
  truncated?: boolean;
  /** Seconds without the modality, filled from the nearest second that has it. */
  filled?: { audio: number; visual: number };
}

export interface FailedVideo {
  source: string;
  reason: string;
}

export interface ExtractManifest {
  tool: 'avvp extract';
  segments: number;
  encoders: { audio: EncoderInfo; visual: EncoderInfo & { mapShape?: [number, number, number] } };
  /** Output files relative to the folder, with their shapes. */
  layout: Record<string, string>;
  videos: VideoRecord[];
  /** Videos of the latest run that could not be extracted. */
  failed: FailedVideo[];
}

export interface ExtractOptions {
  videos: readonly VideoJob[];
  out: string;
  encoders: ExtractEncoders;
  /** Rows per video (default 10, as LLP). */
  segments?: number;
  /** Videos decoded at once (default 2). */
  jobs?: number;
  /** Also write visual_map/<id>.npy (segments, h, w, Dm). */
  maps?: boolean;
  /** SynthAV runs: written once every clip is extracted (LLP CSVs, pseudo labels, truth). */
  annotations?: SynthVideosOptions;
  signal?: AbortSignal;
  /** After each video: what happened to it, and how many are finished. */
  onVideo?(event: {
    job: VideoJob;
    outcome: 'extracted' | 'skipped' | 'failed';
    reason?: string;
    done: number;
  }): void;
}

export interface ExtractSummary {
  extracted: number;
  skipped: number;
  failed: FailedVideo[];
  manifest: ExtractManifest;
}

type Modality = 'audio' | 'visual' | 'visual_map';

function mapShapeFor(visual: ExtractEncoders['visual']): [number, number, number] {
  if (!visual.mapShape)
    throw new ExtractError(`visual encoder '${visual.name}' has no visual_map output: run without --maps`);
  return visual.mapShape;
}

/** Extracts every video; per-video failures are collected, problems of the run as a whole throw. */
export async function extractFeatures(o: ExtractOptions): Promise<ExtractSummary> {
  const segments = o.segments ?? LLP_SEGMENTS;
  const jobs = o.jobs ?? 2;
  if (!Number.isInteger(segments) || segments < 1)
    throw new RangeError(`extract: segments must be a positive integer, got ${segments}`);
  if (o.annotations && segments !== SYNTH_SEGMENTS)
    throw new RangeError(
      `extract: SynthAV clips have ${SYNTH_SEGMENTS} segments (LLP's), got segments ${segments}`,
    );
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new RangeError(`extract: jobs must be a positive integer, got ${jobs}`);
  const { audio, visual } = o.encoders;
  const shapes: Partial<Record<Modality, number[]>> = {
    audio: [segments, audio.dim],
    visual: [segments, visual.dim],
    ...(o.maps ? { visual_map: [segments, ...mapShapeFor(visual)] } : {}),
  };
  const outputs = Object.keys(shapes) as Modality[];
  const manifest: ExtractManifest = {
    tool: 'avvp extract',
    segments,
    encoders: { audio, visual },
    layout: Object.fromEntries(outputs.map((m) => [`${m}/<id>.npy`, `float32 (${shapes[m]!.join(', ')})`])),
    videos: [],
    failed: [],
  };
  const previous = await readPreviousManifest(o.out, manifest);
  for (const folder of [o.out, ...outputs.map((m) => path.join(o.out, m))]) await prepareFolder(folder);

  const records = new Map(previous.map((r) => [r.id, r]));
  const failed: FailedVideo[] = [];
  let extracted = 0;
  let skipped = 0;
  let done = 0;
  const shared = createSharedBatcher(encodeBatch(o.encoders.encoders), {
    maxBatch: 2 * PENDING_PER_VIDEO,
    concurrency: o.encoders.workers,
  });
  const finish = (job: VideoJob, outcome: 'extracted' | 'skipped' | 'failed', reason?: string) =>
    o.onVideo?.({ job, outcome, reason, done: ++done });

  const write = async (job: VideoJob, features: Features[]): Promise<void> => {
    const rows = toRows(features, segments, job);
    for (const m of outputs) {
      const data = formatNpy({ dtype: 'float32', shape: shapes[m]!, data: rows.data[m] });
      await writeAtomic(path.join(o.out, m, `${job.id}.npy`), data);
    }
    records.set(job.id, rows.record);
    extracted++;
    finish(job, 'extracted');
  };

  // Observables all the way down, so that an abort unsubscribes the sources (ffmpeg is killed).
  const one = (job: VideoJob): Observable<void> =>
    from(isComplete(o.out, job.id, shapes)).pipe(
      mergeMap((complete) => {
        if (!complete)
          return encodedSegments(job, o.encoders.ingest, segments, (s) =>
            shared.run([s]).pipe(map(([f]) => f)),
          ).pipe(
            toArray(),
            mergeMap((features) => write(job, features)),
            catchError((err: unknown) => {
              if (!(err instanceof MediaSourceError || err instanceof EncoderInputError)) throw err;
              failed.push({ source: job.source, reason: err.message });
              finish(job, 'failed', err.message);
              return EMPTY;
            }),
          );
        skipped++;
        if (!records.has(job.id)) records.set(job.id, { id: job.id, source: job.source });
        finish(job, 'skipped');
        return EMPTY;
      }),
    );

  const writeManifest = async () => {
    manifest.videos = [...records.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    manifest.failed = failed;
    await writeAtomic(path.join(o.out, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  };

  try {
    if (o.signal?.aborted) throw o.signal.reason;
    const aborted = o.signal ? fromEvent(o.signal, 'abort') : NEVER;
    await lastValueFrom(from(o.videos).pipe(mergeMap(one, jobs), takeUntil(aborted)), {
      defaultValue: undefined,
    });
    if (o.signal?.aborted) throw o.signal.reason;
  } finally {
    shared.close();
    await writeManifest();
  }
  if (o.annotations && failed.length === 0) await writeDataset({ ...o.annotations, out: o.out });
  return { extracted, skipped, failed, manifest };
}

/**
 * One video through the runtime's operators: the source (paused while PENDING_PER_VIDEO segments
 * are out), the first `segments` seconds only, and overload in 'process-all' mode in front of the
 * shared encode batcher, as a live stream's pipeline has it.
 */
function encodedSegments(
  job: VideoJob,
  format: IngestFormat,
  segments: number,
  encodeOne: (s: Segment) => Observable<Features>,
): Observable<Features> {
  const consumed = new Subject<void>();
  return job.open(consumed, PENDING_PER_VIDEO, format).pipe(
    take(segments + 1), // one more than needed tells whether the video was longer
    overload((s: Segment) => (s.index < segments ? encodeOne(s) : of(marker(s))), {
      mode: 'process-all',
      concurrency: PENDING_PER_VIDEO,
    }),
    tap(() => consumed.next()),
  );
}

/** Stands for the second after the last one kept (never encoded). */
function marker(s: Segment): Features {
  return { stream: s.stream, index: s.index, t0: s.t0, t1: s.t1, wallclock: s.wallclock };
}

/**
 * Features of the decoded seconds -> (segments, D) rows per output. A second without a modality
 * takes it from the nearest earlier second that has it (a leading gap from the first later one);
 * a video shorter than `segments` repeats its last second; a longer one was cut by `take`.
 */
function toRows(
  features: Features[],
  segments: number,
  job: VideoJob,
): { data: Record<Modality, Float32Array>; record: VideoRecord } {
  const kept = features.filter((f) => f.index < segments);
  const rows = (pick: (f: Features) => Float32Array | undefined, name: string) => {
    const present = kept.map(pick);
    let last = present.find((x) => x !== undefined);
    if (last === undefined)
      throw new MediaSourceError(job.id, `'${job.source}' has no ${name} in its first ${segments} s`);
    let filled = 0;
    const filledRows = present.map((x) => {
      if (x === undefined) filled++;
      else last = x;
      return x ?? last!;
    });
    const dim = filledRows[0].length;
    const out = new Float32Array(segments * dim);
    for (let k = 0; k < segments; k++) out.set(filledRows[Math.min(k, filledRows.length - 1)], k * dim);
    return { out, filled };
  };
  const a = rows((f) => f.audio, 'audio');
  const v = rows((f) => f.visual, 'video');
  const m = rows((f) => f.visualMap, 'video');
  return {
    data: { audio: a.out, visual: v.out, visual_map: m.out },
    record: {
      id: job.id,
      source: job.source,
      decoded: kept.length,
      padded: segments - kept.length,
      truncated: features.length > segments,
      filled: { audio: a.filled, visual: v.filled },
    },
  };
}

/** True when every output of the video exists and is a float32 .npy of the expected shape. */
async function isComplete(
  out: string,
  id: string,
  shapes: Partial<Record<Modality, number[]>>,
): Promise<boolean> {
  for (const [m, shape] of Object.entries(shapes)) {
    try {
      const file = path.join(out, m, `${id}.npy`);
      const array = parseNpy(await readFile(file), file);
      if (array.dtype !== 'float32' || array.shape.join() !== shape.join()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Writes to a temp file in the same folder, then renames: readers never see half a file. */
async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Creates an output folder and removes temp files left by a run that was killed mid-write. */
async function prepareFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir))
    if (/\.(npy|json)\.tmp-[0-9a-f]{8}$/.test(name)) await rm(path.join(dir, name), { force: true });
}

/**
 * The records of earlier runs into the same folder; refuses a folder made with other encoders or
 * another segment count, whose files would silently mix with the new ones.
 */
async function readPreviousManifest(out: string, current: ExtractManifest): Promise<VideoRecord[]> {
  const file = path.join(out, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ExtractError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  let old: Partial<ExtractManifest>;
  try {
    old = JSON.parse(text) as Partial<ExtractManifest>;
  } catch (err) {
    throw new ExtractError(
      `${file} is not valid JSON (${(err as Error).message}); delete it to start the folder again`,
    );
  }
  const describe = (m: Partial<ExtractManifest>) =>
    `${m.segments} segments, audio ${m.encoders?.audio?.name} (sha256 ${m.encoders?.audio?.sha256?.slice(0, 12)}), ` +
    `visual ${m.encoders?.visual?.name} (sha256 ${m.encoders?.visual?.sha256?.slice(0, 12)})`;
  if (
    old.segments !== current.segments ||
    old.encoders?.audio?.sha256 !== current.encoders.audio.sha256 ||
    old.encoders?.visual?.sha256 !== current.encoders.visual.sha256
  ) {
    throw new ExtractError(
      `'${out}' holds features made with ${describe(old)}; this run uses ${describe(current)}. ` +
        'Use another --out folder (or delete this one) so that features of different encoders never mix',
    );
  }
  return Array.isArray(old.videos) ? old.videos : [];
}
