// Numeric flags are decimal, and a negative value reaches the flag's own check instead of
// parseArgs's "ambiguous" message.
import { describe, expect, it } from 'vitest';
import { CliError, numberFlag, parseCommandArgs } from '../../src/cli/command.js';

describe('numberFlag', () => {
  it.each([
    ['0x10', { integer: true }, "--n must be a number written in decimal digits, got '0x10'"],
    ['1e3', { integer: true }, "--n must be an integer, got '1e3'"],
    ['0b1', {}, "--n must be a number written in decimal digits, got '0b1'"],
    ['', {}, "--n must be a number, got ''"],
    ['Infinity', {}, "--n must be a number, got 'Infinity'"],
    ['1e999', {}, "--n must be a finite number, got '1e999'"],
    ['-1', { integer: true, min: 0 }, '--n must be >= 0 (negative values are not allowed), got -1'],
    ['7', { max: 5 }, '--n must be <= 5, got 7'],
  ])('%s is refused', (value, opts, message) => {
    expect(() => numberFlag('n', value, 0, opts)).toThrow(new CliError(message));
  });

  it.each([
    ['8080', { integer: true }, 8080],
    ['007', { integer: true }, 7],
    ['-3', { integer: true }, -3],
    ['0.5', {}, 0.5],
    ['.5', {}, 0.5],
    ['1e-3', {}, 0.001],
  ])('%s is %d', (value, opts, expected) => {
    expect(numberFlag('n', value, 0, opts)).toBe(expected);
  });
});

describe('parseCommandArgs', () => {
  it('gives a negative number to a string option instead of calling it ambiguous', () => {
    const { values } = parseCommandArgs(['--port', '-1', '-n', '-2.5', '--flag'], {
      port: { type: 'string' },
      num: { type: 'string', short: 'n' },
      flag: { type: 'boolean' },
    });
    expect(values).toMatchObject({ port: '-1', num: '-2.5', flag: true });
  });

  it('still refuses an option that swallows the next option', () => {
    expect(() =>
      parseCommandArgs(['--port', '--flag'], { port: { type: 'string' }, flag: { type: 'boolean' } }),
    ).toThrow(CliError);
  });
});
