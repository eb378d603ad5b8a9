// The files SynthAV writes, read back with the project's LLP and npy readers and checked
// field by field against the in-memory truth.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LLP_CLASSES,
  LlpFormatError,
  loadEvalAnnotations,
  loadPseudoLabels,
  loadWeakLabels,
} from '../../src/datasets/llp.js';
import { readNpy } from '../../src/datasets/npy.js';
import { resolveOptions, SynthClip } from '../../src/synth/clip.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { normaliseCoordinate, type BoxItem } from '../../src/synth/writers.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('synth-writers-');

let dir: string;
const N = 12;
const SEED = 21;
const clipsOf = (split: string) =>
  Array.from({ length: N }, (_, i) => new SynthClip(resolveOptions({ seed: SEED, split }), i));

beforeAll(async () => {
  dir = await tmp();
  for (const split of ['train', 'val', 'test'] as const) {
    await writeDataset({ seed: SEED, split, clips: N, out: dir });
  }
});

describe('LLP annotation files', () => {
  it('are tab-separated with the LLP headers, LF line ends and a final newline', async () => {
    for (const [file, header] of [
      ['AVVP_train.csv', 'filename\tevent_labels'],
      ['AVVP_val_pd.csv', 'filename\tevent_labels'],
      ['AVVP_test_pd.csv', 'filename\tevent_labels'],
      ['AVVP_eval_audio.csv', 'filename\tonset\toffset\tevent_labels'],
      ['AVVP_eval_visual.csv', 'filename\tonset\toffset\tevent_labels'],
    ]) {
      const text = await readFile(path.join(dir, file), 'utf8');
      expect(text.split('\n')[0], file).toBe(header);
      expect(text.endsWith('\n') && !text.includes('\r') && !text.includes('"'), file).toBe(true);
    }
  });

  it('weak labels read back as each clip annotated labels', async () => {
    for (const split of ['train', 'val', 'test'] as const) {
      const rows = await loadWeakLabels(dir, split);
      const clips = clipsOf(split);
      expect(rows.map((r) => r.filename)).toEqual(clips.map((c) => c.name));
      rows.forEach((r, i) => expect(r.classes.map((c) => LLP_CLASSES[c])).toEqual(clips[i].truth.annotated));
    }
  });

  it('dense files of val and test (one file for both, as LLP) rebuild the dense truth exactly', async () => {
    for (const split of ['val', 'test'] as const) {
      const annotations = await loadEvalAnnotations(dir, split);
      for (const clip of clipsOf(split)) {
        expect(annotations.audio.get(clip.name) ?? new Uint8Array(250)).toEqual(clip.truth.audio);
        expect(annotations.visual.get(clip.name) ?? new Uint8Array(250)).toEqual(clip.truth.visual);
      }
    }
    const audio = await readFile(path.join(dir, 'AVVP_eval_audio.csv'), 'utf8');
    expect(audio).not.toMatch(new RegExp(clipsOf('train')[0].name));
  });

  it('regenerating a split replaces its dense rows, in any order, with the same bytes', async () => {
    const before = await readFile(path.join(dir, 'AVVP_eval_audio.csv'));
    await writeDataset({ seed: SEED, split: 'val', clips: N, out: dir });
    expect((await readFile(path.join(dir, 'AVVP_eval_audio.csv'))).equals(before)).toBe(true);
  });

  it('refuses to merge into a malformed dense file, naming the file and line', async () => {
    const bad = await tmp();
    await writeFile(
      path.join(bad, 'AVVP_eval_audio.csv'),
      'filename\tonset\toffset\tevent_labels\nx_0_10\t0\t3\tUnicorn\n',
    );
    await expect(writeDataset({ seed: 1, split: 'test', clips: 1, out: bad })).rejects.toThrow(
      LlpFormatError,
    );
    await expect(writeDataset({ seed: 1, split: 'test', clips: 1, out: bad })).rejects.toThrow(
      /AVVP_eval_audio\.csv:2: unknown class 'Unicorn'/,
    );
  });
});

describe('single-annotation mode', () => {
  it('writes one label per clip; events added by interactions stay out of every annotation', async () => {
    const out = await tmp();
    const options = {
      seed: 6,
      classes: ['Car'],
      singleAnnotation: true,
      interactions: [{ from: 'Car', when: 'visual', to: 'Motorcycle', then: 'audio', p: 1 }] as const,
      knobs: { visualOnly: 0, audioOnly: 0 },
    };
    await writeDataset({ ...options, split: 'val', clips: 4, out });
    const rows = await loadWeakLabels(out, 'val');
    expect(rows.map((r) => r.classes.map((c) => LLP_CLASSES[c]))).toEqual([
      ['Car'],
      ['Car'],
      ['Car'],
      ['Car'],
    ]);
    const dense = await readFile(path.join(out, 'AVVP_eval_audio.csv'), 'utf8');
    expect(dense).toMatch(/\tCar\n/);
    expect(dense).not.toMatch(/Motorcycle/);
    const motorcycle = LLP_CLASSES.indexOf('Motorcycle');
    for (let i = 0; i < 4; i++) {
      const clip = new SynthClip(resolveOptions({ ...options, split: 'val' }), i);
      expect(clip.truth.weak).toEqual(['Car', 'Motorcycle']); // present in the media and the full truth
      const { audio } = await loadPseudoLabels(out, clip.name);
      for (let k = 0; k < 10; k++) expect(audio[k * 25 + motorcycle]).toBe(0);
    }
  });
});

describe('VALOR pseudo labels', () => {
  it('are int64 (10, 25) .npy files under CLAP/ and CLIP/, keyed by the 11-character id', async () => {
    for (const clip of clipsOf('train')) {
      const npy = await readNpy(path.join(dir, 'CLAP', 'segment_pseudo_labels', `${clip.id}.npy`));
      expect(npy.dtype).toBe('int64');
      expect(npy.shape).toEqual([10, 25]);
      const labels = await loadPseudoLabels(dir, clip.name);
      expect(labels).toEqual(clip.pseudoLabels());
    }
  });
});

describe('boxes and truth', () => {
  it('VGG-SS-style boxes give back the exact pixel boxes through int(v * 224)', async () => {
    for (let x = 0; x <= 224; x++) expect(Math.trunc(normaliseCoordinate(x, 224) * 224)).toBe(x);
    const items = JSON.parse(await readFile(path.join(dir, 'synth_boxes_val.json'), 'utf8')) as BoxItem[];
    expect(items.length).toBeGreaterThan(0);
    const clips = new Map(clipsOf('val').map((c) => [c.name, c]));
    for (const item of items) {
      const clip = clips.get(item.file)!;
      const sounding = clip.truth.boxes[item.frame].filter((b) => b.sounding);
      expect(item.class.split(',')).toEqual([...new Set(sounding.map((b) => b.class))]);
      expect(item.bbox.map((b) => b.map((v) => Math.trunc(v * 224)))).toEqual(sounding.map((b) => b.box));
      for (const v of item.bbox.flat()) expect(v >= 0 && v <= 1).toBe(true);
    }
  });

  it('the truth file has one line per clip with events, runs and per-frame boxes', async () => {
    const lines = (await readFile(path.join(dir, 'synth_truth_test.jsonl'), 'utf8')).trim().split('\n');
    const clips = clipsOf('test');
    expect(lines).toHaveLength(N);
    lines.forEach((line, i) => {
      const t = JSON.parse(line);
      expect(t.file).toBe(clips[i].name);
      expect(t.events).toEqual(JSON.parse(JSON.stringify(clips[i].scene.events)));
      expect(t.frames).toEqual(clips[i].truth.boxes);
      expect(t.weak).toEqual(clips[i].truth.weak);
    });
    const graph = JSON.parse(await readFile(path.join(dir, 'synth_interactions.json'), 'utf8'));
    expect(graph.edges[0]).toEqual({ from: 'Car:visual', to: 'Motorcycle:audio', p: 0.5 });
  });
});
