// `avvp train link|han`: trains a window-level parser on LLP-layout features or on SynthAV made in
// memory, validates every epoch with the LLP metric, keeps the best epoch by validation Segment
// Type@AV and exports it (ONNX + manifest with its metrics). See docs/training.md.
import { CliError, numberFlag, parseCommandArgs, providersFlag, type Command } from '../command.js';
import {
  BUNDLED_SIZES,
  LINK_MODULES,
  parseAblations,
  parserConfig,
  withAblations,
  type ParserConfig,
} from '../../models/parsers/config.js';
import { isPresetName, PRESETS, type PresetName } from '../../synth/presets.js';

const usage = `Usage: avvp train link|han --out DIR
         (--features DIR --annotations DIR [--pseudo DIR] | --synth train=N,val=M [--preset P])
         [--epochs N] [--seed S] [--batch N] [--lr X] [--ablate ${LINK_MODULES.join(',')}]
         [--hidden H] [--heads K] [--ffn F] [--layers L] [--name NAME] [--models DIR]

Trains LINK or the HAN/VALOR++ baseline from weak labels (and segment pseudo labels), validates
each epoch with the official LLP metric, keeps the epoch with the best validation Segment
Type@AV and writes <out>/<name>.onnx and <out>/<name>.json (manifest with the metrics).

Data (one of):
  --features DIR      audio/<id>.npy and visual/<id>.npy, (10, D) per video (avvp extract's layout)
  --annotations DIR   the LLP CSVs (AVVP_train.csv, AVVP_val_pd.csv, AVVP_eval_audio/visual.csv)
  --pseudo DIR        VALOR pseudo labels (CLAP/segment_pseudo_labels, CLIP/segment_pseudo_labels);
                      without it every segment is labelled with the video's weak labels
  --synth train=N,val=M   SynthAV clips made and encoded in memory with the bundled DSP encoders
  --preset P          SynthAV preset: ${Object.keys(PRESETS).join(', ')} (default default)
  --models DIR        folder with dsp-audio.onnx and dsp-visual.onnx (default models)

Model and training:
  --ablate LIST       LINK modules to switch off (comma-separated): ${LINK_MODULES.join(', ')}
  --hidden/--heads/--ffn/--layers   backbone sizes (default ${BUNDLED_SIZES.hidden}/${BUNDLED_SIZES.heads}/${BUNDLED_SIZES.ffn}/${BUNDLED_SIZES.layers}; VALOR++: 256/8/1024/4)
  --epochs N (default 30)  --batch N (default 32)  --lr X (peak, default 0.001)  --seed S (default 1)
  --name NAME         model name (default <model>-synthav or <model>-llp)
  --providers LIST    where the training step runs: cpu (default: bit-reproducible), cuda, webgpu
                      (after 'avvp gpu setup'; docs/gpu.md), tried in order
  --steps-per-run N   training steps per onnxruntime run (default 1); above 1 the parameters stay
                      on the GPU between steps (8 is a good start on CUDA)

See docs/models/link.md for the architecture and docs/training.md for the data layout.`;

function parseSynth(text: string): { train: number; val: number } {
  const counts: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [key, value, extra] = part.split('=');
    if ((key !== 'train' && key !== 'val') || value === undefined || extra !== undefined) {
      throw new CliError(`--synth must look like train=N,val=M, got '${text}'`);
    }
    counts[key] = numberFlag(`synth ${key}`, value, 0, { integer: true, min: 1, max: 1_000_000 });
  }
  if (counts.train === undefined || counts.val === undefined) {
    throw new CliError(`--synth needs both train=N and val=M, got '${text}'`);
  }
  return { train: counts.train, val: counts.val };
}

const command: Command = {
  name: 'train',
  summary: 'train LINK or the HAN/VALOR++ baseline (LLP features or SynthAV) and export it',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      features: { type: 'string' },
      annotations: { type: 'string' },
      pseudo: { type: 'string' },
      synth: { type: 'string' },
      preset: { type: 'string' },
      models: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      ablate: { type: 'string' },
      hidden: { type: 'string' },
      heads: { type: 'string' },
      ffn: { type: 'string' },
      layers: { type: 'string' },
      providers: { type: 'string' },
      'steps-per-run': { type: 'string' },
    });
    const [kind, ...extra] = positionals;
    if (kind !== 'link' && kind !== 'han') {
      throw new CliError(
        kind === undefined
          ? 'which model? avvp train link|han'
          : `unknown model '${kind}'; choose link or han`,
      );
    }
    if (extra.length > 0) throw new CliError(`unexpected argument '${extra[0]}'`);
    if (!values.out) throw new CliError('--out DIR is required (where the model and manifest are written)');
    const fromFiles =
      values.features !== undefined || values.annotations !== undefined || values.pseudo !== undefined;
    if (fromFiles && values.synth !== undefined)
      throw new CliError('give either --features/--annotations or --synth, not both');
    if (!fromFiles && values.synth === undefined)
      throw new CliError('no data: give --features DIR --annotations DIR, or --synth train=N,val=M');
    if (fromFiles && (!values.features || !values.annotations))
      throw new CliError('--features and --annotations go together');
    const synth = values.synth === undefined ? undefined : parseSynth(values.synth);
    const preset = values.preset ?? 'default';
    if (!isPresetName(preset))
      throw new CliError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
    if (!synth && (values.preset !== undefined || values.models !== undefined)) {
      throw new CliError('--preset and --models apply to --synth only');
    }
    let ablate: ReturnType<typeof parseAblations> = [];
    try {
      ablate = parseAblations(values.ablate ?? '');
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (kind === 'han' && ablate.length > 0)
      throw new CliError('--ablate applies to link only (han has no LINK modules)');
    const epochs = numberFlag('epochs', values.epochs, 30, { integer: true, min: 1, max: 10_000 });
    const seed = numberFlag('seed', values.seed, 1, { integer: true, min: 0, max: 0xffffffff });
    const batchSize = numberFlag('batch', values.batch, 32, { integer: true, min: 1, max: 4096 });
    const lr = numberFlag('lr', values.lr, 1e-3, { min: 1e-8, max: 1 });
    const providers = providersFlag(values.providers ?? 'cpu');
    const stepsPerRun = numberFlag('steps-per-run', values['steps-per-run'], 1, {
      integer: true,
      min: 1,
      max: 1024,
    });
    const sizes = {
      hidden: numberFlag('hidden', values.hidden, BUNDLED_SIZES.hidden, { integer: true, min: 1, max: 4096 }),
      heads: numberFlag('heads', values.heads, BUNDLED_SIZES.heads, { integer: true, min: 1, max: 64 }),
      ffn: numberFlag('ffn', values.ffn, BUNDLED_SIZES.ffn, { integer: true, min: 1, max: 16384 }),
      layers: numberFlag('layers', values.layers, BUNDLED_SIZES.layers, { integer: true, min: 0, max: 32 }),
    };
    if (sizes.hidden % sizes.heads !== 0)
      throw new CliError(`--hidden ${sizes.hidden} must be divisible by --heads ${sizes.heads}`);
    const name = values.name ?? `${kind}-${synth ? 'synthav' : 'llp'}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new CliError(`--name may hold letters, digits, '.', '_' and '-', got '${name}'`);

    // Heavy modules (onnxruntime) only once the flags are known to be good.
    const { LlpFormatError } = await import('../../datasets/llp.js');
    const { NpyError } = await import('../../datasets/npy.js');
    const { ModelFileError } = await import('../../engine/session.js');
    const { Progress } = await import('../../util/progress.js');
    const t = await import('../../train/parser.js');
    try {
      let train, val;
      if (synth) {
        const encode = await t.openEncoders(values.models ?? 'models');
        const make = async (split: 'train' | 'val', clips: number) => {
          const progress = new Progress({ label: `SynthAV ${split}`, total: clips, unit: 'clips' });
          const data = await t.synthSplit({
            seed,
            split,
            clips,
            preset: preset as PresetName,
            encode,
            onClip: (n) => progress.update(n),
          });
          progress.finish();
          return data;
        };
        train = await make('train', synth.train);
        val = await make('val', synth.val);
      } else {
        const files = { features: values.features!, annotations: values.annotations!, pseudo: values.pseudo };
        train = await t.loadLlpSplit({ ...files, split: 'train' });
        val = await t.loadLlpSplit({ ...files, split: 'val' });
      }
      const base = parserConfig(kind, {
        audioDim: train.audioDim,
        visualDim: train.visualDim,
        ...sizes,
        inputStats: t.featureStats(train),
      });
      const config: ParserConfig = { ...base, modules: withAblations(base.modules, ablate) };
      const trainedOn = synth
        ? `SynthAV preset ${preset}, seed ${seed}, ${synth.train} train / ${synth.val} val clips, bundled DSP encoders`
        : `features ${values.features}, annotations ${values.annotations}${values.pseudo ? `, pseudo labels ${values.pseudo}` : ''}`;
      const result = await t.trainParser({
        config,
        name,
        train,
        val,
        epochs,
        seed,
        batchSize,
        lr,
        providers,
        stepsPerRun,
        out: values.out,
        manifest: {
          ...(synth ? { encoders: { audio: 'dsp-audio', visual: 'dsp-visual' } } : {}),
          preprocessing: { segments: config.segments },
          provenance: {
            source: `avvp train ${kind} (${describe(config)})`,
            command: `avvp train ${argv.join(' ')}`,
            trainedOn,
          },
        },
        progress: {},
        log: (line) => process.stderr.write(line + '\n'),
      });
      const m = result.exported!.manifest.metrics!;
      process.stdout.write(
        `${name}: best epoch ${result.best.epoch}/${epochs}, validation Segment Type@AV ${result.best.value.toFixed(2)} ` +
          `(segment A ${m.val_seg_a.toFixed(2)} V ${m.val_seg_v.toFixed(2)} AV ${m.val_seg_av.toFixed(2)}; ` +
          `event Type@AV ${m.val_ev_type.toFixed(2)})\nwrote ${result.exported!.onnxPath} and ${result.exported!.manifestPath}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof LlpFormatError || err instanceof NpyError || err instanceof ModelFileError)
        throw new CliError(err.message, 1);
      throw err;
    }
  },
};

/** A one-line description of the architecture for the manifest. */
export function describe(c: ParserConfig): string {
  const on = LINK_MODULES.filter((m) => c.modules[m]);
  return `hidden ${c.hidden}, heads ${c.heads}, ffn ${c.ffn}, layers ${c.layers}; LINK modules: ${on.length ? on.join(', ') : 'none'}`;
}

export default command;
