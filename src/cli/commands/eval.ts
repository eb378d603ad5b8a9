// `avvp eval <task>`: the papers' metrics over predictions written by any model.
import { CliError, parseCommandArgs, type Command } from '../command.js';
import { evaluateLlp, type LlpMetrics } from '../../eval/llp.js';
import { PredictionFormatError, readPredictions, type FilePrediction } from '../../eval/llp-predictions.js';
import {
  groundTruth,
  loadEvalAnnotations,
  LLP_FILES,
  LLP_SEGMENTS,
  LlpFormatError,
  type LlpEvalAnnotations,
} from '../../datasets/llp.js';

const usage = `Usage: avvp eval llp --pred <predictions.jsonl> --annotations <dir> --split val|test [--json]

Scores LLP audio-visual video parsing predictions with the official metric: segment- and
event-level F1 for audio, visual, audio-visual, Type@AV and Event@AV, in percent.

  --pred <file>         JSONL, one video per line, classes in the official order:
                        {"filename": "<as in the split CSV>", "video": [25 probabilities],
                         "audio": [10 rows of 25], "visual": [10 rows of 25]}
                        Every video of the split must appear exactly once.
  --annotations <dir>   folder with ${LLP_FILES.val}, ${LLP_FILES.test},
                        ${LLP_FILES.audio} and ${LLP_FILES.visual}
  --split val|test      which split to score
  --json                print {"segment":{...},"event":{...}} instead of a table

See docs/eval.md for every rule of the metric.`;

/** How many offending names an error message lists before "and N more". */
const LIST_LIMIT = 5;

function listSome(items: string[]): string {
  const shown = items.slice(0, LIST_LIMIT).join(', ');
  return items.length > LIST_LIMIT ? `${shown} and ${items.length - LIST_LIMIT} more` : shown;
}

/** Pairs every video of the split with its prediction; unknown and missing videos are errors. */
function pairWithTruth(predictions: FilePrediction[], annotations: LlpEvalAnnotations, predPath: string) {
  const inSplit = new Set(annotations.videos.map((v) => v.filename));
  const unknown = predictions.filter((p) => !inSplit.has(p.filename));
  if (unknown.length > 0) {
    // A common slip: keying predictions by the 11-character id, as feature files are.
    const fullName = new Map(annotations.videos.map((v) => [v.filename.slice(0, 11), v.filename]));
    const example = unknown.find((p) => fullName.has(p.filename));
    const hint = example
      ? `; use the full filename as in the CSV, e.g. '${fullName.get(example.filename)}' for '${example.filename}'`
      : '';
    throw new CliError(
      `${predPath}: ${unknown.length} prediction(s) for videos not in the ${annotations.split} split (${LLP_FILES[annotations.split]}): ${listSome(unknown.map((p) => `'${p.filename}' (line ${p.line})`))}${hint}`,
      1,
    );
  }
  const byName = new Map(predictions.map((p) => [p.filename, p.prediction]));
  const missing = annotations.videos.filter((v) => !byName.has(v.filename)).map((v) => `'${v.filename}'`);
  if (missing.length > 0) {
    throw new CliError(
      `${predPath}: no prediction for ${missing.length} of the ${annotations.videos.length} ${annotations.split} videos: ${listSome(missing)}`,
      1,
    );
  }
  return annotations.videos.map((v) => ({
    prediction: byName.get(v.filename)!,
    truth: groundTruth(annotations, v.filename),
  }));
}

function table(metrics: LlpMetrics, title: string): string {
  const columns = ['Audio', 'Visual', 'Audio-Visual', 'Type@AV', 'Event@AV'];
  const labelWidth = 'Segment-level'.length;
  const cell = (value: number, i: number) => value.toFixed(2).padStart(columns[i].length);
  const row = (label: string, m: LlpMetrics['segment']) =>
    [label.padEnd(labelWidth), ...[m.audio, m.visual, m.av, m.type, m.event].map(cell)].join('  ');
  return [
    title,
    '',
    [''.padEnd(labelWidth), ...columns].join('  '),
    row('Segment-level', metrics.segment),
    row('Event-level', metrics.event),
    '',
  ].join('\n');
}

async function evalLlp(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      pred: { type: 'string' },
      annotations: { type: 'string' },
      split: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    false,
  );
  if (!values.pred) throw new CliError('--pred <predictions.jsonl> is required');
  if (!values.annotations) throw new CliError('--annotations <dir> is required');
  if (values.split !== 'val' && values.split !== 'test') {
    throw new CliError(
      `--split must be 'val' or 'test', got ${values.split ? `'${values.split}'` : 'nothing'}`,
    );
  }
  try {
    const annotations = await loadEvalAnnotations(values.annotations, values.split);
    const shape = { segments: LLP_SEGMENTS, classes: annotations.classes.length };
    const predictions = await readPredictions(values.pred, shape);
    const metrics = evaluateLlp(pairWithTruth(predictions, annotations, values.pred));
    process.stdout.write(
      values.json
        ? JSON.stringify(metrics) + '\n'
        : table(metrics, `LLP ${values.split} split, ${annotations.videos.length} videos: F1 (%)`),
    );
    return 0;
  } catch (err) {
    if (err instanceof LlpFormatError || err instanceof PredictionFormatError)
      throw new CliError(err.message, 1);
    throw err;
  }
}

const tasks: Record<string, (argv: string[]) => Promise<number>> = { llp: evalLlp };

const command: Command = {
  name: 'eval',
  summary: "score predictions with the papers' metrics (llp: LLP segment/event F1)",
  usage,
  async run(argv) {
    const [task, ...rest] = argv;
    const run = task === undefined ? undefined : tasks[task];
    if (!run) {
      throw new CliError(
        `${task === undefined ? 'missing task' : `unknown task '${task}'`}; available: ${Object.keys(tasks).join(', ')}`,
      );
    }
    return run(rest);
  },
};

export default command;
