import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatPredictionLine,
  parsePredictionRecord,
  PredictionFormatError,
  readPredictions,
} from '../../src/eval/llp-predictions.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('llp-pred-');

const shape = { segments: 3, classes: 2 };
const good = {
  filename: 'x',
  video: [0.5, 1],
  audio: [
    [0, 1],
    [0.25, 0.75],
    [1, 0],
  ],
  visual: [
    [0, 0],
    [0, 0],
    [1, 1],
  ],
};

describe('parsePredictionRecord', () => {
  it('reads a record into (segments, classes) row-major matrices', () => {
    const { filename, prediction } = parsePredictionRecord(good, 'p:1', shape);
    expect(filename).toBe('x');
    expect(Array.from(prediction.video)).toEqual([0.5, 1]);
    expect(Array.from(prediction.audio)).toEqual([0, 1, 0.25, 0.75, 1, 0]);
    expect(Array.from(prediction.visual)).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it('keeps full double precision, so values just below 0.5 stay below the threshold', () => {
    const v = 0.49999999999;
    const { prediction } = parsePredictionRecord({ ...good, video: [v, v] }, 'p:1', shape);
    expect(prediction.video[0]).toBe(v);
  });

  it('names the line and the problem for each kind of bad record', () => {
    const cases: [unknown, RegExp][] = [
      [[1, 2], /p:7: expected a JSON object/],
      [null, /p:7: expected a JSON object/],
      [{ ...good, filename: '' }, /"filename" must be a non-empty string/],
      [{ ...good, filename: 3 }, /"filename" must be a non-empty string/],
      [{ filename: 'x', audio: good.audio, visual: good.visual }, /p:7: missing "video"/],
      [{ ...good, video: [0.5] }, /"video" must be 2 probabilities \(one per class\), found 1 values/],
      [
        { ...good, audio: good.audio.slice(1) },
        /"audio" must be 3 rows \(one per segment\) of 2 probabilities, found 2 rows/,
      ],
      [{ ...good, visual: undefined }, /"visual" must be 3 rows .* found nothing/],
      [{ ...good, audio: [[0, 1], [0, 1], [0]] }, /"audio"\[2\] must be 2 probabilities .* found 1 values/],
      [{ ...good, audio: [[0, 1], 'x', [0, 1]] }, /"audio"\[1\] must be 2 probabilities .* found string/],
      [
        { ...good, video: [0.5, 1.5] },
        /"video"\[1\] must be a probability in \[0, 1\], found 1\.5 \(pass sigmoid outputs, not logits\)/,
      ],
      [
        {
          ...good,
          visual: [
            [0, -2],
            [0, 0],
            [0, 0],
          ],
        },
        /"visual"\[0\]\[1\] must be a probability in \[0, 1\], found -2/,
      ],
      [{ ...good, video: [0.5, '1'] }, /"video"\[1\] must be a probability in \[0, 1\], found "1"/],
      [{ ...good, video: [0.5, null] }, /found null/],
    ];
    for (const [value, message] of cases) {
      expect(() => parsePredictionRecord(value, 'p:7', shape)).toThrow(message);
    }
  });
});

describe('readPredictions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmp();
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('reads lines written by formatPredictionLine, skipping blank lines and accepting CRLF', async () => {
    const { prediction } = parsePredictionRecord(good, 'p:1', shape);
    const line = formatPredictionLine('-dash_id_0_10', prediction);
    const path = await file('ok.jsonl', `\n${line}\r\n${line.replace('-dash_id_0_10', 'second')}\n\n`);
    const read = await readPredictions(path, shape);
    expect(read.map((r) => [r.filename, r.line])).toEqual([
      ['-dash_id_0_10', 2],
      ['second', 3],
    ]);
    expect(Array.from(read[0].prediction.audio)).toEqual(Array.from(prediction.audio));
  });

  it('reports malformed JSON with its line number', async () => {
    const path = await file('bad.jsonl', `${JSON.stringify(good)}\n{"filename": "y", "video": [0.1,\n`);
    await expect(readPredictions(path, shape)).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
  });

  it('reports a bad record with its line number', async () => {
    const path = await file('short.jsonl', `${JSON.stringify({ ...good, video: [1] })}\n`);
    await expect(readPredictions(path, shape)).rejects.toThrow(
      /short\.jsonl:1: "video" must be 2 probabilities/,
    );
  });

  it('rejects a second prediction for the same video', async () => {
    const path = await file('dup.jsonl', `${JSON.stringify(good)}\n${JSON.stringify(good)}\n`);
    await expect(readPredictions(path, shape)).rejects.toThrow(
      /dup\.jsonl:2: 'x' already has a prediction on line 1/,
    );
  });

  it('names a missing file and a directory', async () => {
    await expect(readPredictions(join(dir, 'none.jsonl'), shape)).rejects.toThrow(PredictionFormatError);
    await expect(readPredictions(join(dir, 'none.jsonl'), shape)).rejects.toThrow(
      /cannot read predictions .*none\.jsonl \(ENOENT\)/,
    );
    await expect(readPredictions(dir, shape)).rejects.toThrow(/cannot read predictions .* \(EISDIR\)/);
  });
});
