// The JSONL exchange format for LLP predictions, so models trained elsewhere can be scored by
// `avvp eval llp`. One JSON object per line, classes in the official order:
//   {"filename": "<as in the split CSV>", "video": [C probabilities],
//    "audio": [T rows of C probabilities], "visual": [T rows of C probabilities]}
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LlpPrediction } from './llp.js';

export class PredictionFormatError extends Error {}

export interface FilePrediction {
  filename: string;
  prediction: LlpPrediction;
  /** 1-based line in the JSONL file. */
  line: number;
}

/** Validates one parsed line; `where` is `file:line` for messages. */
export function parsePredictionRecord(
  value: unknown,
  where: string,
  shape: { segments: number; classes: number },
): { filename: string; prediction: LlpPrediction } {
  const fail = (what: string): never => {
    throw new PredictionFormatError(`${where}: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('expected a JSON object {"filename", "video", "audio", "visual"}');
  }
  const record = value as Record<string, unknown>;
  const { filename } = record;
  if (typeof filename !== 'string' || filename === '') return fail('"filename" must be a non-empty string');
  const { segments, classes } = shape;
  const probabilities = (row: unknown, what: string, out: Float64Array, at: number) => {
    if (!Array.isArray(row) || row.length !== classes) {
      const found = Array.isArray(row) ? `${row.length} values` : typeof row;
      fail(`${what} must be ${classes} probabilities (one per class), found ${found}`);
    }
    (row as unknown[]).forEach((x, c) => {
      if (typeof x !== 'number' || x < 0 || x > 1) {
        fail(
          `${what}[${c}] must be a probability in [0, 1], found ${JSON.stringify(x)} (pass sigmoid outputs, not logits)`,
        );
      }
      out[at + c] = x as number;
    });
  };
  const video = new Float64Array(classes);
  if (!('video' in record)) fail('missing "video"');
  probabilities(record.video, '"video"', video, 0);
  const matrix = (key: 'audio' | 'visual') => {
    const rows = record[key];
    if (!Array.isArray(rows) || rows.length !== segments) {
      const found = Array.isArray(rows)
        ? `${rows.length} rows`
        : rows === undefined
          ? 'nothing'
          : typeof rows;
      fail(`"${key}" must be ${segments} rows (one per segment) of ${classes} probabilities, found ${found}`);
    }
    const out = new Float64Array(segments * classes);
    (rows as unknown[]).forEach((row, t) => probabilities(row, `"${key}"[${t}]`, out, t * classes));
    return out;
  };
  return { filename, prediction: { video, audio: matrix('audio'), visual: matrix('visual') } };
}

/** Reads a predictions file line by line; blank lines are skipped, duplicates are an error. */
export async function readPredictions(
  path: string,
  shape: { segments: number; classes: number },
): Promise<FilePrediction[]> {
  const out: FilePrediction[] = [];
  const lineOf = new Map<string, number>();
  let line = 0;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      const where = `${path}:${line}`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new PredictionFormatError(`${where}: not valid JSON (${(err as Error).message})`);
      }
      const { filename, prediction } = parsePredictionRecord(value, where, shape);
      const previous = lineOf.get(filename);
      if (previous !== undefined) {
        throw new PredictionFormatError(
          `${where}: '${filename}' already has a prediction on line ${previous}`,
        );
      }
      lineOf.set(filename, line);
      out.push({ filename, prediction, line });
    }
  } catch (err) {
    if (err instanceof PredictionFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PredictionFormatError(`cannot read predictions ${path} (${code})`);
  } finally {
    lines.close();
  }
  return out;
}

/** One JSONL line for a prediction, e.g. for writing a model's outputs for `avvp eval llp`. */
export function formatPredictionLine(filename: string, prediction: LlpPrediction): string {
  const classes = prediction.video.length;
  const rows = (m: ArrayLike<number>) => {
    const all = Array.from(m);
    return Array.from({ length: all.length / classes }, (_, t) => all.slice(t * classes, (t + 1) * classes));
  };
  return JSON.stringify({
    filename,
    video: Array.from(prediction.video),
    audio: rows(prediction.audio),
    visual: rows(prediction.visual),
  });
}
