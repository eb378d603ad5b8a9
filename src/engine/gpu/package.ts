// The npm package that carries onnxruntime's CUDA execution provider for linux/x64, pinned by
// version and sha512 integrity, and getting its tarball: `npm pack` into a cache folder (once),
// then the integrity check. Used by `avvp gpu setup` and by scripts/gpu/bundle.ts.
//
// Public API: Pinned, PROVIDER_PACKAGE, PROVIDER_ORT_VERSION, PROVIDER_LIBRARIES, TARBALL_PREFIX,
// defaultCacheDir, tarballName, integrityOf, checkIntegrity, registryIntegrity,
// fetchTarball, PackageError.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Pinned {
  name: string;
  version: string;
  /** The registry's dist.integrity of name@version (sha512, base64). */
  integrity: string;
}

/** Unity package by asus4 (MIT): ONNX Runtime 1.29.0 provider libraries built for CUDA 13.0. */
export const PROVIDER_PACKAGE: Pinned = {
  name: 'com.github.asus4.onnxruntime.linux-x64-gpu',
  version: '0.4.9',
  integrity:
    'sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==',
};

/** The ONNX Runtime version the provider libraries were built for; onnxruntime-node must match. */
export const PROVIDER_ORT_VERSION = '1.29.0';

/** Where the libraries sit inside the package tarball. */
export const TARBALL_PREFIX = 'package/Plugins/Linux/x64';

/** The two libraries onnxruntime needs for the cuda provider (tensorrt is left out), with sha256. */
export const PROVIDER_LIBRARIES: Readonly<Record<string, string>> = {
  'libonnxruntime_providers_cuda.so': '56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037',
  'libonnxruntime_providers_shared.so': 'c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772',
};

export class PackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageError';
  }
}

/** ~/.cache/avvp/gpu, or $AVVP_GPU_CACHE. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AVVP_GPU_CACHE || join(homedir(), '.cache', 'avvp', 'gpu');
}

/** The file name `npm pack` gives name@version. */
export function tarballName(p: Pinned): string {
  return `${p.name.replace(/^@/, '').replace(/\//g, '-')}-${p.version}.tgz`;
}

/** npm's integrity string of a file: 'sha512-' + base64. Streams the file. */
export async function integrityOf(path: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/** Throws PackageError naming both values when `path` does not have the pinned integrity. */
export async function checkIntegrity(path: string, p: Pinned, advice: string): Promise<string> {
  const actual = await integrityOf(path);
  if (actual !== p.integrity) {
    throw new PackageError(
      `${path} is not ${p.name}@${p.version}: its sha512 integrity ${actual} does not match the ` +
        `pinned ${p.integrity}; ${advice}`,
    );
  }
  return actual;
}

/** The registry's dist.integrity for name@version (asks `npm view`), or null when unreachable. */
export function registryIntegrity(p: Pinned): string | null {
  const r = spawnSync('npm', ['view', `${p.name}@${p.version}`, 'dist.integrity'], { encoding: 'utf8' });
  const v = r.status === 0 ? r.stdout.trim() : '';
  return v.startsWith('sha512-') ? v : null;
}

export interface FetchOptions {
  /** Never run npm: the tarball must already be in the cache. */
  offline?: boolean;
  /** Also compare the pin with the registry's current dist.integrity (`npm view`). */
  checkRegistry?: boolean;
  log?: (line: string) => void;
}

/**
 * The cached tarball of `p` in `cache`, fetched with `npm pack` when absent (into a temporary
 * folder, then renamed, so an interrupted download leaves nothing behind), verified against the
 * pinned integrity. Returns its path and integrity.
 */
export async function fetchTarball(
  p: Pinned,
  cache: string,
  opts: FetchOptions = {},
): Promise<{ path: string; integrity: string }> {
  const log = opts.log ?? (() => {});
  const path = join(cache, tarballName(p));
  if (opts.checkRegistry && !opts.offline) {
    const fromRegistry = registryIntegrity(p);
    if (fromRegistry && fromRegistry !== p.integrity)
      throw new PackageError(
        `${p.name}@${p.version}: the registry's integrity ${fromRegistry} differs from the pinned one`,
      );
  }
  if (!existsSync(path)) {
    if (opts.offline) throw new PackageError(`${path} is not cached and --offline was given`);
    log(`fetching ${p.name}@${p.version} with npm pack into ${cache} (about 179 MB)`);
    await mkdir(cache, { recursive: true });
    const temp = await mkdtemp(join(cache, '.pack-'));
    try {
      const r = spawnSync('npm', ['pack', `${p.name}@${p.version}`, '--pack-destination', temp, '--silent'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 1 << 24,
      });
      const packed = existsSync(temp) ? (await readdir(temp)).filter((f) => f.endsWith('.tgz')) : [];
      if (r.status !== 0 || packed.length !== 1) {
        const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(-3).join(' ');
        throw new PackageError(
          `npm pack ${p.name}@${p.version} failed${why ? ` (${why.slice(0, 400)})` : ''}; on a machine ` +
            `with network run 'npm pack ${p.name}@${p.version}' and pass the file with --from`,
        );
      }
      await rename(join(temp, packed[0]), path);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
  const integrity = await checkIntegrity(path, p, `delete ${path} and run again`);
  log(`verified ${p.name}@${p.version}: ${integrity.slice(0, 30)}...`);
  return { path, integrity };
}
