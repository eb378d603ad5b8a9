// Finding the CUDA 13 and cuDNN 9 libraries the CUDA provider of ONNX Runtime 1.29.0 loads, the
// way the dynamic loader would or could: folders on LD_LIBRARY_PATH, the CUDA toolkit folders
// (/usr/local/cuda*/lib64, targets/x86_64-linux/lib), python's nvidia-*-cu13 wheels
// (site-packages/nvidia/*/lib), the system folders and `ldconfig -p`. For each missing library it
// says where it usually comes from, and it writes the LD_LIBRARY_PATH line that makes the found
// ones loadable (the loader reads LD_LIBRARY_PATH at process start, so it must be exported before
// node starts).
//
// Public API: CUDA_LIBRARIES, findCudaLibraries(opts) -> CudaLibraryReport, describeCudaLibraries.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CudaLibrary {
  name: string;
  /** Where it usually comes from. */
  source: string;
}

const TOOLKIT = 'the CUDA 13 toolkit (/usr/local/cuda-13.x) or the nvidia-*-cu13 python wheels';

export const CUDA_LIBRARIES: readonly CudaLibrary[] = [
  { name: 'libcuda.so.1', source: 'the NVIDIA driver (a driver that supports CUDA 13, 580 or newer)' },
  { name: 'libcudart.so.13', source: `${TOOLKIT} (nvidia-cuda-runtime-cu13)` },
  { name: 'libcublas.so.13', source: `${TOOLKIT} (nvidia-cublas-cu13)` },
  { name: 'libcublasLt.so.13', source: `${TOOLKIT} (nvidia-cublas-cu13)` },
  { name: 'libcurand.so.10', source: `${TOOLKIT} (nvidia-curand-cu13)` },
  { name: 'libcufft.so.12', source: `${TOOLKIT} (nvidia-cufft-cu13)` },
  { name: 'libcudnn.so.9', source: 'cuDNN 9 for CUDA 13 (the cudnn9-cuda-13 package or nvidia-cudnn-cu13)' },
];

/** Folders the loader searches without LD_LIBRARY_PATH (on Debian/Ubuntu and Red Hat systems). */
const SYSTEM_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/usr/lib',
];

export interface FoundLibrary extends CudaLibrary {
  /** The folder holding it, or null. */
  dir: string | null;
  /** How it was found: 'LD_LIBRARY_PATH', 'cuda toolkit', 'python wheel', 'system', 'ldconfig'. */
  via: string | null;
}

export interface CudaLibraryReport {
  libraries: FoundLibrary[];
  missing: string[];
  /** Folders that hold found libraries but are not on the loader's path yet. */
  addToPath: string[];
  /** `export LD_LIBRARY_PATH=...` when addToPath is not empty, else null. */
  exportLine: string | null;
}

export interface FinderOptions {
  env?: NodeJS.ProcessEnv;
  /** Glob roots, for tests: CUDA toolkits are looked for as <cudaRoot>/cuda* (default /usr/local). */
  cudaRoot?: string;
  /** Python site-packages folders to look in (default: the usual ones under /usr, ~/.local, venvs). */
  sitePackages?: string[];
  systemDirs?: string[];
  /** `ldconfig -p` output (default: runs it; '' skips it). */
  ldconfig?: () => string;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => join(dir, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** site-packages / dist-packages folders that are cheap to list (no python process). */
function defaultSitePackages(env: NodeJS.ProcessEnv): string[] {
  const roots = ['/usr/lib', '/usr/local/lib', join(homedir(), '.local', 'lib')];
  for (const prefix of [env.VIRTUAL_ENV, env.CONDA_PREFIX]) if (prefix) roots.push(join(prefix, 'lib'));
  const out: string[] = [];
  for (const root of roots)
    for (const py of subdirs(root).filter((d) => /\/python3[.\d]*$/.test(d)))
      for (const leaf of ['site-packages', 'dist-packages'])
        if (existsSync(join(py, leaf))) out.push(join(py, leaf));
  return out;
}

function runLdconfig(): string {
  for (const cmd of ['ldconfig', '/sbin/ldconfig']) {
    const r = spawnSync(cmd, ['-p'], { encoding: 'utf8', timeout: 5000, maxBuffer: 1 << 24 });
    if (r.status === 0) return r.stdout;
  }
  return '';
}

/** Looks for every library of CUDA_LIBRARIES; see the file comment for where. */
export function findCudaLibraries(opts: FinderOptions = {}): CudaLibraryReport {
  const env = opts.env ?? process.env;
  const ldPath = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const cudaRoot = opts.cudaRoot ?? '/usr/local';
  const toolkits = subdirs(cudaRoot)
    .filter((d) => /\/cuda(-[\d.]+)?$/.test(d))
    // cuda-13.x before a generic 'cuda' link, newest first.
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  const toolkitDirs = toolkits.flatMap((t) => [join(t, 'targets', 'x86_64-linux', 'lib'), join(t, 'lib64')]);
  const wheelDirs = (opts.sitePackages ?? defaultSitePackages(env)).flatMap((sp) =>
    subdirs(join(sp, 'nvidia')).flatMap((d) => [join(d, 'lib'), ...subdirs(d).map((s) => join(s, 'lib'))]),
  );
  const systemDirs = opts.systemDirs ?? SYSTEM_DIRS;
  const searches: [string, string[]][] = [
    ['LD_LIBRARY_PATH', ldPath],
    ['cuda toolkit', toolkitDirs],
    ['python wheel', wheelDirs],
    ['system', systemDirs],
  ];
  let ldconfigText: string | null = null;
  const libraries = CUDA_LIBRARIES.map((lib): FoundLibrary => {
    for (const [via, dirs] of searches)
      for (const dir of dirs) if (existsSync(join(dir, lib.name))) return { ...lib, dir, via };
    ldconfigText ??= (opts.ldconfig ?? runLdconfig)();
    for (const line of ldconfigText.split('\n')) {
      const m = /^\s*(\S+)\s.*=>\s*(\S+)\s*$/.exec(line);
      if (m && m[1] === lib.name) return { ...lib, dir: m[2].replace(/\/[^/]+$/, ''), via: 'ldconfig' };
    }
    return { ...lib, dir: null, via: null };
  });
  const addToPath: string[] = [];
  for (const l of libraries)
    if (l.dir && (l.via === 'cuda toolkit' || l.via === 'python wheel') && !addToPath.includes(l.dir))
      addToPath.push(l.dir);
  return {
    libraries,
    missing: libraries.filter((l) => !l.dir).map((l) => l.name),
    addToPath,
    exportLine:
      addToPath.length > 0
        ? `export LD_LIBRARY_PATH=${addToPath.join(':')}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`
        : null,
  };
}

/** Human lines: one per library, then what to do about the missing ones and the export line. */
export function describeCudaLibraries(report: CudaLibraryReport): string[] {
  const width = Math.max(...report.libraries.map((l) => l.name.length));
  const lines = report.libraries.map(
    (l) => `  ${l.name.padEnd(width)}  ${l.dir ? `${l.dir} (${l.via})` : `MISSING: comes with ${l.source}`}`,
  );
  if (report.missing.length > 0)
    lines.push(
      `  missing: ${report.missing.join(', ')}; install them, then put their folder on LD_LIBRARY_PATH`,
    );
  if (report.exportLine) lines.push('  before starting node, run:', `    ${report.exportLine}`);
  return lines;
}
