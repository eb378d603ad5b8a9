// `avvp eval llp` run as a real process on a small made-up annotation folder.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LLP_CLASSES, LLP_FILES } from '../../src/datasets/llp.js';
import { runAvvp } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-eval-');

const C = LLP_CLASSES.length;

const avvp = runAvvp;

/** A prediction line: `on` maps class name -> [modality, start, end, probability] runs. */
function line(
  filename: string,
  video: Record<string, number>,
  on: [string, 'audio' | 'visual', number, number, number][],
) {
  const rows = () => Array.from({ length: 10 }, () => new Array<number>(C).fill(0));
  const audio = rows();
  const visual = rows();
  for (const [name, modality, s, e, p] of on) {
    for (let t = s; t < e; t++) (modality === 'audio' ? audio : visual)[t][LLP_CLASSES.indexOf(name)] = p;
  }
  const clip = new Array<number>(C).fill(0);
  for (const [name, p] of Object.entries(video)) clip[LLP_CLASSES.indexOf(name)] = p;
  return JSON.stringify({ filename, video: clip, audio, visual });
}

// Three val videos. The dense files carry the official quirks: a duplicate row, onset = offset,
// onset > offset, and a row for a video of the other split.
const VAL =
  'filename\tevent_labels\n-aaaaaaaaaa_0_10\tSpeech,Dog\nbbbbbbbbbbb_5_15\tCat\nccccccccccc_0_10\tCar\n';
const TEST = 'filename\tevent_labels\nddddddddddd_0_10\tSpeech\n';
const AUDIO =
  'filename\tonset\toffset\tevent_labels\n-aaaaaaaaaa_0_10\t0\t10\tSpeech\nbbbbbbbbbbb_5_15\t2\t6\tCat\n' +
  'bbbbbbbbbbb_5_15\t2\t6\tCat\nccccccccccc_0_10\t3\t3\tCar\nddddddddddd_0_10\t0\t10\tSpeech\n';
const VISUAL =
  'filename\tonset\toffset\tevent_labels\n-aaaaaaaaaa_0_10\t0\t10\tDog\nbbbbbbbbbbb_5_15\t0\t10\tCat\nccccccccccc_0_10\t9\t0\tCar\n';

const PREDICTIONS = [
  // Audio Speech exact; visual Dog on [0,5) of GT [0,10): segment V 2/3, event V 1 (IoU 0.5).
  line('-aaaaaaaaaa_0_10', { Speech: 0.9, Dog: 0.8 }, [
    ['Speech', 'audio', 0, 10, 0.7],
    ['Dog', 'visual', 0, 5, 0.6],
  ]),
  // Everything exact, with probabilities of exactly 0.5 (inclusive thresholds).
  line('bbbbbbbbbbb_5_15', { Cat: 0.5 }, [
    ['Cat', 'audio', 2, 6, 0.5],
    ['Cat', 'visual', 0, 10, 1],
  ]),
  // Audio Car predicted where the ground truth is empty: A 0, Event@AV 0; V and AV empty: 1.
  line('ccccccccccc_0_10', { Car: 0.9 }, [['Car', 'audio', 0, 10, 0.9]]),
];

describe('avvp eval llp', () => {
  let dir: string;
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await tmp();
    await writeFile(path(LLP_FILES.val), VAL);
    await writeFile(path(LLP_FILES.test), TEST);
    await writeFile(path(LLP_FILES.audio), AUDIO);
    await writeFile(path(LLP_FILES.visual), VISUAL);
    await writeFile(path('pred.jsonl'), PREDICTIONS.join('\n') + '\n');
  });

  const args = (pred: string, ...more: string[]) => [
    'eval',
    'llp',
    '--pred',
    path(pred),
    '--annotations',
    dir,
    '--split',
    'val',
    ...more,
  ];

  it('prints the ten metrics as JSON, in percent', async () => {
    const r = await avvp(args('pred.jsonl', '--json'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(Object.keys(m)).toEqual(['segment', 'event']);
    expect(Object.keys(m.segment)).toEqual(['audio', 'visual', 'av', 'type', 'event']);
    // Per video (segment): A 1, 1, 0; V 2/3, 1, 1; AV 1, 1, 1; Event@AV mean(1, 2/3) = 5/6, 1, 0.
    const expected = {
      segment: { audio: 200 / 3, visual: 800 / 9, av: 100, event: (100 * (5 / 6 + 1)) / 3 },
      event: { audio: 200 / 3, visual: 100, av: 100, event: 200 / 3 },
    };
    for (const level of ['segment', 'event'] as const) {
      for (const [key, value] of Object.entries(expected[level]))
        expect(m[level][key]).toBeCloseTo(value, 10);
      expect(m[level].type).toBeCloseTo((m[level].audio + m[level].visual + m[level].av) / 3, 10);
    }
  });

  it('prints a readable table without --json', async () => {
    const r = await avvp(args('pred.jsonl'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('LLP val split, 3 videos');
    expect(r.stdout).toMatch(/Audio\s+Visual\s+Audio-Visual\s+Type@AV\s+Event@AV/);
    expect(r.stdout).toMatch(/Segment-level\s+66\.67\s+88\.89\s+100\.00\s+85\.19\s+61\.11/);
    expect(r.stdout).toMatch(/Event-level\s+66\.67\s+100\.00\s+100\.00\s+88\.89\s+66\.67/);
  });

  it('reports a malformed line with its number', async () => {
    await writeFile(path('broken.jsonl'), `${PREDICTIONS[0]}\n{"filename": "bbbbbbbbbbb_5_15",\n`);
    const r = await avvp(args('broken.jsonl'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/avvp eval: .*broken\.jsonl:2: not valid JSON/);
    expect(r.stdout).toBe('');
  });

  it('reports wrong vector lengths', async () => {
    const short = JSON.parse(PREDICTIONS[1]);
    short.audio.pop();
    await writeFile(path('short.jsonl'), [PREDICTIONS[0], JSON.stringify(short), PREDICTIONS[2]].join('\n'));
    const r = await avvp(args('short.jsonl'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /short\.jsonl:2: "audio" must be 10 rows \(one per segment\) of 25 probabilities, found 9 rows/,
    );
  });

  it('reports missing videos and unknown filenames', async () => {
    await writeFile(path('missing.jsonl'), PREDICTIONS[0] + '\n');
    const missing = await avvp(args('missing.jsonl'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /no prediction for 2 of the 3 val videos: 'bbbbbbbbbbb_5_15', 'ccccccccccc_0_10'/,
    );
    const other = line('ddddddddddd_0_10', {}, []);
    await writeFile(path('unknown.jsonl'), [...PREDICTIONS, other].join('\n'));
    const unknown = await avvp(args('unknown.jsonl'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /1 prediction\(s\) for videos not in the val split \(AVVP_val_pd\.csv\): 'ddddddddddd_0_10' \(line 4\)/,
    );
    await writeFile(
      path('ids.jsonl'),
      PREDICTIONS.map((p) => p.replace('bbbbbbbbbbb_5_15', 'bbbbbbbbbbb')).join('\n'),
    );
    const ids = await avvp(args('ids.jsonl'));
    expect(ids.code).toBe(1);
    expect(ids.stderr).toMatch(
      /use the full filename as in the CSV, e\.g\. 'bbbbbbbbbbb_5_15' for 'bbbbbbbbbbb'/,
    );
  });

  it('reports a missing annotation file and a missing predictions file', async () => {
    const r = await avvp([
      'eval',
      'llp',
      '--pred',
      path('pred.jsonl'),
      '--annotations',
      join(dir, 'nope'),
      '--split',
      'test',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing annotation file .*nope.AVVP_test_pd\.csv/);
    const p = await avvp(args('absent.jsonl'));
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/cannot read predictions .*absent\.jsonl \(ENOENT\)/);
  });

  it('rejects bad usage with exit code 2 and a pointer to --help', async () => {
    const split = await avvp(['eval', 'llp', '--pred', 'x', '--annotations', dir, '--split', 'train']);
    expect(split.code).toBe(2);
    expect(split.stderr).toMatch(/--split must be 'val' or 'test', got 'train'/);
    expect(split.stderr).toMatch(/Run 'avvp eval --help' for usage/);
    const task = await avvp(['eval', 'map']);
    expect(task.code).toBe(2);
    expect(task.stderr).toMatch(/unknown task 'map'; available: llp/);
    const pred = await avvp(['eval', 'llp', '--annotations', dir, '--split', 'val']);
    expect(pred.stderr).toMatch(/--pred <predictions\.jsonl> is required/);
  });
});
