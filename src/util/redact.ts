// Masks credentials in text that may quote a URL (status reasons from ffmpeg's stderr, errors, log
// lines): the user-info of every URL and credential-like query parameters become '***'. It parses
// each URL's parts instead of matching one pattern, so a password holding an unencoded '@', '/',
// ':' or a space is still masked whole: the user-info runs to the LAST '@' that is followed by a
// host name on the same line. Masking too much (an '@' later on the line) is preferred to leaking.

const MASK = '***';

/** Query parameter names (split into words at non-alphanumerics) that hold secrets. */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pass',
  'passphrase',
  'pwd',
  'token',
  'key',
  'apikey',
  'secret',
  'auth',
  'authorization',
  'sig',
  'signature',
  'credential',
  'credentials',
  'session',
  'sessionid',
]);

/** Where a URL's scheme starts: letters then '://'. Only locates URLs; masking is done by parsing. */
const URL_START = /[A-Za-z][A-Za-z0-9+.-]*:\/\//g;

/** Replaces URL credentials in `text` by '***' (rtsp://user:secret@cam/x?token=t -> rtsp://***@cam/x?token=***). */
export function redactUrl(text: string): string {
  const starts: { at: number; authority: number }[] = [];
  for (const m of text.matchAll(URL_START)) starts.push({ at: m.index, authority: m.index + m[0].length });
  if (starts.length === 0) return text;
  let out = text.slice(0, starts[0]!.at);
  starts.forEach((s, i) => {
    // A URL runs at most to the next URL or the end of its line.
    const next = starts[i + 1]?.at ?? text.length;
    const newline = text.indexOf('\n', s.authority);
    const end = newline >= 0 && newline < next ? newline : next;
    out += text.slice(s.at, s.authority) + redactRest(text.slice(s.authority, end)) + text.slice(end, next);
  });
  return out;
}

/** `rest` is what follows `scheme://` up to the next URL or line end. */
function redactRest(rest: string): string {
  const at = userinfoEnd(rest);
  const host = at >= 0 ? `${MASK}@${rest.slice(at + 1)}` : rest;
  return redactQuery(host);
}

/** Index of the '@' ending the user-info: the last one followed by a host, or -1. */
function userinfoEnd(rest: string): number {
  for (let i = rest.lastIndexOf('@'); i >= 0; i = rest.lastIndexOf('@', i - 1)) {
    if (i > 0 && startsWithHost(rest.slice(i + 1))) return i;
  }
  return -1;
}

function startsWithHost(s: string): boolean {
  let n = 0;
  if (s.startsWith('[')) {
    n = s.indexOf(']') + 1;
    if (n === 0) return false;
  } else {
    while (n < s.length && /[A-Za-z0-9._~%-]/.test(s[n]!)) n++;
    if (n === 0) return false;
  }
  return n === s.length || /[:/?#\s'"`,;)\]>]/.test(s[n]!);
}

/** Masks the values of credential-like parameters in the query of a URL (without its scheme). */
function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  // The query ends at a fragment, white space or a closing quote/bracket.
  let end = q + 1;
  while (end < url.length && !/[#\s'"`)\]>]/.test(url[end]!)) end++;
  const params = url
    .slice(q + 1, end)
    .split(/([&;])/)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      return isSecretName(safeDecode(part.slice(0, eq))) ? `${part.slice(0, eq)}=${MASK}` : part;
    })
    .join('');
  return url.slice(0, q + 1) + params + url.slice(end);
}

function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (SECRET_WORDS.has(lower.replace(/[^a-z0-9]/g, ''))) return true;
  return lower.split(/[^a-z0-9]+/).some((w) => SECRET_WORDS.has(w));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The literal secrets of one URL (its user-info, password, user and credential parameter values),
 * longest first: to mask them wherever a program quotes them (`redactSecrets`), also outside the URL.
 */
export function urlSecrets(source: string): string[] {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(source);
  if (!m) return [];
  const rest = source.slice(m[0].length).split('\n')[0]!;
  const secrets: string[] = [];
  const at = userinfoEnd(rest);
  if (at >= 0) {
    const info = rest.slice(0, at);
    secrets.push(info);
    const colon = info.indexOf(':');
    if (colon >= 0) secrets.push(info.slice(colon + 1), info.slice(0, colon));
    for (const s of [...secrets]) secrets.push(safeDecode(s));
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split(/[&;#]/)) {
      const eq = part.indexOf('=');
      if (eq > 0 && isSecretName(safeDecode(part.slice(0, eq)))) {
        const value = part.slice(eq + 1);
        secrets.push(value, safeDecode(value));
      }
    }
  }
  // Too short to replace safely (a one-letter user would mask every such letter): URL masking covers them.
  return [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
}

/** redactUrl, then every literal occurrence of `secrets` (from urlSecrets) replaced by '***'. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrl(text);
  for (const s of secrets) out = out.split(s).join(MASK);
  return out;
}
