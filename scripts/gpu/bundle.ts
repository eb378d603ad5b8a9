// Builds .gpu/: everything a GPU test machine without Node.js and without network needs to run the
// project on onnxruntime-node 1.29.0 with the CUDA execution provider (scripts/gpu-check.sh
// unpacks it there). Each file is xz-compressed:
//   node.xz                     this machine's node binary (v20), symbols stripped
//   onnxruntime.tar.xz          node_modules/onnxruntime-node@1.29.0 (linux/x64 binaries only)
//                               and node_modules/onnxruntime-common@1.29.0
//   providers_cuda.so.xz        libonnxruntime_providers_cuda.so of ORT 1.29.0 (CUDA 13), from the
//                               npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9,
//                               fatbin cut to sm_90 by scripts/gpu/trim-fatbin.ts
//   providers_shared.so.xz      libonnxruntime_providers_shared.so from the same package
//   deps.tar.xz                 the runtime dependencies of dist/ (rxjs, ws, prom-client, yaml and
//                               theirs) from this checkout's node_modules; not dist/ itself
//   manifest.json               package names, versions, integrity; sha256 and size of every file
// npm tarballs are fetched once with `npm pack` into ~/.cache/avvp/gpu (or $AVVP_GPU_CACHE) and
// checked against pinned sha512 integrity values, which must also match the registry's.
//
// Usage: npm run gpu:bundle [-- --out .gpu] [--no-neutralise] [--arch 90] [--node /usr/bin/node]
//          [--no-strip] [--budget-mib 52] [--offline]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import {
  PROVIDER_ORT_VERSION,
  PROVIDER_PACKAGE as ORT_GPU,
  TARBALL_PREFIX,
  defaultCacheDir,
  fetchTarball as fetchPinned,
  type Pinned,
} from '../../src/engine/gpu/package.js';
import { extractEntries } from '../../src/engine/gpu/tar.js';
import { sha256File } from '../../src/util/sha256.js';
import { trimFile } from './trim-fatbin.js';

const ORT_NODE: Pinned = {
  name: 'onnxruntime-node',
  version: PROVIDER_ORT_VERSION,
  integrity:
    'sha512-WjiVVB72riILz8HbYvxvmjKyE/WmkYoSfKY++axo5jAR609HQg8MwiG/HhShpTcJfmmAdzxxmB+MMST3A+SiPA==',
};
const ORT_COMMON: Pinned = {
  name: 'onnxruntime-common',
  version: '1.29.0',
  integrity:
    'sha512-/F63/e2VJoaVXGGNu6S5QH7jivBThGO95OzAVXXQ8hTta/b1QxI8udHa6cI3+3mAb5WWIIaMMwfZw01oivjJ1g==',
};
/** Direct runtime dependencies of dist/ besides onnxruntime (taken from this checkout). */
const RUNTIME_DEPS = ['rxjs', 'ws', 'prom-client', 'yaml'];
/** Files the runtime never reads; left out of deps.tar.xz. */
const DEP_EXCLUDES = ['*.map', '*.d.ts', '*.d.cts', '*.d.mts', 'node_modules/rxjs/src', '*.md'];

interface Args {
  out: string;
  cache: string;
  arch: number;
  neutralise: boolean;
  node: string;
  strip: boolean;
  budgetMiB: number;
  offline: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    out: '.gpu',
    cache: defaultCacheDir(),
    arch: 90,
    neutralise: true,
    node: '/usr/bin/node',
    strip: true,
    budgetMiB: 52,
    offline: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--out') a.out = value();
    else if (flag === '--cache') a.cache = value();
    else if (flag === '--arch') a.arch = Number(value().replace(/^sm_/, ''));
    else if (flag === '--no-neutralise') a.neutralise = false;
    else if (flag === '--node') a.node = value();
    else if (flag === '--no-strip') a.strip = false;
    else if (flag === '--budget-mib') a.budgetMiB = Number(value());
    else if (flag === '--offline') a.offline = true;
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}

const mib = (n: number) => `${(n / (1 << 20)).toFixed(2)} MiB`;

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** npm pack NAME@VERSION into the cache (once) and verify its sha512 integrity; returns the path. */
async function fetchTarball(p: Pinned, cache: string, offline: boolean) {
  const got = await fetchPinned(p, cache, { offline, checkRegistry: true, log: (l) => console.log(l) });
  console.log(`  ${got.path}: ${mib((await stat(got.path)).size)}`);
  return got;
}

/** Runtime dependency closure of `roots` as resolved from the project's node_modules. */
async function dependencyClosure(
  root: string,
  roots: string[],
): Promise<Map<string, { version: string; dir: string }>> {
  const found = new Map<string, { version: string; dir: string }>();
  const resolveFrom = (fromDir: string, name: string): string | null => {
    let dir = fromDir;
    for (;;) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (resolve(dir) === resolve(root)) return null;
      const up = dirname(dir);
      if (up === dir) return null;
      dir = up.endsWith('node_modules') ? dirname(up) : up;
    }
  };
  const visit = async (fromDir: string, name: string, optional: boolean) => {
    const dir = resolveFrom(fromDir, name);
    if (!dir) {
      if (optional) return;
      throw new Error(`runtime dependency ${name} is not installed (run npm ci)`);
    }
    const rel = relative(root, dir);
    if (found.has(rel)) return;
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    found.set(rel, { version: pkg.version, dir });
    for (const dep of Object.keys(pkg.dependencies ?? {})) await visit(dir, dep, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) await visit(dir, dep, true);
  };
  for (const name of roots) await visit(root, name, false);
  return found;
}

async function xzFile(src: string, dst: string): Promise<void> {
  run('sh', ['-c', 'xz -9e -T0 -c -- "$1" > "$2"', 'xz', src, dst]);
}

function tarXz(cwd: string, paths: string[], dst: string, excludes: string[] = []): void {
  run(
    'tar',
    [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      ...excludes.map((e) => `--exclude=${e}`),
      '-cJf',
      resolve(dst),
      ...paths,
    ],
    { cwd, env: { ...process.env, XZ_OPT: '-9e -T0' } },
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const root = process.cwd();
  if (!existsSync(join(root, 'package.json')) || !existsSync(join(root, 'node_modules'))) {
    throw new Error('run from the repository root after npm ci');
  }
  for (const tool of ['xz', 'tar']) {
    if (spawnSync(tool, ['--version']).status !== 0) throw new Error(`${tool} is needed on this machine`);
  }
  const out = resolve(args.out);
  const stage = join(args.cache, 'stage');
  await rm(stage, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  await mkdir(out, { recursive: true });

  // 1. npm tarballs.
  const ortNode = await fetchTarball(ORT_NODE, args.cache, args.offline);
  const ortCommon = await fetchTarball(ORT_COMMON, args.cache, args.offline);
  const ortGpu = await fetchTarball(ORT_GPU, args.cache, args.offline);

  // 2. onnxruntime-node + onnxruntime-common 1.29.0, linux/x64 only.
  const nm = join(stage, 'ort', 'node_modules');
  for (const [tgz, name] of [
    [ortNode.path, 'onnxruntime-node'],
    [ortCommon.path, 'onnxruntime-common'],
  ] as const) {
    const dir = join(nm, name);
    await mkdir(dir, { recursive: true });
    run('tar', [
      '-xzf',
      tgz,
      '-C',
      dir,
      '--strip-components=1',
      '--exclude=package/bin/napi-v6/darwin',
      '--exclude=package/bin/napi-v6/win32',
      '--exclude=package/bin/napi-v6/linux/arm64',
      '--exclude=package/script',
      '--exclude=package/lib',
      '--exclude=*.map',
    ]);
  }
  const ortPkg = JSON.parse(await readFile(join(nm, 'onnxruntime-node', 'package.json'), 'utf8'));
  if (ortPkg.dependencies?.['onnxruntime-common'] !== ORT_COMMON.version) {
    throw new Error(
      `onnxruntime-node wants onnxruntime-common ${ortPkg.dependencies?.['onnxruntime-common']}`,
    );
  }
  const bin = join(nm, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
  const binFiles = (await readdir(bin)).sort();
  if (!binFiles.includes('libonnxruntime.so.1') || !binFiles.includes('onnxruntime_binding.node')) {
    throw new Error(`unexpected onnxruntime-node linux/x64 files: ${binFiles.join(', ')}`);
  }
  tarXz(join(stage, 'ort'), ['node_modules'], join(out, 'onnxruntime.tar.xz'));

  // 3. CUDA provider libraries, the cuda one cut to one GPU generation.
  const gpuDir = join(stage, 'gpu');
  await mkdir(gpuDir, { recursive: true });
  const plugin = TARBALL_PREFIX;
  await mkdir(join(gpuDir, plugin), { recursive: true });
  await extractEntries(
    ortGpu.path,
    new Map(
      ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].map((f) => [
        `${plugin}/${f}`,
        join(gpuDir, plugin, f),
      ]),
    ),
  );
  const cudaIn = join(gpuDir, plugin, 'libonnxruntime_providers_cuda.so');
  const cudaOut = join(gpuDir, 'libonnxruntime_providers_cuda.so');
  const trimLog: string[] = [];
  const report = await trimFile(
    cudaIn,
    cudaOut,
    { keepArch: args.arch, neutralise: args.neutralise },
    (line) => {
      trimLog.push(line);
      if (!line.startsWith('neutralised container')) console.log(`trim-fatbin: ${line}`);
    },
  );
  if (args.neutralise)
    console.log(
      `trim-fatbin: (${report!.containersNeutralised} neutralised containers listed in the manifest)`,
    );
  await xzFile(cudaOut, join(out, 'providers_cuda.so.xz'));
  await xzFile(
    join(gpuDir, plugin, 'libonnxruntime_providers_shared.so'),
    join(out, 'providers_shared.so.xz'),
  );

  // 4. node.
  const nodeVersion = run(args.node, ['-p', 'process.version']).trim();
  if (!nodeVersion.startsWith('v20.')) console.warn(`warning: ${args.node} is ${nodeVersion}, not v20`);
  const nodeCopy = join(stage, 'node');
  await copyFile(args.node, nodeCopy);
  let stripped = false;
  if (args.strip && spawnSync('strip', ['--version']).status === 0) {
    run('strip', ['--strip-all', nodeCopy]);
    if (run(nodeCopy, ['-p', 'process.version']).trim() !== nodeVersion)
      throw new Error('stripped node does not run');
    stripped = true;
  }
  await xzFile(nodeCopy, join(out, 'node.xz'));

  // 5. dist's runtime dependencies from this checkout.
  const deps = await dependencyClosure(root, RUNTIME_DEPS);
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
  const depPaths = [...deps.keys()].sort();
  tarXz(root, depPaths, join(out, 'deps.tar.xz'), DEP_EXCLUDES);

  // 6. Manifest and sizes.
  const files = [];
  for (const [file, contents, source] of [
    ['node.xz', `node ${nodeVersion} linux-x64${stripped ? ', strip --strip-all' : ''}`, args.node],
    [
      'onnxruntime.tar.xz',
      'node_modules/onnxruntime-node@1.29.0 (linux/x64) + node_modules/onnxruntime-common@1.29.0',
      'npm',
    ],
    [
      'providers_cuda.so.xz',
      `libonnxruntime_providers_cuda.so, fatbin cut to sm_${args.arch}${args.neutralise ? ' (LLM-only containers neutralised)' : ''}`,
      `${ORT_GPU.name}@${ORT_GPU.version}`,
    ],
    ['providers_shared.so.xz', 'libonnxruntime_providers_shared.so', `${ORT_GPU.name}@${ORT_GPU.version}`],
    [
      'deps.tar.xz',
      `runtime dependencies: ${depPaths.map((p) => p.replace(/^node_modules\//, '')).join(', ')}`,
      'this checkout',
    ],
  ] as const) {
    const path = join(out, file);
    files.push({ file, bytes: (await stat(path)).size, sha256: await sha256File(path), contents, source });
  }
  const unpacked = {
    node: { bytes: (await stat(nodeCopy)).size, sha256: await sha256File(nodeCopy) },
    'libonnxruntime_providers_cuda.so': {
      bytes: (await stat(cudaOut)).size,
      sha256: await sha256File(cudaOut),
    },
    'libonnxruntime_providers_shared.so': {
      bytes: (await stat(join(gpuDir, plugin, 'libonnxruntime_providers_shared.so'))).size,
      sha256: await sha256File(join(gpuDir, plugin, 'libonnxruntime_providers_shared.so')),
    },
  };
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const manifest = {
    note: 'Built by scripts/gpu/bundle.ts; unpacked and checked by scripts/gpu-check.sh on the GPU machine.',
    node: { version: nodeVersion, stripped },
    packages: [
      { ...ORT_NODE, integrity: ortNode.integrity, use: 'linux/x64 binaries, dist, package.json' },
      { ...ORT_COMMON, integrity: ortCommon.integrity },
      {
        ...ORT_GPU,
        integrity: ortGpu.integrity,
        use: 'Plugins/Linux/x64 cuda + shared provider libraries (ORT 1.29.0, CUDA 13)',
      },
      ...depPaths.map((p) => ({
        name: p.replace(/^(.*\/)?node_modules\//, ''),
        version: deps.get(p)!.version,
        integrity: lock.packages?.[p]?.integrity ?? null,
        path: p,
      })),
    ],
    fatbin: {
      keepArch: args.arch,
      neutralise: args.neutralise,
      entriesKept: report!.entriesKept,
      entriesZeroed: report!.entriesZeroed,
      bytesZeroed: report!.bytesZeroed,
      containersNeutralised: report!.containersNeutralised,
      containersWithoutKeptArch: report!.withoutKeptArch,
      neutralisedContainers: trimLog.filter((l) => l.startsWith('neutralised container')),
    },
    unpacked,
    files,
    totalBytes: total,
  };
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(stage, { recursive: true, force: true });

  const manifestBytes = (await stat(join(out, 'manifest.json'))).size;
  console.log(`\n${relative(root, out) || out}/`);
  for (const f of files)
    console.log(
      `  ${f.file.padEnd(24)} ${String(f.bytes).padStart(10)}  ${mib(f.bytes).padStart(10)}  ${f.contents}`,
    );
  console.log(`  ${'manifest.json'.padEnd(24)} ${String(manifestBytes).padStart(10)}`);
  const all = total + manifestBytes;
  console.log(
    `  ${'total'.padEnd(24)} ${String(all).padStart(10)}  ${mib(all).padStart(10)}  (budget ${args.budgetMiB} MiB)`,
  );
  if (all > args.budgetMiB * (1 << 20)) {
    console.error(`gpu:bundle: .gpu is over the ${args.budgetMiB} MiB budget`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`gpu:bundle: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
