// The shape of an `avvp` sub-command, and the error type commands throw for user mistakes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseProviders, type Provider } from '../engine/session.js';

export interface Command {
  name: string;
  /** One line for `avvp --help`. */
  summary: string;
  /** Full usage text, printed by `avvp <name> --help` and after usage errors. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A failure the user can fix: printed as `avvp <cmd>: <message>` without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with errors turned into CliError (which `main` prints with the usage).
 * `--help` is added to every command.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({
      args: joinNegativeValues(argv, options),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/**
 * `--port -1` would make parseArgs complain that the value is "ambiguous" (it starts with a dash);
 * a string option followed by a negative number takes it as its value (`--port=-1`), so that the
 * flag's own check can say what range it accepts.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') return [...out, ...argv.slice(i)];
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    const short = /^-([^-])$/.exec(arg)?.[1];
    const option =
      long !== undefined
        ? options[long]
        : short !== undefined
          ? Object.values(options).find((o) => o.short === short)
          : undefined;
    if (option?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(long !== undefined ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
/** Decimal integers: no hex (0x10), exponents (1e3), spaces or signs other than a leading minus. */
const DECIMAL_INTEGER = /^-?\d+$/;
/** Decimal numbers, with an optional exponent for small rates (1e-3); no hex, Infinity or NaN. */
const DECIMAL_NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Parses a numeric flag, failing with a message that names the flag. */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  if (!DECIMAL_NUMBER.test(value)) {
    const plain =
      value !== '' && value.trim() === value && Number.isFinite(Number(value))
        ? ' written in decimal digits'
        : '';
    throw new CliError(`--${name} must be a number${plain}, got '${value}'`);
  }
  if (opts.integer && !DECIMAL_INTEGER.test(value))
    throw new CliError(`--${name} must be an integer, got '${value}'`);
  const x = Number(value);
  if (!Number.isFinite(x)) throw new CliError(`--${name} must be a finite number, got '${value}'`);
  if (opts.min !== undefined && x < opts.min) {
    const what = x < 0 && opts.min >= 0 ? ' (negative values are not allowed)' : '';
    throw new CliError(`--${name} must be >= ${opts.min}${what}, got ${value}`);
  }
  if (opts.max !== undefined && x > opts.max)
    throw new CliError(`--${name} must be <= ${opts.max}, got ${value}`);
  return x;
}

/** --providers: the execution providers to try, in order; a CliError names the valid ones. */
export function providersFlag(text: string): Provider[] {
  try {
    return parseProviders(text);
  } catch (err) {
    throw new CliError(`--providers: ${(err as Error).message}`);
  }
}
