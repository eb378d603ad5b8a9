// Streaming sha256 of a file, shared by the registry (checking files against manifests) and
// the downloader (verifying what arrived). Streams, so large model files never sit in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex sha256 of the file's bytes. Rejects with the fs error (ENOENT, EACCES, ...) if unreadable. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
