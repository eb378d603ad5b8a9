// Optional bearer-token check shared by the HTTP routes and the WebSocket upgrade. Browsers
// cannot set headers on a WebSocket, hence the `?token=` fallback (see docs/protocol.md).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The token a request presents: `Authorization: Bearer <t>`, else the `token` query parameter. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
}

/** True when no token is configured or the request presents the right one (constant time). */
export function isAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const presented = presentedToken(req);
  if (presented === undefined) return false;
  // Hashing first gives equal lengths, so the comparison leaks neither content nor length.
  return timingSafeEqual(sha256(presented), sha256(token));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Rejects an empty or whitespace-containing token at configuration time. */
export function assertToken(token: string | undefined): void {
  if (token !== undefined && !/^\S+$/.test(token)) {
    throw new TypeError('token must be a non-empty string without whitespace');
  }
}
