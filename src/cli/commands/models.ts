// `avvp models list|fetch`: what is in a model directory and whether it is intact, and
// downloading the known public encoder exports into one (see docs/models.md).
import { basename } from 'node:path';
import { DownloadError } from '../../models/download.js';
import { CATALOG, DEFAULT_HUB, FetchError, fetchModel } from '../../models/fetch.js';
import { ManifestError, type TensorSpec } from '../../models/manifest.js';
import { listProblems, loadModelDir, ModelDirError } from '../../models/registry.js';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';

const width = Math.max(...CATALOG.map((e) => e.name.length));
const usage = `Usage: avvp models list [--dir DIR] [--json] [--validate]
       avvp models fetch <name>... [--dir DIR] [--mirror URL] [--force] [--timeout S] [--retries N]
       avvp models adapt <name> [--dir DIR] [--frames F]

list    Every model manifest (*.json) in DIR (default models/): name, kind, file, whether the
        file matches the manifest's sha256, and its inputs -> outputs; for each head, the
        encoders that feed it. Then every problem
        (invalid manifests, missing or changed files, heads with no compatible encoder) on
        stderr. Exit status 0 when there is none, 1 otherwise.
  --json      print a JSON array of {"name","kind","file","ok"} instead ("problem" is added
              when ok is false; an unreadable manifest has kind and file null)
  --validate  also open each file with onnxruntime and compare its inputs/outputs with the
              manifest (names, dtypes, ranks, dims)

fetch   Download known public exports into DIR (default models/) as <name>.onnx with a
        manifest <name>.json: sha256-checked, resumable (rerun after an interruption),
        validated with onnxruntime before it is installed.
  --mirror URL  fetch from URL instead of ${DEFAULT_HUB}; it must serve the hub's layout
                <URL>/<repo>/resolve/<revision>/<path>
  --force       download again even when a verified copy is present
  --timeout S   give up on a connection silent for S seconds (default 30)
  --retries N   resume attempts after a dropped connection (default 3)

adapt   Turn a fetched CLIP vision or CLAP audio export into a segment encoder that takes raw
        segment data, written as <name>-segment.onnx + .json in DIR: CLIP: frames uint8
        [batch, F, 224, 224, 3] -> visual_features [batch, 512] (mean over the F frames);
        CLAP: audio float32 [batch, 48000] (1 s at 48 kHz) -> audio_features [batch, 512];
        both L2-normalised. The preprocessing (normalisation, log-mel) runs inside the graph.
  --frames F    frames per one-second segment for CLIP (default 8)

Known exports:
${CATALOG.map((e) => `  ${e.name.padEnd(width)}  ${e.description}`).join('\n')}
`;

const models: Command = {
  name: 'models',
  summary: 'list the models in a directory and check them; fetch and adapt CLIP/CLAP encoder exports',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest);
    if (sub === 'fetch') return fetch(rest);
    if (sub === 'adapt') return adapt(rest);
    throw new CliError(
      sub === undefined ? 'missing sub-command: list, fetch or adapt' : `unknown sub-command '${sub}'`,
    );
  },
};
export default models;

async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    dir: { type: 'string', default: 'models' },
    json: { type: 'boolean', default: false },
    validate: { type: 'boolean', default: false },
  });
  if (positionals.length > 0) throw new CliError(`unexpected argument '${positionals[0]}'`);
  let directory;
  try {
    directory = await loadModelDir(values.dir, { validate: values.validate });
  } catch (err) {
    if (err instanceof ModelDirError) throw new CliError(err.message, 1);
    throw err;
  }
  const problems = listProblems(directory);

  if (values.json) {
    const rows = [
      ...directory.models.map((m) => ({
        name: m.manifest.name,
        kind: m.manifest.kind,
        file: m.manifest.file,
        ok: m.status === 'ok',
        ...(m.problem !== undefined ? { problem: m.problem } : {}),
      })),
      ...directory.invalid.map((i) => ({
        name: basename(i.manifestPath, '.json'),
        kind: null,
        file: null,
        ok: false,
        problem: i.message,
      })),
    ];
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  } else {
    const table = directory.models.map((m) => [
      m.manifest.name,
      m.manifest.kind,
      m.manifest.file,
      m.status,
      `${m.manifest.inputs.map(tensor).join(', ')} -> ${m.manifest.outputs.map(tensor).join(', ')}`,
    ]);
    if (table.length > 0)
      process.stdout.write(formatTable([['NAME', 'KIND', 'FILE', 'STATUS', 'I/O'], ...table]));
    for (const p of directory.pairings) {
      const fed = [p.audio && `audio from ${p.audio}`, p.visual && `visual from ${p.visual}`].filter(Boolean);
      process.stdout.write(
        `head ${p.head}: ${fed.length > 0 ? fed.join(', ') : 'needs no encoder features'}\n`,
      );
    }
  }
  for (const line of problems) process.stderr.write(`problem: ${line}\n`);
  return problems.length === 0 ? 0 : 1;
}

async function fetch(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    dir: { type: 'string', default: 'models' },
    mirror: { type: 'string' },
    force: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    retries: { type: 'string' },
  });
  if (positionals.length === 0)
    throw new CliError(`name the export(s) to fetch: ${CATALOG.map((e) => e.name).join(', ')}`);
  const unknown = positionals.find((name) => !CATALOG.some((e) => e.name === name));
  if (unknown !== undefined)
    throw new CliError(`unknown model '${unknown}'; known exports: ${CATALOG.map((e) => e.name).join(', ')}`);
  const timeoutMs = numberFlag('timeout', values.timeout, 30, { min: 0.1 }) * 1000;
  const retries = numberFlag('retries', values.retries, 3, { integer: true, min: 0, max: 100 });
  for (const name of positionals) {
    try {
      const result = await fetchModel(name, {
        dir: values.dir,
        force: values.force,
        ...(values.mirror !== undefined ? { mirror: values.mirror } : {}),
        download: { timeoutMs, retries, progress: true },
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const how = result.downloaded ? 'fetched' : 'already present';
      process.stdout.write(
        `${result.name}: ${how}, ${result.filePath} sha256 ${result.sha256} (${result.sha256Source})\n`,
      );
    } catch (err) {
      if (err instanceof FetchError || err instanceof DownloadError)
        throw new CliError(`${name}: ${err.message}`, 1);
      throw err;
    }
  }
  return 0;
}

async function adapt(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    dir: { type: 'string', default: 'models' },
    frames: { type: 'string' },
  });
  if (positionals.length !== 1)
    throw new CliError('name one fetched export to adapt, e.g. clip-vit-b32-vision');
  const frames = numberFlag('frames', values.frames, 8, { integer: true, min: 1, max: 120 });
  const { AdaptError, adaptExport } = await import('../../models/adapters/adapt.js');
  const { ComposeError } = await import('../../models/adapters/compose.js');
  const { ModelValidationError } = await import('../../models/validate.js');
  try {
    const out = await adaptExport(values.dir, positionals[0], { frames });
    process.stdout.write(`${out.name}: wrote ${out.filePath} and ${out.manifestPath}\n`);
  } catch (err) {
    const fixable = [AdaptError, ComposeError, ManifestError, ModelValidationError].some(
      (type) => err instanceof type,
    );
    if (fixable) throw new CliError(`${positionals[0]}: ${(err as Error).message}`, 1);
    throw err;
  }
  return 0;
}

function tensor(t: TensorSpec): string {
  return `${t.name} ${t.dtype}[${t.shape.join(',')}]`;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return (
    rows
      .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  '))
      .join('\n') + '\n'
  );
}
