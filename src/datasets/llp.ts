// The LLP (Look, Listen and Parse) dataset formats: the tab-separated annotation files, the
// per-video feature .npy files and VALOR's segment-level pseudo-label .npy files.
// Everything is read exactly as the official code reads it (see docs/eval.md): ground truth is
// looked up by the exact filename, feature and pseudo-label files by its first 11 characters.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseDelimited, DelimitedParseError } from '../util/delimited.js';
import { NpyError, readNpy, type NpyArray } from './npy.js';

/** The 25 LLP classes in the official index order. */
export const LLP_CLASSES: readonly string[] = Object.freeze([
  'Speech',
  'Car',
  'Cheering',
  'Dog',
  'Cat',
  'Frying_(food)',
  'Basketball_bounce',
  'Fire_alarm',
  'Chainsaw',
  'Cello',
  'Banjo',
  'Singing',
  'Chicken_rooster',
  'Violin_fiddle',
  'Vacuum_cleaner',
  'Baby_laughter',
  'Accordion',
  'Lawn_mower',
  'Motorcycle',
  'Helicopter',
  'Acoustic_guitar',
  'Telephone_bell_ringing',
  'Baby_cry_infant_cry',
  'Blender',
  'Clapping',
]);

/** One-second segments per clip: every matrix here is (LLP_SEGMENTS, classes) in row-major order. */
export const LLP_SEGMENTS = 10;

export type LlpSplit = 'train' | 'val' | 'test';

/** File names inside an LLP annotation folder. val/test weak labels are the `_pd` files. */
export const LLP_FILES = {
  train: 'AVVP_train.csv',
  val: 'AVVP_val_pd.csv',
  test: 'AVVP_test_pd.csv',
  audio: 'AVVP_eval_audio.csv',
  visual: 'AVVP_eval_visual.csv',
} as const;

export class LlpFormatError extends Error {}

export interface WeakLabel {
  filename: string;
  /** Class indices, ascending, without repeats. */
  classes: number[];
  /** 1-based line in the source file. */
  line: number;
}

export interface DenseRow {
  filename: string;
  onset: number;
  offset: number;
  classIndex: number;
  line: number;
}

/** The key of a video's feature and pseudo-label files: the 11-character YouTube id. */
export function videoId(filename: string, where?: string): string {
  if (filename.length < 11) {
    const prefix = where ? `${where}: ` : '';
    throw new LlpFormatError(`${prefix}filename '${filename}' is shorter than the 11-character video id`);
  }
  return filename.slice(0, 11);
}

function classLookup(classes: readonly string[]): Map<string, number> {
  return new Map(classes.map((name, i) => [name, i]));
}

function table(text: string, source: string, columns: string[]) {
  let t;
  try {
    t = parseDelimited(text, { delimiter: '\t', header: true, source });
  } catch (err) {
    if (err instanceof DelimitedParseError) throw new LlpFormatError(err.message);
    throw err;
  }
  const header = t.header ?? [];
  if (header.join('\t') !== columns.join('\t')) {
    throw new LlpFormatError(
      `${source}:1: expected the tab-separated header '${columns.join('\\t')}', found '${header.join('\\t')}'`,
    );
  }
  return t;
}

function unknownClass(where: string, name: string, classes: readonly string[]): LlpFormatError {
  const hint = classes === LLP_CLASSES ? 'the 25 LLP classes' : `${classes.length} classes`;
  return new LlpFormatError(
    `${where}: unknown class '${name}' (expected one of ${hint}, e.g. '${classes[0]}')`,
  );
}

/** Parses a weak-label file (`filename<TAB>event_labels`, labels comma-separated). */
export function parseWeakLabels(text: string, source: string, classes = LLP_CLASSES): WeakLabel[] {
  const t = table(text, source, ['filename', 'event_labels']);
  const index = classLookup(classes);
  const seenIds = new Map<string, number>();
  return t.rows.map(([filename, labels], i) => {
    const line = t.lines[i];
    const where = `${source}:${line}`;
    const id = videoId(filename, where);
    const previous = seenIds.get(id);
    if (previous !== undefined) {
      throw new LlpFormatError(
        `${where}: video id '${id}' already appears on line ${previous}; files are keyed by it, so it must be unique`,
      );
    }
    seenIds.set(id, line);
    if (labels === '') throw new LlpFormatError(`${where}: no event labels for '${filename}'`);
    const found = new Set<number>();
    for (const name of labels.split(',')) {
      const c = index.get(name);
      if (c === undefined) throw unknownClass(where, name, classes);
      found.add(c);
    }
    return { filename, classes: [...found].sort((a, b) => a - b), line };
  });
}

/**
 * Parses a dense file (`filename<TAB>onset<TAB>offset<TAB>event_labels`, one class per row,
 * offset exclusive). Rows with onset >= offset are kept: they mark nothing, as in the official
 * code, and the real audio file has seven of them.
 */
export function parseDenseLabels(text: string, source: string, classes = LLP_CLASSES): DenseRow[] {
  const t = table(text, source, ['filename', 'onset', 'offset', 'event_labels']);
  const index = classLookup(classes);
  return t.rows.map(([filename, onsetText, offsetText, name], i) => {
    const line = t.lines[i];
    const where = `${source}:${line}`;
    if (filename === '') throw new LlpFormatError(`${where}: empty filename`);
    const bound = (text: string, column: string) => {
      if (!/^\d+$/.test(text) || Number(text) > LLP_SEGMENTS) {
        throw new LlpFormatError(
          `${where}: ${column} must be a whole segment index from 0 to ${LLP_SEGMENTS}, got '${text}'`,
        );
      }
      return Number(text);
    };
    const onset = bound(onsetText, 'onset');
    const offset = bound(offsetText, 'offset');
    const classIndex = index.get(name);
    if (classIndex === undefined) throw unknownClass(where, name, classes);
    return { filename, onset, offset, classIndex, line };
  });
}

/** Builds each filename's (segments, classes) 0/1 matrix; repeated rows set, never add. */
export function denseMatrices(rows: DenseRow[], numClasses = LLP_CLASSES.length): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const row of rows) {
    let m = out.get(row.filename);
    if (!m) out.set(row.filename, (m = new Uint8Array(LLP_SEGMENTS * numClasses)));
    for (let t = row.onset; t < row.offset; t++) m[t * numClasses + row.classIndex] = 1;
  }
  return out;
}

async function readAnnotationFile(dir: string, name: string): Promise<{ text: string; path: string }> {
  const path = join(dir, name);
  try {
    return { text: await readFile(path, 'utf8'), path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LlpFormatError(`missing annotation file ${path} (an LLP annotation folder holds ${name})`);
    }
    throw new LlpFormatError(`cannot read ${path} (${code ?? String(err)})`);
  }
}

/** Reads a split's weak labels from an annotation folder. */
export async function loadWeakLabels(
  dir: string,
  split: LlpSplit,
  classes = LLP_CLASSES,
): Promise<WeakLabel[]> {
  const { text, path } = await readAnnotationFile(dir, LLP_FILES[split]);
  return parseWeakLabels(text, path, classes);
}

/** What the evaluation needs for one split: its videos and the dense audio and visual ground truth. */
export interface LlpEvalAnnotations {
  split: 'val' | 'test';
  classes: readonly string[];
  videos: WeakLabel[];
  /** Dense matrices by exact filename, for every filename in the dense files (all splits). */
  audio: Map<string, Uint8Array>;
  visual: Map<string, Uint8Array>;
}

export async function loadEvalAnnotations(
  dir: string,
  split: 'val' | 'test',
  classes = LLP_CLASSES,
): Promise<LlpEvalAnnotations> {
  const videos = await loadWeakLabels(dir, split, classes);
  const dense = async (name: string) => {
    const { text, path } = await readAnnotationFile(dir, name);
    return denseMatrices(parseDenseLabels(text, path, classes), classes.length);
  };
  return {
    split,
    classes,
    videos,
    audio: await dense(LLP_FILES.audio),
    visual: await dense(LLP_FILES.visual),
  };
}

/** A video's dense ground truth; all zeros for a modality without rows (exact filename match). */
export function groundTruth(
  annotations: LlpEvalAnnotations,
  filename: string,
): { audio: Uint8Array; visual: Uint8Array } {
  const zeros = () => new Uint8Array(LLP_SEGMENTS * annotations.classes.length);
  return {
    audio: annotations.audio.get(filename) ?? zeros(),
    visual: annotations.visual.get(filename) ?? zeros(),
  };
}

async function readVideoNpy(path: string, what: string, filename: string): Promise<NpyArray> {
  try {
    return await readNpy(path);
  } catch (err) {
    if (err instanceof NpyError && /\(ENOENT\)$/.test(err.message)) {
      throw new LlpFormatError(`missing ${what} file for '${filename}': ${path}`);
    }
    throw err;
  }
}

export interface VideoFeatures {
  /** [steps, dim], e.g. [10, 128] for VGGish or [64, 768] for CLAP token maps. */
  shape: [number, number];
  data: Float32Array;
}

/** Reads `<dir>/<video id>.npy`, a 2-D float array; `expect` checks its shape where known. */
export async function loadVideoFeatures(
  dir: string,
  filename: string,
  expect: { steps?: number; dim?: number } = {},
): Promise<VideoFeatures> {
  const path = join(dir, `${videoId(filename)}.npy`);
  const array = await readVideoNpy(path, 'feature', filename);
  if (array.shape.length !== 2) {
    throw new LlpFormatError(
      `${path}: features must be 2-D (steps, dim), found shape (${array.shape.join(', ')})`,
    );
  }
  const [steps, dim] = array.shape;
  if (
    (expect.steps !== undefined && steps !== expect.steps) ||
    (expect.dim !== undefined && dim !== expect.dim)
  ) {
    throw new LlpFormatError(
      `${path}: expected shape (${expect.steps ?? 'any'}, ${expect.dim ?? 'any'}), found (${steps}, ${dim})`,
    );
  }
  if (array.dtype !== 'float32' && array.dtype !== 'float64') {
    throw new LlpFormatError(`${path}: features must be float32 or float64, found ${array.dtype}`);
  }
  const data = Float32Array.from(array.data as Float32Array | Float64Array);
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    throw new LlpFormatError(`${path}: non-finite value at step ${Math.floor(bad / dim)}, dim ${bad % dim}`);
  }
  return { shape: [steps, dim], data };
}

/** VALOR's layout: audio labels from CLAP, visual from CLIP, one (10, 25) file per video id. */
export function valorPseudoLabelPaths(root: string, filename: string): { audio: string; visual: string } {
  const file = `${videoId(filename)}.npy`;
  return {
    audio: join(root, 'CLAP', 'segment_pseudo_labels', file),
    visual: join(root, 'CLIP', 'segment_pseudo_labels', file),
  };
}

/** Reads one (segments, classes) 0/1 pseudo-label file of any integer, bool or float dtype. */
async function loadPseudoLabelFile(path: string, filename: string, numClasses: number): Promise<Uint8Array> {
  const array = await readVideoNpy(path, 'pseudo-label', filename);
  if (array.shape.length !== 2 || array.shape[0] !== LLP_SEGMENTS || array.shape[1] !== numClasses) {
    throw new LlpFormatError(
      `${path}: pseudo labels must have shape (${LLP_SEGMENTS}, ${numClasses}), found (${array.shape.join(', ')})`,
    );
  }
  const out = new Uint8Array(array.data.length);
  for (let i = 0; i < out.length; i++) {
    const x = Number(array.data[i]);
    if (x !== 0 && x !== 1) {
      throw new LlpFormatError(
        `${path}: pseudo labels must be 0 or 1, found ${x} at segment ${Math.floor(i / numClasses)}, class ${i % numClasses}`,
      );
    }
    out[i] = x;
  }
  return out;
}

/** Reads a video's audio and visual pseudo labels from a VALOR-layout folder. */
export async function loadPseudoLabels(
  root: string,
  filename: string,
  numClasses = LLP_CLASSES.length,
): Promise<{ audio: Uint8Array; visual: Uint8Array }> {
  const paths = valorPseudoLabelPaths(root, filename);
  return {
    audio: await loadPseudoLabelFile(paths.audio, filename, numClasses),
    visual: await loadPseudoLabelFile(paths.visual, filename, numClasses),
  };
}
