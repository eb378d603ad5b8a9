// The LINK experiment of docs/models/link.md: HAN/VALOR++ vs LINK vs LINK without each module,
// trained on the same SynthAV train split (default preset, bundled DSP encoders), best epoch by
// validation Segment Type@AV, scored on a held-out test split with the ten LLP metrics and on
// audible-only / visible-only events.
//
// SynthAV splits are written once in the LLP layout (CSVs, VALOR pseudo labels and feature .npy
// files, i.e. what `avvp train --features --annotations --pseudo` reads) under --cache and reused.
//
// Usage: npm run train:experiments -- [--train N] [--val N] [--test N] [--epochs N] [--seeds 1,2]
//          [--lr X] [--preset default|easy|hard] [--cache DIR] [--json FILE] [--only han,link,...]
//        npm run train:experiments -- --report a.json,b.json   (markdown tables of saved results)
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  LINK_MODULES,
  parserConfig,
  withAblations,
  type LinkModule,
  type ParserConfig,
} from '../src/models/parsers/config.js';
import { writeDataset } from '../src/synth/dataset.js';
import { synthClips } from '../src/synth/clip.js';
import { PRESETS, isPresetName } from '../src/synth/presets.js';
import { LLP_FILES, type LlpSplit } from '../src/datasets/llp.js';
import {
  evaluateParser,
  featureStats,
  loadLlpSplit,
  metricRecord,
  openEncoders,
  predictParser,
  trainParser,
  type ParserData,
} from '../src/train/parser.js';
import { modalityBreakdown, withoutCrossModalLeak } from '../src/eval/modality-breakdown.js';
import { writeNpy } from '../src/datasets/npy.js';
import { Progress } from '../src/util/progress.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '600' },
    val: { type: 'string', default: '150' },
    test: { type: 'string', default: '300' },
    epochs: { type: 'string', default: '20' },
    lr: { type: 'string', default: '0.001' },
    seeds: { type: 'string', default: '1' },
    preset: { type: 'string', default: 'default' },
    cache: { type: 'string' },
    json: { type: 'string', default: '.cache/link-experiments.json' },
    only: { type: 'string' },
    report: { type: 'string' },
  },
});

type Row = Record<string, number | string | Record<string, number>>;

/** Markdown tables (ten LLP metrics; single-modality breakdown) of saved result rows, mean over seeds. */
function report(rows: Row[]): string {
  const names = [...new Set(rows.map((r) => r.variant as string))];
  const mean = (variant: string, get: (r: Row) => number, digits = 1) => {
    const xs = rows.filter((r) => r.variant === variant).map(get);
    return (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(digits);
  };
  const seeds = (variant: string) => rows.filter((r) => r.variant === variant).length;
  const keys = [
    'seg_a',
    'seg_v',
    'seg_av',
    'seg_type',
    'seg_event',
    'ev_a',
    'ev_v',
    'ev_av',
    'ev_type',
    'ev_event',
  ];
  const lines = [
    '| model (seeds) | Seg A | V | AV | Type | Event | Ev A | V | AV | Type | Event |',
    '|---|' + '---|'.repeat(keys.length),
    ...names.map(
      (n) => `| ${n} (${seeds(n)}) | ${keys.map((k) => mean(n, (r) => r[k] as number)).join(' | ')} |`,
    ),
    '',
    '| model | audible-only pairs | audio F1 | visual leak | visible-only pairs | visual F1 | audio leak | Seg Type, leaks removed (seeds) |',
    '|---|---|---|---|---|---|---|---|',
    ...names.map((n) => {
      const b = (kind: string, k: string) =>
        mean(n, (r) => (r[kind] as Record<string, number>)[k], k === 'pairs' ? 0 : 1);
      // the leak-free re-score (withoutCrossModalLeak) exists for rows measured since it was added
      const scored = rows.filter((r) => r.variant === n && r.leakFree);
      const leakFree = scored.length
        ? `${(scored.reduce((t, r) => t + (r.leakFree as Record<string, number>).seg_type, 0) / scored.length).toFixed(1)} (${scored.length})`
        : '-';
      return `| ${n} | ${b('audibleOnly', 'pairs')} | ${b('audibleOnly', 'f1')} | ${b('audibleOnly', 'leak')} | ${b('visibleOnly', 'pairs')} | ${b('visibleOnly', 'f1')} | ${b('visibleOnly', 'leak')} | ${leakFree} |`;
    }),
  ];
  return lines.join('\n');
}

if (values.report) {
  const rows: Row[] = [];
  for (const file of values.report.split(','))
    rows.push(...(JSON.parse(await readFile(file, 'utf8')) as Row[]));
  console.log(report(rows));
  process.exit(0);
}
const count = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
const sizes: Record<LlpSplit, number> = {
  train: count('train', values.train!),
  val: count('val', values.val!),
  test: count('test', values.test!),
};
const epochs = count('epochs', values.epochs!);
const lr = Number(values.lr);
if (!(lr > 0)) throw new Error(`--lr must be a positive number, got '${values.lr}'`);
const seeds = values.seeds!.split(',').map((s) => count('seeds', s));
if (!isPresetName(values.preset!))
  throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${values.preset}'`);
const preset = values.preset;
const cache = values.cache ?? (preset === 'default' ? '.cache/synth-llp' : `.cache/synth-llp-${preset}`);
const DATA_SEED = 7; // SynthAV seed of all three splits (the model seeds vary separately)

/** Writes a split (annotations, pseudo labels, features) unless the cache already has it. */
async function ensureSplit(split: LlpSplit): Promise<void> {
  const marker = join(cache, `.features-${split}-${sizes[split]}`);
  if (
    await stat(marker).then(
      () => true,
      () => false,
    )
  )
    return;
  // One split size per cache: another size would overwrite the split's CSV under the other's marker.
  const other = (await readdir(cache).catch(() => [] as string[])).find((f) =>
    f.startsWith(`.features-${split}-`),
  );
  if (other)
    throw new Error(
      `${cache} holds ${other.slice(`.features-${split}-`.length)} ${split} clips, not ${sizes[split]}: pass another --cache`,
    );
  await writeDataset({ seed: DATA_SEED, split, clips: sizes[split], out: cache, preset });
  const encode = await openEncoders('models');
  const progress = new Progress({ label: `encode ${split}`, total: sizes[split], unit: 'clips' });
  for (const m of ['audio', 'visual']) await mkdir(join(cache, 'features', m), { recursive: true });
  let done = 0;
  for (const clip of synthClips({ seed: DATA_SEED, split, preset }, sizes[split])) {
    const features = await encode(clip.segments());
    for (const m of ['audio', 'visual'] as const) {
      const rows = features[m];
      const data = new Float32Array(rows.length * rows[0].length);
      rows.forEach((r, t) => data.set(r, t * r.length));
      await writeNpy(join(cache, 'features', m, `${clip.id}.npy`), {
        dtype: 'float32',
        shape: [rows.length, rows[0].length],
        data,
      });
    }
    progress.update(++done);
  }
  progress.finish();
  await writeFile(marker, `${new Date().toISOString()}\n`);
}

async function load(split: LlpSplit): Promise<ParserData> {
  await ensureSplit(split);
  return loadLlpSplit({ features: join(cache, 'features'), annotations: cache, pseudo: cache, split });
}

interface Variant {
  name: string;
  kind: 'han' | 'link';
  off: LinkModule[];
}
const variants: Variant[] = [
  { name: 'han', kind: 'han', off: [] },
  { name: 'link', kind: 'link', off: [] },
  ...LINK_MODULES.map((m): Variant => ({ name: `link-no-${m}`, kind: 'link', off: [m] })),
  // the bundled configuration (no TSAM) without each remaining module
  ...LINK_MODULES.filter((m) => m !== 'tsam').map((m): Variant => ({
    name: `link-no-tsam-no-${m}`,
    kind: 'link',
    off: ['tsam', m],
  })),
  // diagnostics: the backbone with one LINK module only
  ...LINK_MODULES.map((m): Variant => ({
    name: `han+${m}`,
    kind: 'link',
    off: LINK_MODULES.filter((x) => x !== m),
  })),
];
const chosen = values.only ? variants.filter((v) => values.only!.split(',').includes(v.name)) : variants;

const started = Date.now();
const [train, val, test] = [await load('train'), await load('val'), await load('test')];
console.error(
  `data: ${train.filenames.length} train, ${val.filenames.length} val, ${test.filenames.length} test clips (${LLP_FILES.train} in ${cache})`,
);
const stats = featureStats(train);
const results: Record<string, unknown>[] = JSON.parse(await readFile(values.json!, 'utf8').catch(() => '[]'));
for (const seed of seeds) {
  for (const v of chosen) {
    const t0 = Date.now();
    const base = parserConfig(v.kind, {
      audioDim: train.audioDim,
      visualDim: train.visualDim,
      inputStats: stats,
    });
    const config: ParserConfig = { ...base, modules: withAblations(base.modules, v.off) };
    const trained = await trainParser({
      config,
      name: v.name,
      train,
      val,
      epochs,
      seed,
      log: (l) => console.error(l.slice(0, 160)),
    });
    const predictions = await predictParser(trained.trainer, test, 'best');
    const pairs = predictions.map((prediction, i) => ({ prediction, truth: test.truth![i] }));
    const row = {
      variant: v.name,
      seed,
      bestEpoch: trained.best.epoch,
      val: trained.best.value,
      ...metricRecord(evaluateParser(predictions, test)),
      ...modalityBreakdown(pairs, 25),
      leakFree: metricRecord(evaluateParser(withoutCrossModalLeak(pairs, 25), test)),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    console.log(JSON.stringify(row));
    const kept = results.filter((r) => !(r.variant === v.name && r.seed === seed));
    results.splice(0, results.length, ...kept, row);
    await writeFile(values.json!, JSON.stringify(results, null, 1) + '\n');
  }
}
console.error(`done in ${Math.round((Date.now() - started) / 1000)} s; results in ${values.json}`);
