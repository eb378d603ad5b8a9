// `avvp synth`: writes a SynthAV split (LLP-format annotations, VALOR pseudo labels, boxes, truth,
// optional MP4s) to a folder.
import { readFile, stat } from 'node:fs/promises';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { FfmpegNotFoundError } from '../../streams/ffmpeg/locate.js';
import { SYNTH_CLASS_NAMES } from '../../synth/classes/index.js';
import { writeDataset } from '../../synth/dataset.js';
import { InteractionError, parseInteractions, type Interaction } from '../../synth/interactions.js';
import { Mp4Error } from '../../synth/mp4.js';
import { PRESETS, isPresetName } from '../../synth/presets.js';
import { LlpFormatError } from '../../datasets/llp.js';
import { Progress } from '../../util/progress.js';

const usage = `Usage: avvp synth --clips N --out DIR [options]

Generates SynthAV clips with exact ground truth, written in the real datasets' formats
(docs/synthav.md): LLP annotation CSVs, VALOR pseudo labels, VGG-SS-style boxes, the planted
interaction graph, per-clip truth (JSON lines) and optionally one MP4 per clip.

Options:
  --clips N             number of clips (required)
  --out DIR             output folder, created if missing (required)
  --split S             train | val | test (default train)
  --seed S              integer seed, 0..4294967295 (default 0); same seed, same bytes
  --preset P            easy | default | hard (default default)
  --mp4                 also write video/<name>.mp4 (H.264 + AAC, needs ffmpeg)
  --duration SECONDS    clip length in whole seconds (default 10, as LLP)
  --sample-rate-hi HZ   also render PCM at this rate (e.g. 48000); the MP4 audio then uses it
  --off-boundary P      probability that an onset/offset is off the second grid (default 0)
  --single-annotation   annotate one class per clip (AVE/VEGAS style)
  --interactions FILE   JSON array of {from, when, to, then, p} replacing the default table
  --pseudo-noise M,F,J  pseudo-label miss, false-alarm and boundary-jitter probabilities
                        (default 0.1,0.05,0.2)
`;

async function loadInteractions(file: string): Promise<Interaction[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `--interactions: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`--interactions: '${file}' is not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseInteractions(value, SYNTH_CLASS_NAMES, file);
  } catch (err) {
    if (err instanceof InteractionError) throw new CliError(`--interactions: ${err.message}`);
    throw err;
  }
}

function pseudoNoise(value: string | undefined) {
  if (value === undefined) return undefined;
  const parts = value.split(',');
  if (parts.length !== 3)
    throw new CliError(`--pseudo-noise needs three comma-separated probabilities, got '${value}'`);
  const [miss, falseAlarm, jitter] = parts.map((p) => numberFlag('pseudo-noise', p, 0, { min: 0, max: 1 }));
  return { miss, falseAlarm, jitter };
}

const command: Command = {
  name: 'synth',
  summary: 'generate a SynthAV dataset split (LLP-format labels, boxes, pseudo labels, MP4)',
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        clips: { type: 'string' },
        out: { type: 'string' },
        split: { type: 'string' },
        seed: { type: 'string' },
        preset: { type: 'string' },
        mp4: { type: 'boolean' },
        duration: { type: 'string' },
        'sample-rate-hi': { type: 'string' },
        'off-boundary': { type: 'string' },
        'single-annotation': { type: 'boolean' },
        interactions: { type: 'string' },
        'pseudo-noise': { type: 'string' },
      },
      false,
    );
    if (values.clips === undefined) throw new CliError('--clips is required');
    if (values.out === undefined || values.out === '') throw new CliError('--out is required');
    const clips = numberFlag('clips', values.clips, 0, { integer: true, min: 1, max: 10_000_000 });
    const split = values.split ?? 'train';
    if (split !== 'train' && split !== 'val' && split !== 'test') {
      throw new CliError(`--split must be train, val or test, got '${split}'`);
    }
    const preset = values.preset ?? 'default';
    if (!isPresetName(preset)) {
      throw new CliError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
    }
    const seed = numberFlag('seed', values.seed, 0, { integer: true, min: 0, max: 0xffffffff });
    const duration = numberFlag('duration', values.duration, 10, { integer: true, min: 1, max: 3600 });
    const hi = values['sample-rate-hi'];
    const sampleRateHi =
      hi === undefined
        ? undefined
        : numberFlag('sample-rate-hi', hi, 0, { integer: true, min: 8000, max: 192000 });
    const offBoundary = numberFlag('off-boundary', values['off-boundary'], 0, { min: 0, max: 1 });
    const out = values.out;
    const existing = await stat(out).catch(() => null);
    if (existing && !existing.isDirectory()) throw new CliError(`--out '${out}' exists and is not a folder`);
    const interactions =
      values.interactions === undefined ? undefined : await loadInteractions(values.interactions);
    const noise = pseudoNoise(values['pseudo-noise']);
    const progress = new Progress({ label: `synth ${split}`, total: clips, unit: 'clips' });
    try {
      const written = await writeDataset({
        seed,
        split,
        preset,
        clips,
        out,
        duration,
        sampleRateHi,
        offBoundary,
        singleAnnotation: values['single-annotation'] ?? false,
        interactions,
        pseudoNoise: noise,
        mp4: values.mp4 ?? false,
        onClip: (done) => progress.update(done),
      });
      progress.finish();
      process.stdout.write(`wrote ${written} ${split} clips to ${out}\n`);
      return 0;
    } catch (err) {
      progress.finish('failed');
      if (err instanceof Mp4Error || err instanceof FfmpegNotFoundError || err instanceof LlpFormatError) {
        throw new CliError(err.message, 1);
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS' || code === 'ENOSPC') {
        throw new CliError(`cannot write to '${out}': ${(err as Error).message}`, 1);
      }
      throw err;
    }
  },
};

export default command;
