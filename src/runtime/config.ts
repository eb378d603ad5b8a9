// `avvp serve` configuration: a YAML file (for many streams) merged with command-line flags
// (flags win). Every problem names the key, so `streams.cam1: source must be ...` points at the
// line to fix. Unknown keys are errors: a misspelt `lookahed` must not silently become the default.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { MAX_SOURCE_LENGTH } from '../sinks/http.js';
import { streamNameProblem } from '../sinks/stream-name.js';
import { parseProviders, type Provider } from '../engine/session.js';

export interface ServeConfig {
  host: string;
  port: number;
  /** Model directory (default: the bundled models/). */
  models?: string;
  /** Parser head by manifest name (default: the directory's only parser). */
  head?: string;
  token?: string;
  lookahead: number;
  /** Segments that may wait for inference per stream before the oldest is dropped. */
  queue: number;
  /** Inference worker threads. */
  workers?: number;
  /** Execution providers to try, in order (default cuda, then cpu; docs/gpu.md). */
  providers?: Provider[];
  /** ffmpeg decoder threads per stream (default 1: many streams share few cores; docs/runtime.md). */
  decodeThreads?: number;
  /** Niceness of the ffmpeg decoders (default 10: inference, whose delay users see, goes first; docs/runtime.md). */
  decodeNice?: number;
  streams: { name: string; source: string }[];
}

export type PartialServeConfig = Partial<ServeConfig>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  lookahead: 2,
  queue: 2,
  decodeThreads: 1,
  decodeNice: 10,
} as const;
const KEYS = [
  'host',
  'port',
  'models',
  'head',
  'token',
  'lookahead',
  'queue',
  'workers',
  'providers',
  'decodeThreads',
  'decodeNice',
  'streams',
] as const;
/** The head's window is T = 10: lookahead must leave past context. */
export const MAX_LOOKAHEAD = 9;

/** Reads and checks a YAML config file. */
export async function readServeConfig(file: string): Promise<PartialServeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config '${file}' (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return checkServeConfig(value ?? {}, file);
}

/** Checks a parsed config object; `where` prefixes every message (the file name). */
export function checkServeConfig(value: unknown, where: string): PartialServeConfig {
  const fail = (key: string, why: string): never => {
    throw new ConfigError(`${where}: ${key}: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('(top level)', `must be a mapping of ${KEYS.join(', ')}`);
  const root = value as Record<string, unknown>;
  const out: PartialServeConfig = {};
  for (const [key, v] of Object.entries(root)) {
    switch (key) {
      case 'host':
      case 'models':
      case 'head':
      case 'token':
        if (typeof v !== 'string' || v.length === 0) fail(key, 'must be a non-empty string');
        out[key] = v as string;
        break;
      case 'port':
        out.port = integer(v, 0, 65535, key, fail);
        break;
      case 'lookahead':
        out.lookahead = integer(v, 0, MAX_LOOKAHEAD, key, fail);
        break;
      case 'queue':
        out.queue = integer(v, 1, 1000, key, fail);
        break;
      case 'workers':
        out.workers = integer(v, 1, 64, key, fail);
        break;
      case 'providers':
        if (typeof v !== 'string') fail(key, `must be a comma-separated list such as "cuda,cpu"`);
        try {
          out.providers = parseProviders(v as string);
        } catch (err) {
          fail(key, (err as Error).message);
        }
        break;
      case 'decodeThreads':
        out.decodeThreads = integer(v, 1, 64, key, fail);
        break;
      case 'decodeNice':
        out.decodeNice = integer(v, 0, 19, key, fail);
        break;
      case 'streams':
        out.streams = streams(v, fail);
        break;
      default:
        fail(key, `unknown key; allowed: ${KEYS.join(', ')}`);
    }
  }
  return out;
}

function integer(
  v: unknown,
  min: number,
  max: number,
  key: string,
  fail: (k: string, w: string) => never,
): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(key, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v as number;
}

function streams(v: unknown, fail: (k: string, w: string) => never): ServeConfig['streams'] {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('streams', 'must be a mapping of stream name to source, e.g. "cam1: rtsp://10.0.0.5/stream"');
  return Object.entries(v as Record<string, unknown>).map(([name, source]) => {
    const problem = streamNameProblem(name);
    if (problem) fail('streams', problem);
    checkSource(source, `streams.${name}`, fail);
    return { name, source: source as string };
  });
}

export function checkSource(source: unknown, key: string, fail: (k: string, w: string) => never): void {
  if (typeof source !== 'string' || source.trim().length === 0 || source.length > MAX_SOURCE_LENGTH)
    fail(key, `source must be a file path or URL of 1..${MAX_SOURCE_LENGTH} characters`);
}

/** Parses one `--source name=url` flag. */
export function parseSourceFlag(text: string): { name: string; source: string } {
  const eq = text.indexOf('=');
  const fail = (_: string, why: string): never => {
    throw new ConfigError(`--source: ${why}`);
  };
  if (eq <= 0) fail('', 'expected name=source, e.g. --source cam1=rtsp://10.0.0.5/stream');
  const name = text.slice(0, eq);
  const source = text.slice(eq + 1);
  const problem = streamNameProblem(name);
  if (problem) fail('', `${problem} (expected name=source)`);
  checkSource(source, '', fail);
  return { name, source };
}

/** File values, then flags over them, then defaults; stream names must be unique. */
export function mergeServeConfig(file: PartialServeConfig, flags: PartialServeConfig): ServeConfig {
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged = {
    ...SERVE_DEFAULTS,
    ...file,
    ...defined,
    streams: [...(file.streams ?? []), ...(flags.streams ?? [])],
  };
  const seen = new Set<string>();
  for (const s of merged.streams) {
    if (seen.has(s.name)) throw new ConfigError(`stream name ${s.name} is given twice; names must be unique`);
    seen.add(s.name);
  }
  return merged;
}
