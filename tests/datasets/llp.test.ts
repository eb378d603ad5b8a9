import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  denseMatrices,
  groundTruth,
  LLP_CLASSES,
  LLP_FILES,
  LlpFormatError,
  loadEvalAnnotations,
  loadPseudoLabels,
  loadVideoFeatures,
  loadWeakLabels,
  parseDenseLabels,
  parseWeakLabels,
  valorPseudoLabelPaths,
  videoId,
} from '../../src/datasets/llp.js';
import { writeNpy } from '../../src/datasets/npy.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('llp-data-');

const C = LLP_CLASSES.length;
const WEAK_HEADER = 'filename\tevent_labels\n';
const DENSE_HEADER = 'filename\tonset\toffset\tevent_labels\n';

describe('LLP classes', () => {
  it('are the 25 official classes in index order', () => {
    expect(LLP_CLASSES).toHaveLength(25);
    expect(LLP_CLASSES.slice(0, 6)).toEqual(['Speech', 'Car', 'Cheering', 'Dog', 'Cat', 'Frying_(food)']);
    expect(LLP_CLASSES[13]).toBe('Violin_fiddle');
    expect(LLP_CLASSES[22]).toBe('Baby_cry_infant_cry');
    expect(LLP_CLASSES[24]).toBe('Clapping');
    expect(Object.isFrozen(LLP_CLASSES)).toBe(true);
  });
});

describe('videoId', () => {
  it('is the first 11 characters, including a leading dash', () => {
    expect(videoId('-14BFlDzjS4_6_16')).toBe('-14BFlDzjS4');
    expect(videoId('ApKgnUPayqU_8.5_18.5')).toBe('ApKgnUPayqU');
  });

  it('rejects names shorter than an id', () => {
    expect(() => videoId('abc_0_10', 'f.csv:3')).toThrow(/f\.csv:3: filename 'abc_0_10' is shorter than/);
  });
});

describe('parseWeakLabels', () => {
  it('reads comma-separated labels into sorted class indices, with line numbers', () => {
    const rows = parseWeakLabels(
      `${WEAK_HEADER}4O9rI-FpqLg_10_20\tCheering,Speech,Clapping\n-5uuZRObZH4_8_18\tDog\n`,
      'w.csv',
    );
    expect(rows).toEqual([
      { filename: '4O9rI-FpqLg_10_20', classes: [0, 2, 24], line: 2 },
      { filename: '-5uuZRObZH4_8_18', classes: [3], line: 3 },
    ]);
  });

  it('accepts a repeated label once and a custom class list', () => {
    expect(parseWeakLabels(`${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog,Dog\n`, 'w.csv')[0].classes).toEqual([3]);
    expect(parseWeakLabels(`${WEAK_HEADER}aaaaaaaaaaa_0_10\tb\n`, 's.csv', ['a', 'b'])[0].classes).toEqual([
      1,
    ]);
  });

  it('names file and line for each malformed row', () => {
    const cases: [string, RegExp][] = [
      ['filename,event_labels\naaaaaaaaaaa_0_10,Dog\n', /w\.csv:1: expected the tab-separated header/],
      [`${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog\textra\n`, /w\.csv:2: expected 2 fields, found 3/],
      [
        `${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog\nbbbbbbbbbbb_0_10\tdog\n`,
        /w\.csv:3: unknown class 'dog' \(expected one of the 25 LLP classes/,
      ],
      [`${WEAK_HEADER}aaaaaaaaaaa_0_10\tSpeech, Dog\n`, /w\.csv:2: unknown class ' Dog'/],
      [`${WEAK_HEADER}aaaaaaaaaaa_0_10\tSpeech,\n`, /w\.csv:2: unknown class ''/],
      [`${WEAK_HEADER}aaaaaaaaaaa_0_10\t\n`, /w\.csv:2: no event labels for 'aaaaaaaaaaa_0_10'/],
      [
        `${WEAK_HEADER}short_0_10\tDog\n`,
        /w\.csv:2: filename 'short_0_10' is shorter than the 11-character video id/,
      ],
      [
        `${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog\naaaaaaaaaaa_20_30\tCat\n`,
        /w\.csv:3: video id 'aaaaaaaaaaa' already appears on line 2/,
      ],
    ];
    for (const [text, message] of cases) {
      expect(() => parseWeakLabels(text, 'w.csv')).toThrow(LlpFormatError);
      expect(() => parseWeakLabels(text, 'w.csv')).toThrow(message);
    }
  });
});

describe('parseDenseLabels and denseMatrices', () => {
  it('read rows with an exclusive offset into (segments, classes) matrices, setting (never adding) repeats', () => {
    const rows = parseDenseLabels(
      `${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t4\tDog\naaaaaaaaaaa_0_10\t0\t4\tDog\naaaaaaaaaaa_0_10\t8\t10\tSpeech\n`,
      'd.csv',
    );
    expect(rows[2]).toEqual({ filename: 'aaaaaaaaaaa_0_10', onset: 8, offset: 10, classIndex: 0, line: 4 });
    const m = denseMatrices(rows).get('aaaaaaaaaaa_0_10')!;
    expect(m).toHaveLength(10 * C);
    const on = [...m.keys()].filter((i) => m[i]).map((i) => [Math.floor(i / C), i % C]);
    expect(on).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
      [8, 0],
      [9, 0],
    ]);
    expect(Math.max(...m)).toBe(1);
  });

  it('keeps rows with onset >= offset: they mark nothing, as in the official code', () => {
    const rows = parseDenseLabels(
      `${DENSE_HEADER}aaaaaaaaaaa_0_10\t3\t3\tDog\naaaaaaaaaaa_0_10\t9\t0\tCat\n`,
      'd.csv',
    );
    expect(rows).toHaveLength(2);
    expect(
      denseMatrices(rows)
        .get('aaaaaaaaaaa_0_10')!
        .every((x) => x === 0),
    ).toBe(true);
  });

  it('keeps malformed filenames as they are (they match no video)', () => {
    const rows = parseDenseLabels(`${DENSE_HEADER}17iGUal2M_10_20\t0\t10\tSpeech\n`, 'd.csv');
    expect([...denseMatrices(rows).keys()]).toEqual(['17iGUal2M_10_20']);
  });

  it('names file and line for each malformed row', () => {
    const cases: [string, RegExp][] = [
      [
        'filename\tonset\tevent_labels\naaaaaaaaaaa_0_10\t0\tDog\n',
        /d\.csv:1: expected the tab-separated header/,
      ],
      [`${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t4\n`, /d\.csv:2: expected 4 fields, found 3/],
      [
        `${DENSE_HEADER}aaaaaaaaaaa_0_10\t0.5\t4\tDog\n`,
        /d\.csv:2: onset must be a whole segment index from 0 to 10, got '0\.5'/,
      ],
      [`${DENSE_HEADER}aaaaaaaaaaa_0_10\t-1\t4\tDog\n`, /d\.csv:2: onset must be a whole segment index/],
      [
        `${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t11\tDog\n`,
        /d\.csv:2: offset must be a whole segment index from 0 to 10, got '11'/,
      ],
      [`${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t\tDog\n`, /d\.csv:2: offset must be a whole segment index/],
      [`${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t4\tDog,Cat\n`, /d\.csv:2: unknown class 'Dog,Cat'/],
      [`${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t4\tSpeech\`\n`, /d\.csv:2: unknown class 'Speech`'/],
      [`${DENSE_HEADER}\t0\t4\tDog\n`, /d\.csv:2: empty filename/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseDenseLabels(text, 'd.csv')).toThrow(message);
    }
  });
});

describe('annotation folders and per-video files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmp();
  });

  it('loads a split with its dense ground truth, matched by exact filename', async () => {
    const ann = join(dir, 'ann');
    await mkdir(ann);
    await writeFile(join(ann, LLP_FILES.val), `${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog\nbbbbbbbbbbb_0_10\tCat\n`);
    await writeFile(
      join(ann, LLP_FILES.audio),
      `${DENSE_HEADER}aaaaaaaaaaa_0_10\t0\t2\tDog\naaaaaaaaaaa_0_1\t0\t10\tCat\n`,
    );
    await writeFile(join(ann, LLP_FILES.visual), DENSE_HEADER);
    const a = await loadEvalAnnotations(ann, 'val');
    expect(a.videos.map((v) => v.filename)).toEqual(['aaaaaaaaaaa_0_10', 'bbbbbbbbbbb_0_10']);
    const gt = groundTruth(a, 'aaaaaaaaaaa_0_10');
    expect([...gt.audio.keys()].filter((i) => gt.audio[i])).toEqual([3, C + 3]);
    expect(gt.visual.every((x) => x === 0)).toBe(true);
    const none = groundTruth(a, 'bbbbbbbbbbb_0_10');
    expect(none.audio.every((x) => x === 0) && none.visual.length === 10 * C).toBe(true);
    await expect(loadEvalAnnotations(ann, 'test')).rejects.toThrow(
      /missing annotation file .*AVVP_test_pd\.csv \(an LLP annotation folder holds AVVP_test_pd\.csv\)/,
    );
    await expect(loadWeakLabels(join(dir, 'nowhere'), 'train')).rejects.toThrow(
      /missing annotation file .*AVVP_train\.csv/,
    );
  });

  it('names a missing dense file', async () => {
    const ann = join(dir, 'nodense');
    await mkdir(ann);
    await writeFile(join(ann, LLP_FILES.test), `${WEAK_HEADER}aaaaaaaaaaa_0_10\tDog\n`);
    await expect(loadEvalAnnotations(ann, 'test')).rejects.toThrow(
      /missing annotation file .*AVVP_eval_audio\.csv/,
    );
  });

  it('loads per-video features keyed by the 11-character id, as float32', async () => {
    const feats = join(dir, 'feats');
    await mkdir(feats);
    const data = Float64Array.from({ length: 10 * 4 }, (_, i) => i / 3);
    await writeNpy(join(feats, '-14BFlDzjS4.npy'), { dtype: 'float64', shape: [10, 4], data });
    const f = await loadVideoFeatures(feats, '-14BFlDzjS4_6_16', { steps: 10, dim: 4 });
    expect(f.shape).toEqual([10, 4]);
    expect(f.data).toBeInstanceOf(Float32Array);
    expect(f.data[5]).toBeCloseTo(5 / 3, 6);
  });

  it('rejects features that are missing, of the wrong shape or type, or not finite', async () => {
    const feats = join(dir, 'badfeats');
    await mkdir(feats);
    await writeNpy(join(feats, 'aaaaaaaaaaa.npy'), {
      dtype: 'float32',
      shape: [10, 4],
      data: new Float32Array(40),
    });
    await writeNpy(join(feats, 'bbbbbbbbbbb.npy'), {
      dtype: 'float32',
      shape: [40],
      data: new Float32Array(40),
    });
    await writeNpy(join(feats, 'ccccccccccc.npy'), {
      dtype: 'int32',
      shape: [10, 4],
      data: new Int32Array(40),
    });
    const nan = new Float32Array(40);
    nan[13] = NaN;
    await writeNpy(join(feats, 'ddddddddddd.npy'), { dtype: 'float32', shape: [10, 4], data: nan });
    await expect(loadVideoFeatures(feats, 'zzzzzzzzzzz_0_10')).rejects.toThrow(
      /missing feature file for 'zzzzzzzzzzz_0_10': .*zzzzzzzzzzz\.npy/,
    );
    await expect(loadVideoFeatures(feats, 'aaaaaaaaaaa_0_10', { dim: 128 })).rejects.toThrow(
      /aaaaaaaaaaa\.npy: expected shape \(any, 128\), found \(10, 4\)/,
    );
    await expect(loadVideoFeatures(feats, 'bbbbbbbbbbb_0_10')).rejects.toThrow(
      /features must be 2-D \(steps, dim\), found shape \(40\)/,
    );
    await expect(loadVideoFeatures(feats, 'ccccccccccc_0_10')).rejects.toThrow(
      /must be float32 or float64, found int32/,
    );
    await expect(loadVideoFeatures(feats, 'ddddddddddd_0_10')).rejects.toThrow(
      /non-finite value at step 3, dim 1/,
    );
  });

  it('loads VALOR-layout pseudo labels (CLAP audio, CLIP visual) of integer or bool dtype', async () => {
    const root = join(dir, 'pseudo');
    const paths = valorPseudoLabelPaths(root, 'aaaaaaaaaaa_0_10');
    expect(paths.audio).toBe(join(root, 'CLAP', 'segment_pseudo_labels', 'aaaaaaaaaaa.npy'));
    expect(paths.visual).toBe(join(root, 'CLIP', 'segment_pseudo_labels', 'aaaaaaaaaaa.npy'));
    await mkdir(join(root, 'CLAP', 'segment_pseudo_labels'), { recursive: true });
    await mkdir(join(root, 'CLIP', 'segment_pseudo_labels'), { recursive: true });
    const audio = new BigInt64Array(10 * C);
    audio[2 * C + 3] = 1n;
    await writeNpy(paths.audio, { dtype: 'int64', shape: [10, C], data: audio });
    const visual = new Uint8Array(10 * C);
    visual[0] = 1;
    await writeNpy(paths.visual, { dtype: 'bool', shape: [10, C], data: visual });
    const labels = await loadPseudoLabels(root, 'aaaaaaaaaaa_0_10');
    expect([...labels.audio.keys()].filter((i) => labels.audio[i])).toEqual([2 * C + 3]);
    expect([...labels.visual.keys()].filter((i) => labels.visual[i])).toEqual([0]);
  });

  it('rejects pseudo labels that are missing, mis-shaped or not 0/1', async () => {
    const root = join(dir, 'badpseudo');
    await mkdir(join(root, 'CLAP', 'segment_pseudo_labels'), { recursive: true });
    await mkdir(join(root, 'CLIP', 'segment_pseudo_labels'), { recursive: true });
    const write = async (id: string, shape: number[], data: Float32Array) => {
      const paths = valorPseudoLabelPaths(root, `${id}_0_10`);
      await writeNpy(paths.audio, { dtype: 'float32', shape, data });
      await writeNpy(paths.visual, { dtype: 'float32', shape: [10, C], data: new Float32Array(10 * C) });
    };
    await write('aaaaaaaaaaa', [25, 10], new Float32Array(250));
    const two = new Float32Array(250);
    two[30] = 2;
    await write('bbbbbbbbbbb', [10, 25], two);
    await expect(loadPseudoLabels(root, 'aaaaaaaaaaa_0_10')).rejects.toThrow(
      /aaaaaaaaaaa\.npy: pseudo labels must have shape \(10, 25\), found \(25, 10\)/,
    );
    await expect(loadPseudoLabels(root, 'bbbbbbbbbbb_0_10')).rejects.toThrow(
      /pseudo labels must be 0 or 1, found 2 at segment 1, class 5/,
    );
    await expect(loadPseudoLabels(root, 'ccccccccccc_0_10')).rejects.toThrow(
      /missing pseudo-label file for 'ccccccccccc_0_10': .*CLAP.*ccccccccccc\.npy/,
    );
  });
});
