import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { runAvvp } from '../helpers/cli.js';
import { cpdagOf, parentsOf } from '../../src/causal/cpdag.js';
import { grasp } from '../../src/causal/grasp.js';
import { randomLinearSem, sampleLinearSem } from '../../src/causal/simulate.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-grasp-');

const avvp = (...args: string[]) => runAvvp(['grasp', ...args]);

function readMatrix(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number));
}

// Several CLI processes at once: allow for a heavily loaded machine.
const MANY_SPAWNS_TIMEOUT_MS = 180_000;

let dir: string;
let rows: number[][];
// Names with a comma and a quote check the CSV quoting of the edge list.
const names = ['a', 'b,1', 'c "q"', 'd', 'e', 'f'];
const csvField = (name: string) => (/[",]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name);
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await tmp();
  const rng = new Rng(1);
  const data = sampleLinearSem(randomLinearSem(6, 6, rng), 1000, rng);
  rows = Array.from({ length: data.n }, (_, r) => Array.from(data.values.slice(r * 6, r * 6 + 6)));
  const body = rows.map((row) => row.join(',')).join('\n') + '\n';
  await writeFile(file('data.csv'), `${names.map(csvField).join(',')}\n${body}`);
  await writeFile(file('plain.csv'), body);
});

describe('avvp grasp', () => {
  it('writes the CPDAG as a 0/1 matrix without header, and the DAG edge list', async () => {
    const run = await avvp(
      '--data',
      file('data.csv'),
      '--header',
      '--out',
      file('cpdag.csv'),
      '--edges',
      file('e.csv'),
      '--seed',
      '4',
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^grasp 3 restarts\/3 restarts 100\.0% .* best score -\d+\.\d{3}$/m);
    expect(run.stdout).toMatch(/6 variables, 1000 samples: \d+ edges/);
    const cpdag = readMatrix(await readFile(file('cpdag.csv'), 'utf8'));
    const expected = grasp(rows, { seed: 4, names });
    expect(cpdag).toEqual(expected.cpdag);
    const edges = (await readFile(file('e.csv'), 'utf8')).trim().split('\n');
    expect(edges[0]).toBe('cause,effect,weight');
    expect(edges.slice(1)).toEqual(
      expected.edges.map((e) => `${csvField(e.cause)},${csvField(e.effect)},${e.weight}`),
    );
    expect(edges.join('\n')).toContain('"b,1"');
  });

  it('writes the DAG with --dag; reads data without a header; honours --lambda/--depth/--restarts/--tier', async () => {
    const run = await avvp(
      ...['--data', file('plain.csv'), '--out', file('dag.csv'), '--dag', '--lambda', '0.5'],
      ...['--depth', '2', '--restarts', '2', '--seed', '7', '--tier', 'grasp1'],
    );
    expect(run.code).toBe(0);
    const dag = readMatrix(await readFile(file('dag.csv'), 'utf8'));
    const expected = grasp(rows, {
      seed: 7,
      lambda: 0.5,
      depth: 2,
      restarts: 2,
      uncoveredDepth: 1,
      nonSingularDepth: 0,
    });
    expect(dag).toEqual(expected.dag);
    expect(cpdagOf(parentsOf(dag))).toEqual(expected.cpdag);
  });

  // [what, file content, --header?, expected message]; every case exits 1 without a stack trace.
  const bad: [string, string, boolean, RegExp][] = [
    [
      'non-numeric cell',
      'a,b\n1,2\n3,x\n4,5\n',
      true,
      /non-numeric-cell\.csv:3: column 2 \(b\) is 'x', not a finite number/,
    ],
    [
      'NaN cell',
      '1,2\n3,NaN\n4,5\n',
      false,
      /:2: column 2 \(x1\) is 'NaN', not a finite number.*drop or impute/,
    ],
    ['empty cell', '1,2\n3,\n4,5\n2,2\n', false, /:2: column 2 \(x1\) is empty/],
    ['names without --header', 'a,b\n1,2\n', false, /is 'a', not a finite number.*pass --header/],
    ['ragged row', '1,2\n3\n', false, /ragged-row\.csv:2: expected 2 fields, found 1/],
    ['no data rows', '\n\n', false, /no data rows/],
    ['constant column', 'u,v\n1,5\n2,5\n3,5\n0,5\n', true, /'v' \(column 2\) is constant/],
    ['more variables than samples', '1,2,3\n4,5,7\n', false, /2 samples for 3 variables/],
    [
      'collinear columns',
      '1,2,3\n2,4,6.5\n3,6,8\n5,10,1\n',
      false,
      /'x1' \(column 2\) is \(almost\) a linear combination/,
    ],
  ];
  it(
    'fails clearly on bad data: ' + bad.map(([what]) => what).join(', '),
    async () => {
      const runs = await Promise.all(
        bad.map(async ([what, content, header]) => {
          const path = file(`${what.replace(/\W+/g, '-')}.csv`);
          await writeFile(path, content);
          return avvp('--data', path, '--out', file('never.csv'), ...(header ? ['--header'] : []));
        }),
      );
      runs.forEach((run, k) => {
        expect(run.stderr).toMatch(bad[k][3]);
        expect(run.code).toBe(1);
        expect(run.stderr).not.toMatch(/internal error|at .*\.ts:/);
      });
    },
    MANY_SPAWNS_TIMEOUT_MS,
  );

  it('fails clearly on a missing file and an unwritable output', async () => {
    const missing = await avvp('--data', file('nope.csv'), '--out', file('x.csv'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read --data .*nope\.csv: ENOENT/);
    const unwritable = await avvp('--data', file('plain.csv'), '--out', join(dir, 'no-such-dir', 'x.csv'));
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write .*no-such-dir/);
  });

  const badFlags: [string[], RegExp][] = [
    [['--out', 'x.csv'], /--data is required/],
    [['--data', 'x.csv'], /--out is required/],
    [['--data', 'x.csv', '--out', 'y.csv', '--lambda=-1'], /--lambda must be >= 0/],
    [['--data', 'x.csv', '--out', 'y.csv', '--depth', '0'], /--depth must be >= 1/],
    [['--data', 'x.csv', '--out', 'y.csv', '--depth', '1.5'], /--depth must be an integer/],
    [['--data', 'x.csv', '--out', 'y.csv', '--restarts', 'many'], /--restarts must be a number/],
    [['--data', 'x.csv', '--out', 'y.csv', '--tier', 'grasp9'], /--tier must be grasp0, grasp1 or grasp2/],
    [['--data', 'x.csv', '--out', 'y.csv', '--tier', 'toString'], /--tier must be grasp0, grasp1 or grasp2/],
    [['--data', 'x.csv', '--out', 'y.csv', '--seed', '4294967296'], /--seed must be <= 4294967295/],
    [['--data', 'x.csv', '--out', 'y.csv', '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  it(
    'rejects bad flags with exit code 2 and a usage hint',
    async () => {
      const runs = await Promise.all(badFlags.map(([args]) => avvp(...args)));
      runs.forEach((run, k) => {
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(badFlags[k][1]);
        expect(run.stderr).toMatch(/Run 'avvp grasp --help' for usage/);
      });
    },
    MANY_SPAWNS_TIMEOUT_MS,
  );

  it('prints usage with --help', async () => {
    const run = await avvp('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: avvp grasp --data X\.csv --out adj\.csv/);
  });
});
