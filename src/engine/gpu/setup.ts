// Installing onnxruntime's CUDA provider libraries into onnxruntime-node (what `avvp gpu setup`
// does): checks the platform and that onnxruntime-node is the version the provider was built for,
// gets the pinned npm tarball (cache + `npm pack`, or a file the user brought), verifies its sha512
// integrity, extracts only libonnxruntime_providers_cuda.so and _shared.so (safely: see tar.ts),
// checks their sha256, and moves them next to libonnxruntime.so.1 with a rename each, so a reader
// never sees a half-written library. Idempotent: nothing is fetched when the right files are there.
//
// Public API: installProviderLibraries(opts, pins?) -> SetupResult, providerLibraryStatus,
// locateOrt, DEFAULT_PINS, ProviderPins, GpuSetupError.

import { existsSync, readFileSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  PROVIDER_LIBRARIES,
  PROVIDER_ORT_VERSION,
  PROVIDER_PACKAGE,
  PackageError,
  TARBALL_PREFIX,
  checkIntegrity,
  defaultCacheDir,
  fetchTarball,
  type Pinned,
} from './package.js';
import { TarError, extractEntries } from './tar.js';
import { sha256File } from '../../util/sha256.js';

export class GpuSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuSetupError';
  }
}

/** What the installed files are checked against. Tests pass their own; the CLI always the default. */
export interface ProviderPins {
  package: Pinned;
  /** ONNX Runtime version the libraries were built for. */
  ortVersion: string;
  /** Folder of the libraries inside the tarball. */
  prefix: string;
  /** file name -> sha256 */
  libraries: Readonly<Record<string, string>>;
}

export const DEFAULT_PINS: ProviderPins = {
  package: PROVIDER_PACKAGE,
  ortVersion: PROVIDER_ORT_VERSION,
  prefix: TARBALL_PREFIX,
  libraries: PROVIDER_LIBRARIES,
};

export interface OrtLocation {
  /** bin/napi-v6/linux/x64 of onnxruntime-node: where libonnxruntime.so.1 is. */
  binDir: string;
  /** onnxruntime-node's version, or null when its package.json is not found. */
  version: string | null;
}

/**
 * onnxruntime-node's linux/x64 binary folder, found through module resolution, or `ortDir`. Its
 * version is read from the package.json four folders up (the package root).
 */
export function locateOrt(ortDir?: string): OrtLocation {
  let binDir: string;
  if (ortDir !== undefined) binDir = resolve(ortDir);
  else {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    binDir = join(dirname(entry), '..', 'bin', 'napi-v6', 'linux', 'x64');
  }
  const pkgPath = join(binDir, '..', '..', '..', '..', 'package.json');
  let version: string | null = null;
  try {
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'onnxruntime-node' && typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // version stays unknown
  }
  return { binDir: resolve(binDir), version };
}

export interface LibraryStatus {
  file: string;
  path: string;
  status: 'ok' | 'missing' | 'mismatch';
  sha256: string | null;
}

/** Whether each provider library is in `binDir` with its pinned sha256. */
export async function providerLibraryStatus(
  binDir: string,
  libraries: Readonly<Record<string, string>> = PROVIDER_LIBRARIES,
): Promise<LibraryStatus[]> {
  const out: LibraryStatus[] = [];
  for (const [file, expected] of Object.entries(libraries)) {
    const path = join(binDir, file);
    if (!existsSync(path)) {
      out.push({ file, path, status: 'missing', sha256: null });
      continue;
    }
    const sha256 = await sha256File(path);
    out.push({ file, path, status: sha256 === expected ? 'ok' : 'mismatch', sha256 });
  }
  return out;
}

export interface SetupOptions {
  /** A tarball of the provider package the user downloaded (else cache + npm pack). */
  from?: string;
  /** Cache folder for npm pack (default ~/.cache/avvp/gpu or $AVVP_GPU_CACHE). */
  cache?: string;
  /** onnxruntime-node's bin/napi-v6/linux/x64 (default: the resolved onnxruntime-node's). */
  ortDir?: string;
  /** Install again even when the right files are present. */
  force?: boolean;
  log?: (line: string) => void;
  platform?: NodeJS.Platform;
  arch?: string;
}

export interface SetupResult {
  binDir: string;
  ortVersion: string;
  /** True when nothing was done because the right files were already installed. */
  alreadyInstalled: boolean;
  /** The tarball used (null when already installed). */
  tarball: string | null;
  libraries: { file: string; path: string; bytes: number; sha256: string }[];
}

/** See the file comment. Throws GpuSetupError with a message that says what to do. */
export async function installProviderLibraries(
  opts: SetupOptions = {},
  pins: ProviderPins = DEFAULT_PINS,
): Promise<SetupResult> {
  const log = opts.log ?? (() => {});
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const pkg = `${pins.package.name}@${pins.package.version}`;
  if (platform !== 'linux' || arch !== 'x64')
    throw new GpuSetupError(
      `the CUDA provider libraries (${pkg}) exist for linux-x64 only; this is ${platform}-${arch}. ` +
        `Use the cpu provider here (or webgpu, bundled with onnxruntime-node on some platforms)`,
    );

  const ort = locateOrt(opts.ortDir);
  if (!existsSync(join(ort.binDir, 'libonnxruntime.so.1')))
    throw new GpuSetupError(
      `${ort.binDir} holds no libonnxruntime.so.1: it is not onnxruntime-node's linux/x64 binary folder` +
        (opts.ortDir !== undefined ? ' (check --ort-dir)' : ' (run npm ci)'),
    );
  if (ort.version !== pins.ortVersion)
    throw new GpuSetupError(
      `onnxruntime-node ${ort.version ?? '(unknown version: no package.json found above ' + ort.binDir + ')'} ` +
        `is installed, but the CUDA provider in ${pkg} is built for ONNX Runtime ${pins.ortVersion} and ` +
        `loads only into that version: run 'npm install onnxruntime-node@${pins.ortVersion} --save-exact' ` +
        `(this project pins it), then 'avvp gpu setup' again`,
    );

  const present = await providerLibraryStatus(ort.binDir, pins.libraries);
  if (!opts.force && present.every((s) => s.status === 'ok')) {
    log(`the CUDA provider libraries are already installed in ${ort.binDir} (sha256 verified)`);
    return {
      binDir: ort.binDir,
      ortVersion: ort.version,
      alreadyInstalled: true,
      tarball: null,
      libraries: await Promise.all(
        present.map(async (s) => ({
          file: s.file,
          path: s.path,
          bytes: (await stat(s.path)).size,
          sha256: s.sha256!,
        })),
      ),
    };
  }

  let tarball: string;
  try {
    if (opts.from !== undefined) {
      tarball = resolve(opts.from);
      const info = await stat(tarball).catch(() => null);
      if (!info?.isFile()) throw new GpuSetupError(`--from ${opts.from}: no such file`);
      await checkIntegrity(
        tarball,
        pins.package,
        `it is not the pinned package; download it again with 'npm pack ${pkg}'`,
      );
      log(`verified ${tarball} (${pkg}, sha512 integrity matches)`);
    } else {
      const cache = opts.cache ?? defaultCacheDir();
      tarball = (await fetchTarball(pins.package, cache, { log })).path;
    }
  } catch (e) {
    if (e instanceof PackageError) throw new GpuSetupError(e.message);
    throw e;
  }

  const files = Object.keys(pins.libraries);
  const temps = new Map(
    files.map((f) => [`${pins.prefix}/${f}`, join(ort.binDir, `.${f}.${process.pid}.tmp`)]),
  );
  const cleanup = () => Promise.all([...temps.values()].map((t) => rm(t, { force: true })));
  try {
    log(`extracting ${files.join(', ')} from ${tarball}`);
    let extracted;
    try {
      extracted = await extractEntries(tarball, temps);
    } catch (e) {
      if (e instanceof TarError) throw new GpuSetupError(e.message);
      throw e;
    }
    for (const f of files) {
      const got = extracted.get(`${pins.prefix}/${f}`)!;
      if (got.sha256 !== pins.libraries[f])
        throw new GpuSetupError(`${f} in ${tarball} has sha256 ${got.sha256}, expected ${pins.libraries[f]}`);
    }
    for (const [entry, temp] of temps)
      await rename(temp, join(ort.binDir, entry.slice(pins.prefix.length + 1)));
  } finally {
    await cleanup();
  }

  const after = await providerLibraryStatus(ort.binDir, pins.libraries);
  const bad = after.find((s) => s.status !== 'ok');
  if (bad)
    throw new GpuSetupError(
      `after installing, ${bad.path} is ${bad.status === 'missing' ? 'missing' : 'not the expected file'}`,
    );
  const libraries = await Promise.all(
    after.map(async (s) => ({
      file: s.file,
      path: s.path,
      bytes: (await stat(s.path)).size,
      sha256: s.sha256!,
    })),
  );
  for (const l of libraries)
    log(`installed ${l.path} (${l.bytes} bytes, sha256 ${l.sha256.slice(0, 16)}... ok)`);
  return { binDir: ort.binDir, ortVersion: ort.version, alreadyInstalled: false, tarball, libraries };
}
