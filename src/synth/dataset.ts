// Writes a SynthAV split to a folder laid out like the real datasets (see docs/synthav.md):
// LLP annotation files, VALOR pseudo labels, VGG-SS-style boxes, the planted interaction graph,
// the full truth as JSON lines and, optionally, one MP4 per clip.
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  LLP_CLASSES,
  LLP_FILES,
  parseDenseLabels,
  valorPseudoLabelPaths,
  type LlpSplit,
} from '../datasets/llp.js';
import { locateFfmpeg, type FfmpegBinary } from '../streams/ffmpeg/locate.js';
import { resolveOptions, SynthClip, type SynthOptions } from './clip.js';
import { interactionGraph } from './interactions.js';
import { writeMp4 } from './mp4.js';
import {
  boxItems,
  denseRows,
  formatDenseCsv,
  formatWeakCsv,
  pseudoLabelNpy,
  truthLine,
  type BoxItem,
  type DenseRow,
} from './writers.js';

export interface DatasetOptions extends Omit<SynthOptions, 'split'> {
  split: LlpSplit;
  clips: number;
  out: string;
  mp4?: boolean;
  ffmpeg?: FfmpegBinary;
  /** Called after each clip with the number done. */
  onClip?(done: number): void;
}

/** Writes clips 0..clips-1 of the split; resolves to the number of clips written. */
export async function writeDataset(o: DatasetOptions): Promise<number> {
  const options = resolveOptions(o);
  const ffmpeg = o.mp4 ? (o.ffmpeg ?? (await locateFfmpeg())) : undefined; // fail before writing anything
  await mkdir(o.out, { recursive: true });
  const weak: { filename: string; labels: string[] }[] = [];
  const dense = { audio: [] as DenseRow[], visual: [] as DenseRow[] };
  const boxes: BoxItem[] = [];
  const truthPath = path.join(o.out, `synth_truth_${o.split}.jsonl`);
  const truth = await open(truthPath, 'w');
  try {
    for (let i = 0; i < o.clips; i++) {
      const clip = new SynthClip(options, i);
      weak.push({ filename: clip.name, labels: clip.truth.annotated });
      dense.audio.push(...denseRows(clip, 'audio'));
      dense.visual.push(...denseRows(clip, 'visual'));
      boxes.push(...boxItems(clip));
      await truth.write(truthLine(clip) + '\n');
      const pseudo = clip.pseudoLabels();
      const paths = valorPseudoLabelPaths(o.out, clip.name);
      for (const modality of ['audio', 'visual'] as const) {
        await mkdir(path.dirname(paths[modality]), { recursive: true });
        await writeFile(
          paths[modality],
          pseudoLabelNpy(pseudo[modality], clip.truth.segments, clip.truth.classes.length),
        );
      }
      if (o.mp4) {
        await mkdir(path.join(o.out, 'video'), { recursive: true });
        await writeMp4(clip, path.join(o.out, 'video', `${clip.name}.mp4`), ffmpeg);
      }
      o.onClip?.(i + 1);
    }
  } finally {
    await truth.close();
  }
  const write = (name: string, text: string) => writeFile(path.join(o.out, name), text);
  await write(LLP_FILES[o.split], formatWeakCsv(weak));
  if (o.split !== 'train') {
    // LLP keeps val and test dense rows in one file each: merge with rows of other clips already there
    await write(
      LLP_FILES.audio,
      formatDenseCsv(await mergeDense(path.join(o.out, LLP_FILES.audio), dense.audio)),
    );
    await write(
      LLP_FILES.visual,
      formatDenseCsv(await mergeDense(path.join(o.out, LLP_FILES.visual), dense.visual)),
    );
  }
  await write(`synth_boxes_${o.split}.json`, JSON.stringify(boxes) + '\n');
  await write(
    'synth_interactions.json',
    JSON.stringify(interactionGraph(options.interactions), null, 2) + '\n',
  );
  const { knobs, ...rest } = options;
  await write(
    `synth_${o.split}.json`,
    JSON.stringify({ generator: 'SynthAV', clips: o.clips, ...rest, knobs }, null, 2) + '\n',
  );
  return o.clips;
}

/**
 * Rows of an existing dense file for other clips, plus the new rows, sorted by file name: the
 * result does not depend on the order in which val and test were generated.
 */
async function mergeDense(file: string, rows: DenseRow[]): Promise<DenseRow[]> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fresh = new Set(rows.map((r) => r.filename));
  const kept: DenseRow[] = text
    ? parseDenseLabels(text, file)
        .filter((r) => !fresh.has(r.filename))
        .map((r) => ({
          filename: r.filename,
          onset: r.onset,
          offset: r.offset,
          label: LLP_CLASSES[r.classIndex],
        }))
    : [];
  return [...kept, ...rows].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
}
