// Host and Origin checks against DNS rebinding and cross-site requests (docs/security.md). A web page
// on evil.example can make a browser send requests to 127.0.0.1 by pointing its own name at that
// address (DNS rebinding): the request then carries `Host: evil.example`. A page on any site can also
// open a WebSocket to localhost, which carries `Origin: https://evil.example`. Both headers are set by
// the browser, not by the page, so checking them keeps web pages out while scripts, curl and probes
// (which send the address they connect to) pass.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export interface RequestGuardOptions {
  /**
   * Host names requests may name besides the defaults (localhost, any IP address, the listen
   * address, and this machine's host name when listening on every interface). `.example.com`
   * allows example.com and its subdomains; `*` turns the Host check off.
   */
  allowedHosts?: string[];
  /**
   * Origins (scheme://host[:port]) whose pages may call the API. Without it, only the same origin
   * (the page's host and port are those the request is sent to, and the host is allowed) is accepted; `*` accepts every origin. Requests
   * without an Origin header (not from a browser page) are not affected.
   */
  allowedOrigins?: string[];
}

/** Why a request is refused: answered with `status` and a JSON error of this code and message. */
export interface GuardRefusal {
  status: 403;
  code: 'host-not-allowed' | 'origin-not-allowed';
  message: string;
}

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly suffixes: string[];
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(opts: RequestGuardOptions = {}) {
    const hosts = (opts.allowedHosts ?? []).map(normalizeHost);
    this.anyHost = hosts.includes('*');
    this.suffixes = hosts.filter((h) => h.startsWith('.'));
    this.hosts = new Set(['localhost', ...hosts.filter((h) => h !== '*' && !h.startsWith('.'))]);
    const origins = (opts.allowedOrigins ?? []).map((o) => o.replace(/\/$/, '').toLowerCase());
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins);
  }

  /** Called once the server listens: the name it listens on becomes allowed. */
  listening(host: string): void {
    const listenHost = normalizeHost(host);
    if (isIP(listenHost) === 0) this.hosts.add(listenHost);
    if (listenHost === '0.0.0.0' || listenHost === '::') {
      const name = hostname().toLowerCase();
      this.hosts.add(name);
      this.hosts.add(name.split('.')[0]!);
    }
  }

  /** Undefined when the request may go on; otherwise why it is refused. */
  check(req: IncomingMessage): GuardRefusal | undefined {
    const host = req.headers.host;
    // HTTP/1.0 clients may omit Host; browsers never do, so nothing is rebound without it.
    if (host !== undefined && !this.hostAllowed(hostPart(host))) {
      return {
        status: 403,
        code: 'host-not-allowed',
        message:
          `host '${clip(host)}' is not allowed (DNS rebinding protection): connect by IP address or ` +
          'localhost, or allow the name with --allow-host NAME (allowedHosts in the config)',
      };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, host)) {
      return {
        status: 403,
        code: 'origin-not-allowed',
        message: `origin '${clip(origin)}' is not allowed: allow it with --allow-origin ${clip(origin)} (allowedOrigins in the config)`,
      };
    }
    return undefined;
  }

  private hostAllowed(host: string | undefined): boolean {
    if (this.anyHost) return true;
    if (host === undefined) return false;
    // An IP address cannot be rebound: the browser connects to exactly that address.
    if (isIP(host) !== 0) return true;
    if (this.hosts.has(host) || host.endsWith('.localhost')) return true;
    return this.suffixes.some((s) => host === s.slice(1) || host.endsWith(s));
  }

  private originAllowed(origin: string, hostHeader: string | undefined): boolean {
    const o = origin.toLowerCase();
    if (this.anyOrigin || this.origins.has(o)) return true;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false; // e.g. "null" from file:// pages and sandboxed frames
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const name = normalizeHost(url.hostname);
    if (!this.hostAllowed(name)) return false;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    // Same origin only: the page came from the very host and port the request is sent to (also
    // through a reverse proxy that keeps the Host header). A page on another host, even an IP
    // address serving at the same port number, is another site.
    if (hostHeader === undefined || hostPart(hostHeader) !== name) return false;
    const headerPort = /:(\d{1,5})$/.exec(hostHeader.trim())?.[1];
    return headerPort === undefined ? port === 80 || port === 443 : Number(headerPort) === port;
  }
}

/** The host of a Host header without its port; undefined when malformed. */
export function hostPart(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([^:[\]\s/@]+)(?::\d{1,5})?$/.exec(h);
  return m ? normalizeHost(m[1]!) : undefined;
}

function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}...` : clean;
}
