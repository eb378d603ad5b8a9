// Training the parsers for real: SynthAV clips rendered and encoded in memory with the bundled DSP
// encoders, a short LINK run that learns, the LLP-layout folder path (what avvp extract and
// SynthAV write) agreeing with the in-memory path, its bad inputs, and `avvp train` end to end.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateLlp } from '../../src/eval/llp.js';
import { parserConfig } from '../../src/models/parsers/index.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { synthClips } from '../../src/synth/clip.js';
import { LLP_FILES } from '../../src/datasets/llp.js';
import {
  featureStats,
  loadLlpSplit,
  metricRecord,
  openEncoders,
  synthSplit,
  trainParser,
  type ParserData,
} from '../../src/train/parser.js';
import { modalityBreakdown, withoutCrossModalLeak } from '../../src/eval/modality-breakdown.js';
import { writeNpy } from '../../src/datasets/npy.js';
import { Rng } from '../../src/util/rng.js';
import { runAvvp as avvp } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('parsers-train-');

const SEED = 11;
const CLIPS = { train: 20, val: 10 };
let dir: string;
let train: ParserData;
let val: ParserData;

/** The same clips in the LLP layout: CSVs, VALOR pseudo labels, features/{audio,visual}/<id>.npy. */
async function writeLlpFolder(split: 'train' | 'val', data: ParserData): Promise<void> {
  await writeDataset({ seed: SEED, split, clips: CLIPS[split], out: dir });
  for (const m of ['audio', 'visual'] as const) {
    await mkdir(join(dir, 'features', m), { recursive: true });
    const d = m === 'audio' ? data.audioDim : data.visualDim;
    for (const [i, name] of data.filenames.entries()) {
      const rows = data[m].slice(i * 10 * d, (i + 1) * 10 * d);
      await writeNpy(join(dir, 'features', m, `${name.slice(0, 11)}.npy`), {
        dtype: 'float32',
        shape: [10, d],
        data: rows,
      });
    }
  }
}

beforeAll(async () => {
  dir = await tmp();
  const encode = await openEncoders('models');
  train = await synthSplit({ seed: SEED, split: 'train', clips: CLIPS.train, preset: 'default', encode });
  val = await synthSplit({ seed: SEED, split: 'val', clips: CLIPS.val, preset: 'default', encode });
  await writeLlpFolder('train', train);
  await writeLlpFolder('val', val);
}, 120_000);

describe('SynthAV in memory', () => {
  it('carries the clips, their weak and pseudo labels, features and dense truth', () => {
    const clips = [...synthClips({ seed: SEED, split: 'val' }, CLIPS.val)];
    expect(val.filenames).toEqual(clips.map((c) => c.name));
    expect(val.truth!.map((t) => t.audio)).toEqual(clips.map((c) => c.truth.audio));
    expect(Array.from(val.pseudoVisual.subarray(0, 250))).toEqual(Array.from(clips[0].pseudoLabels().visual));
    expect(val.audio.length).toBe(CLIPS.val * 10 * val.audioDim);
    expect(train.truth).toBeUndefined();
  });

  it('a short LINK run learns: the loss drops and validation beats a random predictor', async () => {
    const config = parserConfig('link', {
      audioDim: train.audioDim,
      visualDim: train.visualDim,
      hidden: 32,
      heads: 2,
      ffn: 64,
      layers: 1,
      inputStats: featureStats(train),
    });
    const result = await trainParser({
      config,
      name: 'link-tiny',
      train,
      val,
      epochs: 8,
      seed: 1,
      batchSize: 4,
      lr: 3e-3,
    });
    const losses = result.history.map((h) => h.loss);
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);
    const rng = new Rng(5);
    const random = () => Float32Array.from({ length: 250 }, () => rng.next());
    const chance = evaluateLlp(
      val.truth!.map((truth) => ({
        prediction: {
          video: Float32Array.from({ length: 25 }, () => rng.next()),
          audio: random(),
          visual: random(),
        },
        truth,
      })),
    );
    expect(result.best.value).toBeGreaterThan(2 * chance.segment.type);
    expect(result.history[result.best.epoch - 1].val_seg_type).toBe(result.best.value);
  }, 120_000);
});

describe('LLP-layout folders', () => {
  it('load the same data as the in-memory path', async () => {
    const fromFiles = await loadLlpSplit({
      features: join(dir, 'features'),
      annotations: dir,
      pseudo: dir,
      split: 'val',
    });
    expect(fromFiles.filenames).toEqual(val.filenames);
    for (const key of ['audio', 'visual', 'labels', 'pseudoAudio', 'pseudoVisual'] as const) {
      expect(fromFiles[key]).toEqual(val[key]);
    }
    expect(fromFiles.truth).toEqual(val.truth);
  });

  it('without --pseudo, every segment is labelled with the weak labels', async () => {
    const d = await loadLlpSplit({ features: join(dir, 'features'), annotations: dir, split: 'train' });
    const c = train.labels.indexOf(1);
    for (let t = 0; t < 10; t++) expect(d.pseudoAudio[t * 25 + c]).toBe(1);
    expect(Array.from(d.pseudoAudio.subarray(0, 25))).toEqual(Array.from(d.labels.subarray(0, 25)));
  });

  it('name the missing or malformed file', async () => {
    const features = join(dir, 'features');
    await expect(
      loadLlpSplit({ features: join(dir, 'nowhere'), annotations: dir, split: 'val' }),
    ).rejects.toThrow(
      `missing feature file for '${val.filenames[0]}': ${join(dir, 'nowhere', 'audio', val.filenames[0].slice(0, 11))}.npy`,
    );
    await expect(loadLlpSplit({ features, annotations: join(dir, 'none'), split: 'val' })).rejects.toThrow(
      /missing annotation file/,
    );
    await expect(
      loadLlpSplit({ features, annotations: dir, pseudo: join(dir, 'none'), split: 'val' }),
    ).rejects.toThrow(/missing pseudo-label file/);
    const other = join(dir, 'bad-features');
    for (const m of ['audio', 'visual']) await mkdir(join(other, m), { recursive: true });
    const [first, second] = val.filenames.map((f) => f.slice(0, 11));
    await writeNpy(join(other, 'audio', `${first}.npy`), {
      dtype: 'float32',
      shape: [10, 4],
      data: new Float32Array(40),
    });
    await writeNpy(join(other, 'visual', `${first}.npy`), {
      dtype: 'float32',
      shape: [10, 3],
      data: new Float32Array(30),
    });
    await writeNpy(join(other, 'audio', `${second}.npy`), {
      dtype: 'float32',
      shape: [10, 5],
      data: new Float32Array(50),
    });
    await expect(loadLlpSplit({ features: other, annotations: dir, split: 'val' })).rejects.toThrow(
      'expected shape (10, 4), found (10, 5)',
    );
    await writeFile(join(other, 'audio', `${second}.npy`), 'not numpy');
    await expect(loadLlpSplit({ features: other, annotations: dir, split: 'val' })).rejects.toThrow(
      `${second}.npy`,
    );
  });
});

describe('avvp train end to end', () => {
  it('trains HAN from an LLP folder and exports the best epoch with its manifest', async () => {
    const out = join(dir, 'out');
    const r = await avvp([
      'train',
      'han',
      '--features',
      join(dir, 'features'),
      '--annotations',
      dir,
      '--pseudo',
      dir,
      '--epochs',
      '2',
      '--batch',
      '8',
      '--hidden',
      '16',
      '--heads',
      '2',
      '--ffn',
      '16',
      '--layers',
      '1',
      '--out',
      out,
    ]);
    expect(r.stderr).toContain('han-llp epoch 2/2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^han-llp: best epoch [12]\/2, validation Segment Type@AV \d+\.\d\d/);
    const manifest = JSON.parse(await readFile(join(out, 'han-llp.json'), 'utf8'));
    expect(manifest.kind).toBe('parser');
    expect(manifest.features).toEqual({ audio: train.audioDim, visual: train.visualDim });
    expect(Object.keys(manifest.metrics)).toEqual(
      expect.arrayContaining(
        Object.keys(
          metricRecord(
            evaluateLlp([
              { prediction: { video: [0], audio: [0], visual: [0] }, truth: { audio: [0], visual: [0] } },
            ]),
            'val_',
          ),
        ),
      ),
    );
    expect(manifest.provenance.source).toContain('LINK modules: none');
  }, 120_000);

  it('trains LINK on SynthAV made in memory (--synth) and names the encoders in the manifest', async () => {
    const out = join(dir, 'out-synth');
    const r = await avvp([
      'train',
      'link',
      '--synth',
      'train=4,val=2',
      '--epochs',
      '1',
      '--hidden',
      '8',
      '--heads',
      '2',
      '--ffn',
      '8',
      '--layers',
      '1',
      '--ablate',
      'tsam',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('link-synthav: best epoch 1/1');
    const manifest = JSON.parse(await readFile(join(out, 'link-synthav.json'), 'utf8'));
    expect(manifest.encoders).toEqual({ audio: 'dsp-audio', visual: 'dsp-visual' });
    expect(manifest.provenance.source).toContain('LINK modules: interaction, plsim, sloss');
    expect(manifest.provenance.trainedOn).toContain('SynthAV preset default, seed 1, 4 train / 2 val clips');
  }, 120_000);

  it('a missing annotation folder is exit 1 naming the file', async () => {
    const r = await avvp([
      'train',
      'link',
      '--features',
      join(dir, 'features'),
      '--annotations',
      join(dir, 'absent'),
      '--out',
      join(dir, 'o2'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`missing annotation file ${join(dir, 'absent', LLP_FILES.train)}`);
  }, 60_000);
});

describe('modality breakdown', () => {
  it('scores audible-only and visible-only (video, class) pairs', () => {
    const C = 2;
    const T = 2;
    // class 0 audible-only in segment 0; class 1 visible-only in both segments
    const truth = { audio: [1, 0, 0, 0], visual: [0, 1, 0, 1] };
    const prediction = { video: [0.9, 0.9], audio: [0.8, 0, 0.7, 0], visual: [0.6, 0.9, 0, 0.2] };
    const b = modalityBreakdown([{ prediction, truth }], C);
    expect(b.audibleOnly).toEqual({ pairs: 1, f1: (200 * 1) / (2 + 1), leak: 50 });
    expect(b.visibleOnly).toEqual({ pairs: 1, f1: (200 * 1) / (2 + 1), leak: 0 });
    expect(T).toBe(truth.audio.length / C);
    // the leak-free copy silences the other modality on single-modality classes only
    const [clean] = withoutCrossModalLeak([{ prediction, truth }], C);
    expect(Array.from(clean.visual)).toEqual([0, 0.9, 0, 0.2]);
    expect(Array.from(clean.audio)).toEqual([0.8, 0, 0.7, 0]);
    expect(modalityBreakdown([{ prediction: clean, truth }], C).audibleOnly.leak).toBe(0);
    const both = { audio: [1, 0, 0, 0], visual: [1, 0, 0, 0] }; // class 0 heard and seen: untouched
    expect(Array.from(withoutCrossModalLeak([{ prediction, truth: both }], C)[0].visual)).toEqual([
      0.6, 0.9, 0, 0.2,
    ]);
  });
});
