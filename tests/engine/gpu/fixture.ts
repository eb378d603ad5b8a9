// Test fixtures for `avvp gpu setup`: small .tgz files shaped like the CUDA provider package
// (package/Plugins/Linux/x64/*.so with fake contents), written by a minimal ustar writer so that
// hostile archives (path traversal, links, pax names) can be made too; a fake onnxruntime-node
// folder; and the pins that match a fixture.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ProviderPins } from '../../../src/engine/gpu/setup.js';

export const PREFIX = 'package/Plugins/Linux/x64';
export const CUDA = 'libonnxruntime_providers_cuda.so';
export const SHARED = 'libonnxruntime_providers_shared.so';
export const TENSORRT = 'libonnxruntime_providers_tensorrt.so';

export interface Entry {
  name: string;
  data?: Buffer | string;
  /** ustar type flag: '0' file (default), '2' symlink, '1' hard link, '5' folder, 'x' pax header. */
  type?: string;
  linkname?: string;
}

/** Fake library contents, distinct per name and bigger than one tar block. */
export function fakeLibrary(name: string, bytes = 3000): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + name.length * 7 + name.charCodeAt(name.length - 4)) & 0xff;
  b.write('\x7fELF', 0, 'latin1');
  return b;
}

function header(name: string, size: number, type: string, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => h.write(text.slice(0, len), at, len, 'utf8');
  const num = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0'), at, len - 1);
  put(name, 0, 100);
  num(0o755, 100, 8);
  num(0, 108, 8);
  num(0, 116, 8);
  num(size, 124, 12);
  num(0, 136, 12);
  h.fill(0x20, 148, 156);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\x0000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** A gzip-compressed ustar archive of `entries`. */
export function tgz(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(header(e.name, data.length, e.type ?? '0', e.linkname));
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** A pax 'path' record, for a pax header entry. */
export function paxPath(path: string): string {
  const body = ` path=${path}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** The entries of the real package, with fake library contents. */
export function packageEntries(libs: string[] = [CUDA, SHARED, TENSORRT]): Entry[] {
  return [
    { name: 'package/package.json', data: '{"name":"com.github.asus4.onnxruntime.linux-x64-gpu"}' },
    { name: 'package/Plugins/Linux.meta', data: 'meta' },
    ...libs.flatMap((l) => [
      { name: `${PREFIX}/${l}`, data: fakeLibrary(l) },
      { name: `${PREFIX}/${l}.meta`, data: 'meta' },
    ]),
  ];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Pins that accept the tarball at `path` (its sha512) and the fake libraries. */
export async function pinsFor(path: string): Promise<ProviderPins> {
  return {
    package: {
      name: 'com.github.asus4.onnxruntime.linux-x64-gpu',
      version: '0.4.9',
      integrity: `sha512-${createHash('sha512')
        .update(await readFile(path))
        .digest('base64')}`,
    },
    ortVersion: '1.29.0',
    prefix: PREFIX,
    libraries: { [CUDA]: sha256(fakeLibrary(CUDA)), [SHARED]: sha256(fakeLibrary(SHARED)) },
  };
}

/** A fake onnxruntime-node package in `root`; returns its bin/napi-v6/linux/x64 folder. */
export async function fakeOrt(root: string, version = '1.29.0'): Promise<string> {
  const pkg = join(root, 'onnxruntime-node');
  const bin = join(pkg, 'bin', 'napi-v6', 'linux', 'x64');
  await mkdir(bin, { recursive: true });
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version }));
  await writeFile(join(bin, 'libonnxruntime.so.1'), 'core');
  return bin;
}
