// Which sources a caller may open. Streams named by the operator (command line, config file) are
// trusted; streams added at run time through the REST API are checked against a policy first, because
// a source string is handed to ffmpeg, which can also read and write local files (lavfi filters,
// the concat and file protocols) and reach local services. The default lets the API add network
// cameras and streams only. See docs/security.md, "Sources and credentials".
//
// Public API: SourcePolicy, DEFAULT_SOURCE_POLICY, SourcePolicyError, checkSource.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SourcePolicy {
  /** URL schemes the API may use, lower case (default rtsp, rtsps, http, https, srt). */
  schemes: readonly string[];
  /** Folders whose files the API may open (absolute, resolved; default none). */
  fileDirs: readonly string[];
  /** Whether the API may use `lavfi:` graphs (default false: they can read and write files). */
  lavfi: boolean;
  /**
   * Whether URLs may name this machine or a link-local address (localhost, 127.0.0.0/8, ::1,
   * 0.0.0.0, 169.254.0.0/16, fe80::/10; default false: the API must not probe local services).
   */
  allowLoopback?: boolean;
}

export const DEFAULT_SOURCE_POLICY: SourcePolicy = {
  schemes: ['rtsp', 'rtsps', 'http', 'https', 'srt'],
  fileDirs: [],
  lavfi: false,
  allowLoopback: false,
};

/** A source the policy does not allow; the message says which rule and how an operator allows it. */
export class SourcePolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourcePolicyError';
  }
}

/**
 * ffmpeg protocols that read local files, nest other protocols or write: never opened from the API,
 * whatever `schemes` says.
 */
const PSEUDO_PROTOCOLS = new Set([
  'async',
  'bluray',
  'cache',
  'concat',
  'concatf',
  'crypto',
  'data',
  'fd',
  'ffrtmpcrypt',
  'ffrtmphttp',
  'file',
  'hls',
  'httpproxy',
  'md5',
  'pipe',
  'subfile',
  'tee',
  'unix',
]);

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Throws SourcePolicyError unless `policy` allows `source` (a path, a URL or `lavfi:<graph>`).
 * Messages name the rule and the setting that allows it, never the URL (it may carry credentials).
 */
export function checkSource(source: string, policy: SourcePolicy): void {
  if (typeof source !== 'string' || source.length === 0) refuse('the source is empty');
  if (CONTROL.test(source)) refuse('the source contains control characters (newlines, tabs, NUL)');
  if (source !== source.trim()) refuse('the source starts or ends with white space');
  if (source.startsWith('-')) refuse('the source starts with "-" (it would be read as an ffmpeg option)');
  if (source.startsWith('lavfi:')) {
    if (!policy.lavfi)
      refuse(
        'lavfi: graphs are not allowed from the API (filters such as movie= and metadata=file= read ' +
          'and write files); an operator allows them with --allow-lavfi (sourcePolicy.lavfi: true)',
      );
    return;
  }
  // ffmpeg chains protocols with '|' (concat:a|b) and reads 'name:' prefixes as protocols.
  if (source.includes('|')) refuse('the source contains "|" (ffmpeg protocol chaining)');
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === undefined) return checkFile(source, source, policy);
  if (scheme === 'file') return checkFile(filePath(source), 'the file: URL', policy);
  if (PSEUDO_PROTOCOLS.has(scheme) || scheme.includes('+'))
    refuse(
      `'${scheme}:' is an ffmpeg pseudo-protocol that reads local files or nests other protocols; ` +
        'it is never allowed from the API (name the stream in the configuration instead)',
    );
  if (!policy.schemes.includes(scheme))
    refuse(
      `the URL scheme '${scheme}' is not allowed from the API (allowed: ${policy.schemes.join(', ') || 'none'}); ` +
        `an operator allows it with --allow-scheme ${scheme} (sourcePolicy.schemes)`,
    );
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    refuse(`the ${scheme} URL cannot be parsed (write it as ${scheme}://host[:port]/path)`);
  }
  if (!source.slice(scheme.length + 1).startsWith('//') || url.hostname === '')
    refuse(`the ${scheme} URL names no host (write it as ${scheme}://host[:port]/path)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowLoopback && (isLocalHost(host) || isLocalHost(safeDecode(host))))
    refuse(
      `the URL names this machine or a link-local address (${host}); the API may not reach local ` +
        'services unless an operator sets sourcePolicy.allowLoopback: true',
    );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function refuse(why: string): never {
  throw new SourcePolicyError(`source refused by the source policy: ${why}`);
}

function filePath(source: string): string {
  if (source.slice(5).startsWith('//')) {
    try {
      return fileURLToPath(source);
    } catch {
      refuse('the file: URL cannot be parsed (write it as file:///absolute/path)');
    }
  }
  return source.slice(5); // ffmpeg's own form, file:path
}

/** Files only inside policy.fileDirs, after resolving symbolic links (so a link cannot lead out). */
function checkFile(file: string, shown: string, policy: SourcePolicy): void {
  const outside = () =>
    refuse(
      policy.fileDirs.length === 0
        ? 'files are not allowed from the API; an operator allows a folder with --source-dir DIR (sourcePolicy.fileDirs)'
        : `${shown === file ? `'${file}'` : shown} is not a file inside the allowed folders ` +
            `(${policy.fileDirs.join(', ')}); an operator adds folders with --source-dir DIR (sourcePolicy.fileDirs)`,
    );
  if (policy.fileDirs.length === 0) outside();
  const dirs = policy.fileDirs.flatMap((d) => {
    try {
      return [realpathSync(d)];
    } catch {
      return [];
    }
  });
  const resolved = path.resolve(file);
  // The same answer for missing and existing files outside the folders: no probing of paths.
  if (
    !dirs.some((d) => inside(d, resolved)) &&
    !policy.fileDirs.some((d) => inside(path.resolve(d), resolved))
  )
    outside();
  let real: string;
  try {
    real = realpathSync(resolved);
  } catch {
    refuse(`no such file in the allowed folders: '${file}'`);
  }
  if (!dirs.some((d) => inside(d, real))) outside();
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** localhost names, loopback, unspecified and link-local addresses (IPv4 in any inet_aton form, IPv6). */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = parseIpv4(host);
  if (v4 !== null) return isLocalIpv4(v4);
  if (host.includes(':')) return isLocalIpv6(host);
  return false;
}

function isLocalIpv4(a: number): boolean {
  const first = a >>> 24;
  const second = (a >>> 16) & 0xff;
  return first === 127 || first === 0 || (first === 169 && second === 254);
}

/** inet_aton's forms (what getaddrinfo accepts): 1 to 4 parts, decimal, octal (0..) or hex (0x..). */
function parseIpv4(host: string): number | null {
  const parts = host.split('.');
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x[0-9a-f]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = Number(p);
    else return null;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return null;
  let addr = 0;
  values.forEach((v, i) => (addr += v * 2 ** (8 * (3 - i))));
  return addr + last;
}

function isLocalIpv6(host: string): boolean {
  const h = host.split('%')[0]!; // zone index
  const groups = expandIpv6(h);
  if (!groups) return false;
  if (groups.every((g, i) => g === (i === 7 ? 1 : 0))) return true; // ::1
  if (groups.every((g) => g === 0)) return true; // ::
  if ((groups[0]! & 0xffc0) === 0xfe80) return true; // fe80::/10
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d)
  if (groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || groups[5] === 0))
    return isLocalIpv4(groups[6]! * 0x10000 + groups[7]!);
  return false;
}

function expandIpv6(h: string): number[] | null {
  let text = h;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIpv4(dotted[1]!);
    if (v4 === null) return null;
    tail.push(v4 >>> 16, v4 & 0xffff);
    text = text.slice(0, -dotted[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const a = parse(head);
  const b = parse(rest);
  if ([...a, ...b].some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  const fill = 8 - tail.length - a.length - b.length;
  if (rest === undefined && fill !== 0) return null;
  if (fill < 0) return null;
  return [...a, ...Array<number>(fill).fill(0), ...b, ...tail];
}
