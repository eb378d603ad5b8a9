import { describe, expect, it } from 'vitest';
import { DelimitedParseError, parseDelimited } from '../../src/util/delimited.js';

describe('parseDelimited', () => {
  it('reads a tab-separated file with a header, skipping blank lines', () => {
    const t = parseDelimited('filename\tevent_labels\n\nabc\tSpeech,Dog\r\nxyz\tCar\n', {
      delimiter: '\t',
      header: true,
    });
    expect(t.header).toEqual(['filename', 'event_labels']);
    expect(t.rows).toEqual([
      ['abc', 'Speech,Dog'],
      ['xyz', 'Car'],
    ]);
    expect(t.lines).toEqual([3, 4]);
  });

  it('handles quoted fields with delimiters and escaped quotes', () => {
    const t = parseDelimited('"a,b",2\n"say ""hi""",3\n', { delimiter: ',', header: false });
    expect(t.rows).toEqual([
      ['a,b', '2'],
      ['say "hi"', '3'],
    ]);
  });

  it('names the file and line of a ragged row', () => {
    expect(() => parseDelimited('1,2\n3\n', { delimiter: ',', header: false, source: 'x.csv' })).toThrow(
      /x\.csv:2: expected 2 fields, found 1/,
    );
  });

  it('rejects an unterminated quote', () => {
    expect(() => parseDelimited('"abc,1\n', { delimiter: ',', header: false })).toThrow(DelimitedParseError);
  });
});
