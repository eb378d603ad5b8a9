// `avvp train` flag checking, run as real processes: every bad flag combination ends with exit 2,
// the problem named and nothing trained.
import { describe, expect, it } from 'vitest';
import { runAvvp as avvp } from '../helpers/cli.js';

const synth = ['--synth', 'train=2,val=1', '--out', 'unused-out'];
const cases: [string, string[], string][] = [
  ['no model', ['train'], 'which model? avvp train link|han'],
  ['unknown model', ['train', 'valor', ...synth], "unknown model 'valor'; choose link or han"],
  ['no --out', ['train', 'link', '--synth', 'train=2,val=1'], '--out DIR is required'],
  [
    'no data',
    ['train', 'link', '--out', 'x'],
    'no data: give --features DIR --annotations DIR, or --synth train=N,val=M',
  ],
  [
    'both data sources',
    ['train', 'link', ...synth, '--features', 'f', '--annotations', 'a'],
    'either --features/--annotations or --synth, not both',
  ],
  [
    'features without annotations',
    ['train', 'link', '--out', 'x', '--features', 'f'],
    '--features and --annotations go together',
  ],
  [
    '--synth half given',
    ['train', 'link', '--out', 'x', '--synth', 'train=2'],
    "--synth needs both train=N and val=M, got 'train=2'",
  ],
  [
    '--synth malformed',
    ['train', 'link', '--out', 'x', '--synth', 'train:2,val:1'],
    '--synth must look like train=N,val=M',
  ],
  [
    '--synth zero clips',
    ['train', 'link', '--out', 'x', '--synth', 'train=0,val=1'],
    '--synth train must be >= 1, got 0',
  ],
  [
    'unknown provider',
    ['train', 'link', ...synth, '--providers', 'cuda,tpu'],
    "--providers: unknown execution provider 'tpu'",
  ],
  [
    'zero steps per run',
    ['train', 'link', ...synth, '--steps-per-run', '0'],
    '--steps-per-run must be >= 1, got 0',
  ],
  [
    'unknown preset',
    ['train', 'link', ...synth, '--preset', 'extreme'],
    "--preset must be one of easy, default, hard, got 'extreme'",
  ],
  [
    'unknown ablation',
    ['train', 'link', ...synth, '--ablate', 'tsam,memory'],
    "unknown LINK module 'memory' to ablate",
  ],
  ['ablation on han', ['train', 'han', ...synth, '--ablate', 'tsam'], '--ablate applies to link only'],
  ['--epochs 0', ['train', 'link', ...synth, '--epochs', '0'], '--epochs must be >= 1, got 0'],
  ['--lr text', ['train', 'link', ...synth, '--lr', 'fast'], "--lr must be a number, got 'fast'"],
  [
    'heads do not divide hidden',
    ['train', 'link', ...synth, '--hidden', '30', '--heads', '4'],
    '--hidden 30 must be divisible by --heads 4',
  ],
  [
    'bad name',
    ['train', 'link', ...synth, '--name', '../evil'],
    "--name may hold letters, digits, '.', '_' and '-'",
  ],
  ['unknown flag', ['train', 'link', ...synth, '--gpu'], "Unknown option '--gpu'"],
];

describe('avvp train: bad flags', () => {
  it('each bad combination exits 2 with the problem named', async () => {
    const results = await Promise.all(cases.map(([, args]) => avvp(args)));
    results.forEach((r, i) => {
      const [what, , message] = cases[i];
      expect({ what, code: r.code }).toEqual({ what, code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain("Run 'avvp train --help' for usage.");
    });
  }, 120_000);

  it('--help prints the usage', async () => {
    const r = await avvp(['train', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: avvp train link|han');
    expect(r.stdout).toContain('--ablate LIST');
  }, 60_000);
});
