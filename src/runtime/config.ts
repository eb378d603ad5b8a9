// `avvp serve` configuration: a YAML file (for many streams) merged with command-line flags
// (flags win). Every problem names the key, so `streams.cam1: source must be ...` points at the
// line to fix. Unknown keys are errors: a misspelt `lookahed` must not silently become the default.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { MAX_SOURCE_LENGTH } from '../sinks/http.js';
import { streamNameProblem } from '../sinks/stream-name.js';
import { parseProviders, type Provider } from '../engine/session.js';
import { DEFAULT_SOURCE_POLICY, type SourcePolicy } from '../streams/sourcePolicy.js';

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
  /**
   * Host names (besides localhost, IP addresses and the listen address) that requests may name in
   * their Host header; `.example.com` allows its subdomains too, `*` turns the check off (docs/security.md).
   */
  allowedHosts?: string[];
  /** Web origins (https://dashboard.example) whose pages may call the API; `*` allows every origin. */
  allowedOrigins?: string[];
  /** WebSocket connections one remote address may hold at once. */
  maxClientsPerAddress?: number;
  /** Streams at once, configured and added through the API (default 64). */
  maxStreams?: number;
  /** What streams added through POST /v1/streams may open (docs/security.md). */
  sourcePolicy?: SourcePolicy;
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
  'allowedHosts',
  'allowedOrigins',
  'maxClientsPerAddress',
  'maxStreams',
  'sourcePolicy',
  'streams',
] as const;
const SOURCE_POLICY_KEYS = ['schemes', 'fileDirs', 'lavfi', 'allowLoopback'] as const;
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
        if (typeof v !== 'string' || v.length === 0) fail(key, 'must be a non-empty string');
        out[key] = v as string;
        break;
      case 'token': {
        if (typeof v !== 'string') fail(key, 'must be a non-empty string');
        const problem = tokenProblem(v as string);
        if (problem) fail(key, problem);
        out.token = v as string;
        break;
      }
      case 'allowedHosts':
        out.allowedHosts = stringList(v, key, fail).map((h) => checkAllowedHost(h, key, fail));
        break;
      case 'allowedOrigins':
        out.allowedOrigins = stringList(v, key, fail).map((o) => checkAllowedOrigin(o, key, fail));
        break;
      case 'maxClientsPerAddress':
        out.maxClientsPerAddress = integer(v, 1, 10_000, key, fail);
        break;
      case 'maxStreams':
        out.maxStreams = integer(v, 1, 10_000, key, fail);
        break;
      case 'sourcePolicy':
        out.sourcePolicy = sourcePolicy(v, fail);
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
    fail(key, `must be an integer in [${min}, ${max}], got ${describeYamlValue(v)}`);
  return v as number;
}

/** A parsed YAML value as the user wrote it: `.inf` (Infinity), not JSON's `null`. */
export function describeYamlValue(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (v === Infinity) return '.inf';
    if (v === -Infinity) return '-.inf';
    return String(v);
  }
  if (v === null) return 'null (an empty value)';
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Why a token cannot be used, or undefined: it is sent as `Bearer <token>`, one word. */
export function tokenProblem(token: string): string | undefined {
  if (token.trim() === '') return 'the token must not be empty or blank';
  if (/\s/.test(token)) return 'the token must not contain spaces or other whitespace';
  if (token.length > 4096) return 'the token must be at most 4096 characters';
  return undefined;
}

function stringList(v: unknown, key: string, fail: (k: string, w: string) => never): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0))
    fail(key, `must be a list of non-empty strings, got ${describeYamlValue(v)}`);
  return v as string[];
}

/** An allowed Host name: a DNS name or IP address, `.domain` for its subdomains, or `*`. */
export function checkAllowedHost(host: string, key: string, fail: (k: string, w: string) => never): string {
  const h = host.trim().toLowerCase();
  const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  if (h === '*' || isIP(bare) !== 0) return h === '*' ? h : bare;
  if (
    !/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(h) ||
    h.length > 253
  )
    fail(key, `'${host}' is not a host name (such as avvp.example.com, .example.com or 10.0.0.5; no port)`);
  return h.replace(/\.$/, '');
}

/** An allowed Origin: scheme://host[:port] without a path, or `*`. */
export function checkAllowedOrigin(
  origin: string,
  key: string,
  fail: (k: string, w: string) => never,
): string {
  if (origin === '*') return origin;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, '').toLowerCase())
    fail(key, `'${origin}' is not an origin such as https://dashboard.example.com or http://localhost:3000`);
  return url!.origin;
}

function sourcePolicy(v: unknown, fail: (k: string, w: string) => never): SourcePolicy {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('sourcePolicy', `must be a mapping of ${SOURCE_POLICY_KEYS.join(', ')}`);
  const policy: SourcePolicy = { ...DEFAULT_SOURCE_POLICY };
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const where = `sourcePolicy.${key}`;
    if (key === 'schemes')
      policy.schemes = stringList(value, where, fail).map((s) => checkScheme(s, where, fail));
    else if (key === 'fileDirs')
      policy.fileDirs = stringList(value, where, fail).map((d) => checkSourceDir(d, where, fail));
    else if (key === 'lavfi' || key === 'allowLoopback') {
      if (typeof value !== 'boolean') fail(where, `must be true or false, got ${describeYamlValue(value)}`);
      policy[key] = value as boolean;
    } else fail(where, `unknown key; allowed: ${SOURCE_POLICY_KEYS.join(', ')}`);
  }
  return policy;
}

/** A URL scheme the API may open: a lower-case word such as rtsp or srt. */
export function checkScheme(scheme: string, key: string, fail: (k: string, w: string) => never): string {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme))
    fail(key, `'${scheme}' is not a URL scheme: use a lower-case word such as rtsp, https or srt (no "://")`);
  if (scheme === 'lavfi') fail(key, 'lavfi is not a URL scheme here: allow lavfi graphs with lavfi: true');
  return scheme;
}

/** A folder the API may open files under: it must exist; kept as an absolute path. */
export function checkSourceDir(dir: string, key: string, fail: (k: string, w: string) => never): string {
  const full = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(full).isDirectory();
  } catch {
    fail(key, `'${dir}' does not exist; give an existing folder`);
  }
  if (!isDir || !isAbsolute(full)) fail(key, `'${dir}' is not a folder`);
  return full;
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

/**
 * File values, then flags over them, then defaults; stream names must be unique. Lists of allowed
 * hosts, origins, schemes and folders add up (file and flags); `flags.sourcePolicy` holds only
 * what the flags add to the file's policy (or the default one).
 */
export function mergeServeConfig(file: PartialServeConfig, flags: PartialServeConfig): ServeConfig {
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged: ServeConfig = {
    ...SERVE_DEFAULTS,
    ...file,
    ...defined,
    streams: [...(file.streams ?? []), ...(flags.streams ?? [])],
  };
  for (const key of ['allowedHosts', 'allowedOrigins'] as const) {
    if (file[key] === undefined && flags[key] === undefined) continue;
    merged[key] = [...new Set([...(file[key] ?? []), ...(flags[key] ?? [])])];
  }
  if (file.sourcePolicy !== undefined || flags.sourcePolicy !== undefined) {
    const base = file.sourcePolicy ?? DEFAULT_SOURCE_POLICY;
    const add = flags.sourcePolicy;
    merged.sourcePolicy = {
      schemes: [...new Set([...base.schemes, ...(add?.schemes ?? [])])],
      fileDirs: [...new Set([...base.fileDirs, ...(add?.fileDirs ?? [])])],
      lavfi: base.lavfi || (add?.lavfi ?? false),
      allowLoopback: (base.allowLoopback ?? false) || (add?.allowLoopback ?? false),
    };
  }
  const seen = new Set<string>();
  for (const s of merged.streams) {
    if (seen.has(s.name)) throw new ConfigError(`stream name ${s.name} is given twice; names must be unique`);
    seen.add(s.name);
  }
  return merged;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Why this configuration must not start, or undefined: a server reachable from other machines
 * (any non-loopback --host) without a token lets anyone on the network start processes.
 */
export function exposureProblem(config: Pick<ServeConfig, 'host' | 'token'>): string | undefined {
  if (config.token !== undefined || isLoopbackHost(config.host)) return undefined;
  return (
    `--host ${config.host} is reachable from other machines but no token is set: ` +
    'set AVVP_TOKEN or --token-file FILE (or pass --insecure-no-token to accept the risk)'
  );
}
