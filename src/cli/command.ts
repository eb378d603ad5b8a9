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
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Parses a numeric flag, failing with a message that names the flag. */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x))
    throw new CliError(`--${name} must be a number, got '${value}'`);
  if (opts.integer && !Number.isInteger(x))
    throw new CliError(`--${name} must be an integer, got '${value}'`);
  if (opts.min !== undefined && x < opts.min)
    throw new CliError(`--${name} must be >= ${opts.min}, got ${x}`);
  if (opts.max !== undefined && x > opts.max)
    throw new CliError(`--${name} must be <= ${opts.max}, got ${x}`);
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
