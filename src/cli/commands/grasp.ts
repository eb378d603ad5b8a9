// `avvp grasp`: causal discovery with GRaSP on a numeric CSV, writing the CPDAG (or DAG) as an
// adjacency matrix and optionally the DAG's weighted edge list.
import { readFile, writeFile } from 'node:fs/promises';
import { parseDelimited, DelimitedParseError } from '../../util/delimited.js';
import { Progress } from '../../util/progress.js';
import { CausalDataError } from '../../causal/covariance.js';
import { grasp, GRASP_TIERS, type GraspResult } from '../../causal/grasp.js';
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';

const usage = `Usage: avvp grasp --data X.csv --out adj.csv [options]

Learns a causal graph from numeric data (one column per variable, one row per sample) with
GRaSP and a linear-Gaussian BIC score. Writes a p x p matrix without header: A[i][j] = 1 for
i -> j, both A[i][j] and A[j][i] = 1 for an undirected CPDAG edge, 0 otherwise.

Options:
  --data FILE       comma-separated numbers; every cell must be a finite number
  --header          the first line holds variable names
  --out FILE        where to write the adjacency matrix
  --dag             write the DAG found instead of its CPDAG (equivalence class)
  --edges FILE      also write the DAG's edges as cause,effect,weight (weight: OLS coefficient
                    of the cause in the regression of the effect on all its parents)
  --lambda L        BIC penalty multiplier, >= 0 (default 1; 0.5 = plain BIC; TETRAD penalty
                    discount c = 2L)
  --depth D         longest tuck sequence explored through ties, 1-20 (default 3)
  --restarts R      random starting orders, best score kept, 1-1000 (default 3)
  --seed S          integer seed, 0..4294967295 (default 0)
  --tier T          grasp0 | grasp1 | grasp2 (default grasp2: uncovered and non-singular
                    first tucks allowed)
`;

const command: Command = {
  name: 'grasp',
  summary: 'learn a causal graph (CPDAG) from a numeric CSV with GRaSP',
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        data: { type: 'string' },
        header: { type: 'boolean' },
        out: { type: 'string' },
        dag: { type: 'boolean' },
        edges: { type: 'string' },
        lambda: { type: 'string' },
        depth: { type: 'string' },
        restarts: { type: 'string' },
        seed: { type: 'string' },
        tier: { type: 'string' },
      },
      false,
    );
    if (values.data === undefined) throw new CliError('--data is required');
    if (values.out === undefined) throw new CliError('--out is required');
    const tier = values.tier ?? 'grasp2';
    // Object.hasOwn, not `in`: 'toString' and other inherited names are not tiers.
    if (!Object.hasOwn(GRASP_TIERS, tier)) {
      throw new CliError(`--tier must be grasp0, grasp1 or grasp2, got '${tier}'`);
    }
    const options = {
      lambda: numberFlag('lambda', values.lambda, 1, { min: 0 }),
      depth: numberFlag('depth', values.depth, 3, { integer: true, min: 1, max: 20 }),
      restarts: numberFlag('restarts', values.restarts, 3, { integer: true, min: 1, max: 1000 }),
      seed: numberFlag('seed', values.seed, 0, { integer: true, min: 0, max: 0xffffffff }),
      ...GRASP_TIERS[tier as keyof typeof GRASP_TIERS],
    };

    const { names, rows } = await readNumericCsv(values.data, values.header ?? false);
    const started = performance.now();
    const progress = new Progress({ label: 'grasp', total: options.restarts, unit: 'restarts' });
    let result: GraspResult;
    try {
      result = grasp(rows, {
        ...options,
        names,
        onRestart: (_, best) => progress.tick(1, `best score ${best.toFixed(3)}`),
      });
    } catch (err) {
      if (err instanceof CausalDataError) throw new CliError(`${values.data}: ${err.message}`, 1);
      throw err;
    }
    progress.finish();
    const seconds = (performance.now() - started) / 1000;

    const graph = values.dag ? result.dag : result.cpdag;
    await write(values.out, graph.map((row) => row.join(',')).join('\n') + '\n');
    if (values.edges !== undefined) {
      const lines = [
        'cause,effect,weight',
        ...result.edges.map((e) => csvRow([e.cause, e.effect, String(e.weight)])),
      ];
      await write(values.edges, lines.join('\n') + '\n');
    }
    const undirected = result.edges.filter((e) => !e.compelled).length;
    process.stdout.write(
      `grasp: ${names.length} variables, ${rows.length} samples: ${result.edges.length} edges ` +
        `(${undirected} undirected in the CPDAG), BIC score ${result.score.toFixed(3)} ` +
        `(lambda ${options.lambda}, best of ${options.restarts} restart(s)) in ${seconds.toFixed(2)} s; ` +
        `wrote the ${values.dag ? 'DAG' : 'CPDAG'} to ${values.out}\n`,
    );
    return 0;
  },
};

export default command;

/** Reads a CSV of finite numbers; errors name file, line and column. */
async function readNumericCsv(path: string, header: boolean): Promise<{ names: string[]; rows: number[][] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read --data ${path}: ${(err as Error).message}`, 1);
  }
  let table;
  try {
    table = parseDelimited(text, { delimiter: ',', header, source: path });
  } catch (err) {
    if (err instanceof DelimitedParseError) throw new CliError(err.message, 1);
    throw err;
  }
  if (table.rows.length === 0) throw new CliError(`${path}: no data rows`, 1);
  const p = table.rows[0].length;
  const names = table.header?.map((h) => h.trim()) ?? Array.from({ length: p }, (_, i) => `x${i}`);
  const rows = table.rows.map((cells, r) =>
    cells.map((cell, c) => {
      const text = cell.trim();
      const x = Number(text);
      if (text === '' || !Number.isFinite(x)) {
        const what = text === '' ? 'is empty' : `is '${text}', not a finite number`;
        throw new CliError(
          `${path}:${table.lines[r]}: column ${c + 1} (${names[c]}) ${what}; GRaSP needs every cell to be a ` +
            'number: drop or impute missing values' +
            (r === 0 && !header ? ' (or pass --header if the first line holds names)' : ''),
          1,
        );
      }
      return x;
    }),
  );
  return { names, rows };
}

async function write(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`, 1);
  }
}

function csvRow(cells: string[]): string {
  return cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}
