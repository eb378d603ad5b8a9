// `avvp extract`: per-video feature .npy files (LLP layout) for a folder or list of videos, or for
// a SynthAV split made in memory, through the runtime's source and encoder operators. See
// docs/training.md, "Feature extraction".
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { PRESETS, isPresetName } from '../../synth/presets.js';
import {
  ExtractError,
  MANIFEST_FILE,
  extractFeatures,
  fileVideos,
  openExtractEncoders,
  synthVideos,
  type SynthVideosOptions,
  type VideoJob,
} from '../../runtime/extract.js';
import { Progress } from '../../util/progress.js';

const usage = `Usage: avvp extract (--input DIR|FILE ... | --synth N --split S [--seed K] [--preset P])
                    --out DIR [--models DIR] [--segments 10] [--jobs N] [--maps]

Decodes every video with the runtime's ingest (no real-time pacing), encodes each one-second
segment with the encoders in --models and writes LLP-layout features:
  <out>/audio/<id>.npy (segments, Da) and <out>/visual/<id>.npy (segments, Dv), float32,
  <id> = the first 11 characters of the file name; <out>/${MANIFEST_FILE} lists the encoders
  (name, sha256, dims) and every video. Re-running skips videos whose files are complete.

Input (one of):
  --input PATH        a folder (its video files, not recursive) or a video file; repeatable
  --synth N           SynthAV clips 0..N-1 of --split (train | val | test), made in memory; the
                      LLP annotation CSVs and VALOR pseudo labels are written too, so the folder
                      feeds 'avvp train --features DIR --annotations DIR --pseudo DIR' directly
  --seed K            SynthAV seed (default 0)    --preset P   ${Object.keys(PRESETS).join(' | ')} (default default)

Options:
  --out DIR           output folder, created if missing (required)
  --models DIR        folder with one audio and one visual encoder manifest (default models)
  --segments N        rows per video (default 10): shorter videos repeat their last second,
                      longer ones are cut after N seconds
  --jobs N            videos decoded at once (default 2); inference workers: min(N, cores)
  --maps              also write visual_map/<id>.npy (segments, 7, 7, Dm)

Exit status: 0 when every video was extracted or already complete; 1 when some could not be
(each is reported and skipped; the others are written) or the run failed; 2 for usage errors.
See docs/training.md ("Feature extraction").`;

const command: Command = {
  name: 'extract',
  summary: 'compute per-video LLP-layout features for videos or a SynthAV split (resumable)',
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        input: { type: 'string', multiple: true },
        synth: { type: 'string' },
        split: { type: 'string' },
        seed: { type: 'string' },
        preset: { type: 'string' },
        out: { type: 'string' },
        models: { type: 'string' },
        segments: { type: 'string' },
        jobs: { type: 'string' },
        maps: { type: 'boolean' },
      },
      false,
    );
    const inputs = values.input ?? [];
    if (inputs.length > 0 && values.synth !== undefined)
      throw new CliError('pass either --input or --synth, not both');
    if (inputs.length === 0 && values.synth === undefined)
      throw new CliError('--input or --synth is required');
    if (values.synth === undefined)
      for (const flag of ['split', 'seed', 'preset'] as const)
        if (values[flag] !== undefined) throw new CliError(`--${flag} only applies to --synth`);
    if (values.out === undefined || values.out === '') throw new CliError('--out is required');
    const out = values.out;
    const segments = numberFlag('segments', values.segments, 10, { integer: true, min: 1, max: 100_000 });
    const jobs = numberFlag('jobs', values.jobs, 2, { integer: true, min: 1, max: 256 });
    const synth = values.synth === undefined ? undefined : synthOptions(values);
    if (synth && segments !== 10)
      throw new CliError('--segments applies to --input only: SynthAV clips are 10 s, as LLP');
    const existing = await stat(out).catch(() => null);
    if (existing && !existing.isDirectory()) throw new CliError(`--out '${out}' exists and is not a folder`);

    let videos: VideoJob[];
    try {
      videos = synth ? synthVideos(synth) : await fileVideos(inputs);
    } catch (err) {
      if (err instanceof ExtractError) throw new CliError(err.message, 1);
      throw err;
    }
    const encoders = await openExtractEncoders(values.models ?? 'models', {
      workers: Math.min(jobs, availableParallelism()),
    }).catch((err: unknown) => {
      if (err instanceof ExtractError) throw new CliError(err.message, 1);
      throw err;
    });

    const controller = new AbortController();
    const interrupt = () =>
      controller.abort(new ExtractError('interrupted; run the same command again to resume'));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const progress = new Progress({ label: 'extract: videos', total: videos.length });
    const counts = { skipped: 0, failed: 0 };
    try {
      const summary = await extractFeatures({
        videos,
        out,
        encoders,
        segments,
        jobs,
        maps: values.maps ?? false,
        annotations: synth,
        signal: controller.signal,
        onVideo: ({ job, outcome, reason, done }) => {
          if (outcome === 'failed') {
            counts.failed++;
            // the first line says what is wrong; the manifest keeps ffmpeg's full message
            process.stderr.write(`avvp extract: skipped '${job.source}': ${reason?.split('\n')[0]}\n`);
          }
          if (outcome === 'skipped') counts.skipped++;
          progress.update(done, `${counts.skipped} already done, ${counts.failed} failed`);
        },
      });
      progress.finish();
      const { audio, visual } = summary.manifest.encoders;
      process.stdout.write(
        `extracted ${summary.extracted}, already complete ${summary.skipped}, failed ${summary.failed.length} ` +
          `of ${videos.length} videos -> ${out} (audio (${segments}, ${audio.dim}) by ${audio.name}, ` +
          `visual (${segments}, ${visual.dim}) by ${visual.name})\n`,
      );
      if (synth && summary.failed.length === 0)
        process.stdout.write(`wrote the LLP annotations of the ${synth.split} split to ${out}\n`);
      return summary.failed.length === 0 ? 0 : 1;
    } catch (err) {
      progress.finish('stopped');
      if (err instanceof ExtractError) throw new CliError(err.message, 1);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS' || code === 'ENOSPC')
        throw new CliError(`cannot write to '${out}': ${(err as Error).message}`, 1);
      throw err;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await encoders.close();
    }
  },
};

function synthOptions(values: {
  synth?: string;
  split?: string;
  seed?: string;
  preset?: string;
}): SynthVideosOptions {
  const clips = numberFlag('synth', values.synth, 0, { integer: true, min: 1, max: 1_000_000 });
  const split = values.split;
  if (split !== 'train' && split !== 'val' && split !== 'test')
    throw new CliError(
      `--synth needs --split train, val or test${split === undefined ? '' : `, got '${split}'`}`,
    );
  const preset = values.preset ?? 'default';
  if (!isPresetName(preset))
    throw new CliError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
  const seed = numberFlag('seed', values.seed, 0, { integer: true, min: 0, max: 0xffffffff });
  return { clips, split, seed, preset };
}

export default command;
