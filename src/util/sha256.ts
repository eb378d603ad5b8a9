// sha256 of model bytes: in memory (what build, export and adapt write into manifests) and, streaming,
// of a file (the registry checking files against manifests, the downloader verifying what arrived),
// so large model files never sit in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex sha256 of bytes in memory (a model just built or exported). */
export function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hex sha256 of the file's bytes. Rejects with the fs error (ENOENT, EACCES, ...) if unreadable. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
