// Checks against the real LLP annotation files in ../shared/datasets/llp (never copied into the
// project): parsing, the dataset facts of the research note, and the metric's reference values.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateLlp, type LlpMetrics } from '../../src/eval/llp.js';
import { runAvvp } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { formatPredictionLine } from '../../src/eval/llp-predictions.js';
import {
  groundTruth,
  LLP_CLASSES,
  LLP_FILES,
  loadEvalAnnotations,
  loadWeakLabels,
  parseDenseLabels,
  parseWeakLabels,
  type DenseRow,
  type LlpEvalAnnotations,
} from '../../src/datasets/llp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LLP_DIR = resolve(REPO, '../shared/datasets/llp');
const present = existsSync(join(LLP_DIR, LLP_FILES.test));
if (!present) {
  console.warn(`SKIPPED: the LLP annotation files are not at ${LLP_DIR}; the real-data checks did not run.`);
}

const C = LLP_CLASSES.length;

/** The all-zeros predictor: nothing predicted anywhere. */
const ZEROS = {
  video: new Float64Array(C),
  audio: new Float64Array(10 * C),
  visual: new Float64Array(10 * C),
};

function zerosMetrics(a: LlpEvalAnnotations): LlpMetrics {
  return evaluateLlp(a.videos.map((v) => ({ prediction: ZEROS, truth: groundTruth(a, v.filename) })));
}

function expectLevel(actual: LlpMetrics['segment'], expected: number[]) {
  const keys = ['audio', 'visual', 'av', 'type', 'event'] as const;
  keys.forEach((k, i) => expect(actual[k], k).toBeCloseTo(expected[i], 4));
}

describe.skipIf(!present)('real LLP annotation files', () => {
  let dense: { audio: DenseRow[]; visual: DenseRow[] };
  let val: LlpEvalAnnotations;
  let test: LlpEvalAnnotations;

  beforeAll(async () => {
    const read = async (name: string) => parseDenseLabels(await readFile(join(LLP_DIR, name), 'utf8'), name);
    dense = { audio: await read(LLP_FILES.audio), visual: await read(LLP_FILES.visual) };
    val = await loadEvalAnnotations(LLP_DIR, 'val');
    test = await loadEvalAnnotations(LLP_DIR, 'test');
  });

  it('parse with the documented sizes; the splits are disjoint and make up the full set', async () => {
    const train = await loadWeakLabels(LLP_DIR, 'train');
    const full = parseWeakLabels(await readFile(join(LLP_DIR, 'AVVP_dataset_full.csv'), 'utf8'), 'full');
    expect([full.length, train.length, val.videos.length, test.videos.length]).toEqual([
      11849, 10000, 649, 1200,
    ]);
    const names = [train, val.videos, test.videos].flat().map((v) => v.filename);
    expect(new Set(names).size).toBe(11849);
    expect(new Set(full.map((v) => v.filename))).toEqual(new Set(names));
    expect(dense.audio.length).toBe(4131);
    expect(dense.visual.length).toBe(2495);
    expect(new Set(dense.audio.map((r) => r.filename)).size).toBe(1848);
    expect(new Set(dense.visual.map((r) => r.filename)).size).toBe(1665);
  });

  it('have the documented labels-per-video counts, counting a repeated label once', async () => {
    const histogram = (videos: { classes: number[] }[]) => {
      const h: Record<number, number> = {};
      for (const v of videos) h[v.classes.length] = (h[v.classes.length] ?? 0) + 1;
      return h;
    };
    expect(histogram(await loadWeakLabels(LLP_DIR, 'train'))).toEqual({ 1: 4032, 2: 5879, 3: 89 });
    expect(histogram(val.videos)).toEqual({ 1: 212, 2: 367, 3: 56, 4: 14 });
    // The research note counts list entries: 403 and 650. One test video lists a class twice.
    expect(histogram(test.videos)).toEqual({ 1: 404, 2: 649, 3: 118, 4: 25, 5: 3, 7: 1 });
    const text = await readFile(join(LLP_DIR, LLP_FILES.test), 'utf8');
    expect(text.split('\n').filter((l) => /\t(.*,)?([^,]+),(.*,)?\2(,|$)/.test(l))).toEqual([
      'LcFWKgFphXI_20_30\tClapping,Clapping',
    ]);
  });

  it('keep the dense-file quirks that the official code keeps', () => {
    const a = dense.audio;
    // The research note's "6 rows with onset = offset" are 5 such rows and one that runs
    // backwards (onset 9, offset 0); all six mark nothing.
    expect(a.filter((r) => r.onset === r.offset)).toHaveLength(5);
    expect(a.filter((r) => r.onset > r.offset).map((r) => [r.filename, r.onset, r.offset])).toEqual([
      ['8DF2PxdT5tE_390_400', 9, 0],
    ]);
    const key = (r: DenseRow) => `${r.filename}\t${r.onset}\t${r.offset}\t${r.classIndex}`;
    expect(a.length - new Set(a.map(key)).size).toBe(8);
    // Dense rows may name a class outside the video's weak label; they are scored all the same.
    const weak = new Map([...val.videos, ...test.videos].map((v) => [v.filename, v.classes]));
    const outside = [...a, ...dense.visual].filter(
      (r) => weak.get(r.filename)?.includes(r.classIndex) === false,
    );
    expect(outside).toHaveLength(127);
  });

  it('name exactly the documented malformed filenames, which match no video', () => {
    const all = new Set([...val.videos, ...test.videos].map((v) => v.filename));
    const strays = (rows: DenseRow[]) =>
      [...new Set(rows.map((r) => r.filename).filter((f) => !all.has(f)))].sort();
    const malformed = [
      '7X3oSVoA_90_100',
      '17iGUal2M_10_20',
      'AkAfFL5Q4QA_30_40',
      'P7x4FV4lg_570_580',
      '12eWNawPekw_30_40',
      '19jWnmYnlD8_30_400',
      'CSWQ_HzQ_10_20',
      'VMTJRpjbE_150_160',
    ];
    expect(strays(dense.audio)).toEqual([...malformed].sort());
    expect(strays(dense.visual)).toEqual(malformed.filter((f) => f !== '17iGUal2M_10_20').sort());
  });

  it('leave the documented numbers of val/test videos without ground truth for a modality', () => {
    const empty = (a: LlpEvalAnnotations, modality: 'audio' | 'visual') =>
      a.videos.filter((v) => !a[modality].has(v.filename)).length;
    expect([empty(val, 'audio'), empty(test, 'audio')]).toEqual([4, 5]);
    expect([empty(val, 'visual'), empty(test, 'visual')]).toEqual([70, 121]);
    // As the metric sees it, six test videos have no audio GT: H5WcJwyjxIg_2_12 has only onset = offset rows.
    const silent = test.videos.filter((v) => groundTruth(test, v.filename).audio.every((x) => x === 0));
    expect(silent).toHaveLength(6);
    expect(silent.map((v) => v.filename)).toContain('H5WcJwyjxIg_2_12');
  });

  it('reproduce the all-zeros reference on the test split', () => {
    const m = zerosMetrics(test);
    expectLevel(m.segment, [0.5, 10.0833, 14.5, 8.3611, 0]);
    expectLevel(m.event, [0.5, 10.0833, 14.5, 8.3611, 0]);
    // Exactly the share of videos whose GT is empty: 6, 121 and 174 of 1200.
    expect(m.segment.audio).toBe((100 * 6) / 1200);
    expect(m.segment.visual).toBeCloseTo((100 * 121) / 1200, 12);
    expect(m.segment.av).toBeCloseTo((100 * 174) / 1200, 12);
  });

  it('give the all-zeros predictor on val the share of videos with empty GT', () => {
    const m = zerosMetrics(val);
    expect(m.segment.audio).toBeCloseTo((100 * 4) / 649, 12);
    expect(m.segment.visual).toBeCloseTo((100 * 70) / 649, 12);
    expectLevel(m.segment, [0.6163, 10.7858, 14.3297, 8.5773, 0]);
    expectLevel(m.event, [0.6163, 10.7858, 14.3297, 8.5773, 0]);
  });

  it('give 100 on every metric to the oracle that predicts the ground truth', () => {
    for (const a of [val, test]) {
      const m = evaluateLlp(
        a.videos.map((v) => {
          const truth = groundTruth(a, v.filename);
          const video = new Float64Array(C);
          truth.audio.forEach((x, i) => (video[i % C] = Math.max(video[i % C], x, truth.visual[i])));
          return { prediction: { video, audio: truth.audio, visual: truth.visual }, truth };
        }),
      );
      expectLevel(m.segment, [100, 100, 100, 100, 100]);
      expectLevel(m.event, [100, 100, 100, 100, 100]);
    }
  });

  describe('avvp eval llp on the real files', () => {
    const tmp = tempDirs('llp-shared-');
    let dir: string;
    beforeAll(async () => {
      dir = await tmp();
    });

    it('prints the all-zeros reference for a JSONL of the test split', async () => {
      const pred = join(dir, 'zeros.jsonl');
      await writeFile(
        pred,
        test.videos.map((v) => formatPredictionLine(v.filename, ZEROS)).join('\n') + '\n',
      );
      const r = await runAvvp([
        'eval',
        'llp',
        '--pred',
        pred,
        '--annotations',
        LLP_DIR,
        '--split',
        'test',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const stdout = r.stdout;
      const m = JSON.parse(stdout) as LlpMetrics;
      expectLevel(m.segment, [0.5, 10.0833, 14.5, 8.3611, 0]);
      expectLevel(m.event, [0.5, 10.0833, 14.5, 8.3611, 0]);
    });
  });
});
