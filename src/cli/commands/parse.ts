// `avvp parse <file|url>`: offline parse of one source to stdout, one line per finished event
// (JSON with --jsonl). The same operator chain as `avvp serve`, but every segment is processed
// (no drops) and the file is read as fast as inference takes it.
import { lastValueFrom, Subject, tap } from 'rxjs';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { MAX_LOOKAHEAD, SERVE_DEFAULTS } from '../../runtime/config.js';
import { BUNDLED_MODEL_DIR, loadRuntimeModels, RuntimeModelError } from '../../runtime/models.js';
import { Inference, streamPipeline } from '../../runtime/pipeline.js';
import { fromMedia, MediaSourceError } from '../../streams/fromMedia.js';
import { FfmpegNotFoundError } from '../../streams/ffmpeg/locate.js';
import type { AvEvent } from '../../types.js';

const usage = `Usage: avvp parse <file|url> [--jsonl] [--models DIR] [--head NAME] [--lookahead L]

Parses a file (or any ffmpeg URL) offline and prints its audio, visual and audio-visual events,
one per line once each has ended: "start-end s  modality  label  confidence". With --jsonl each
line is a JSON object {id, label, modality, start, end, confidence}. Exits 1 with a message when
the source or the models cannot be used.

Options:
  --jsonl          JSON lines instead of readable lines
  --models DIR     model directory (default: the bundled models/)
  --head NAME      parser head by manifest name
  --lookahead L    seconds of future context per prediction, 0..${MAX_LOOKAHEAD} (default ${SERVE_DEFAULTS.lookahead})`;

const command: Command = {
  name: 'parse',
  summary: 'parse a file or URL offline: one line (or JSON object) per event',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      jsonl: { type: 'boolean' },
      models: { type: 'string' },
      head: { type: 'string' },
      lookahead: { type: 'string' },
    });
    if (positionals.length !== 1)
      throw new CliError(
        positionals.length === 0 ? 'give the file or URL to parse' : 'give exactly one file or URL',
      );
    const lookahead = numberFlag('lookahead', values.lookahead, SERVE_DEFAULTS.lookahead, {
      integer: true,
      min: 0,
      max: MAX_LOOKAHEAD,
    });
    const log = (line: string) => process.stderr.write(`avvp parse: ${line}\n`);
    let inference: Inference | undefined;
    try {
      const models = await loadRuntimeModels(values.models ?? BUNDLED_MODEL_DIR, values.head, log);
      inference = await Inference.create(models);
      const consumed = new Subject<void>();
      const segments = fromMedia(positionals[0], {
        stream: 'input',
        ...models.ingest,
        consumed,
        maxPending: 4,
      });
      const print = (e: AvEvent) =>
        process.stdout.write((values.jsonl ? jsonLine(e) : readableLine(e)) + '\n');
      await lastValueFrom(
        streamPipeline(segments, inference, {
          mode: 'process-all',
          lookahead,
          onEncoded: () => consumed.next(),
        }).pipe(
          tap((out) => {
            if (out.kind === 'event' && out.event.phase === 'end') print(out.event);
          }),
        ),
        { defaultValue: undefined },
      );
      return 0;
    } catch (err) {
      if (err instanceof RuntimeModelError) throw new CliError(err.message, 1);
      if (err instanceof MediaSourceError || err instanceof FfmpegNotFoundError)
        throw new CliError(err.message, 1);
      throw err;
    } finally {
      await inference?.close();
    }
  },
};

function jsonLine(e: AvEvent): string {
  const { id, label, modality, start, end, confidence } = e;
  return JSON.stringify({
    id,
    label,
    modality,
    start,
    end,
    confidence: Math.round(confidence * 1000) / 1000,
  });
}

function readableLine(e: AvEvent): string {
  const span = `${e.start.toFixed(1).padStart(7)}-${(e.end ?? e.start).toFixed(1).padStart(7)} s`;
  return `${span} ${e.modality.padEnd(12)} ${e.label.padEnd(24)} ${e.confidence.toFixed(2)}`;
}

export default command;
