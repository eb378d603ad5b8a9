// What `avvp gpu check` reports, for real on this machine (no NVIDIA driver, no provider libraries:
// cuda unavailable, webgpu unavailable or ok, cpu ok), the CUDA library finder on fake folders,
// and fetching the pinned tarball from a cache without network.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBE_EXPECTED, gpuCheck, probeProvider, queryNvidiaSmi } from '../../../src/engine/gpu/check.js';
import {
  CUDA_LIBRARIES,
  describeCudaLibraries,
  findCudaLibraries,
} from '../../../src/engine/gpu/cuda-libs.js';
import {
  PackageError,
  fetchTarball,
  integrityOf,
  tarballName,
  type Pinned,
} from '../../../src/engine/gpu/package.js';
import { cudaLibraryMissing } from '../../../src/engine/session.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-gpu-check-');

describe('findCudaLibraries', () => {
  it('looks in LD_LIBRARY_PATH, CUDA toolkits, python wheels, system folders and ldconfig', async () => {
    const root = await tmp();
    const touch = async (dir: string, name: string) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, name), '');
    };
    const ld = join(root, 'driver');
    const toolkit = join(root, 'local', 'cuda-13.0', 'targets', 'x86_64-linux', 'lib');
    const old = join(root, 'local', 'cuda', 'lib64');
    const sp = join(root, 'site-packages');
    const system = join(root, 'system');
    await touch(ld, 'libcuda.so.1');
    await touch(toolkit, 'libcudart.so.13');
    await touch(toolkit, 'libcublas.so.13');
    await touch(old, 'libcublasLt.so.13');
    await touch(join(sp, 'nvidia', 'cudnn', 'lib'), 'libcudnn.so.9');
    await touch(join(sp, 'nvidia', 'cu13', 'lib'), 'libcurand.so.10');
    await touch(system, 'libcudart.so.13');
    const report = findCudaLibraries({
      env: { LD_LIBRARY_PATH: `${ld}::/nonexistent` },
      cudaRoot: join(root, 'local'),
      sitePackages: [sp],
      systemDirs: [system],
      ldconfig: () =>
        "12 libs found in cache `/etc/ld.so.cache'\n\tlibcufft.so.12 (libc6,x86-64) => /opt/fft/libcufft.so.12\n",
    });
    const where = Object.fromEntries(report.libraries.map((l) => [l.name, [l.dir, l.via]]));
    expect(where).toEqual({
      'libcuda.so.1': [ld, 'LD_LIBRARY_PATH'],
      'libcudart.so.13': [toolkit, 'cuda toolkit'],
      'libcublas.so.13': [toolkit, 'cuda toolkit'],
      'libcublasLt.so.13': [old, 'cuda toolkit'],
      'libcurand.so.10': [join(sp, 'nvidia', 'cu13', 'lib'), 'python wheel'],
      'libcufft.so.12': ['/opt/fft', 'ldconfig'],
      'libcudnn.so.9': [join(sp, 'nvidia', 'cudnn', 'lib'), 'python wheel'],
    });
    expect(report.missing).toEqual([]);
    expect(report.addToPath).toEqual([
      toolkit,
      old,
      join(sp, 'nvidia', 'cu13', 'lib'),
      join(sp, 'nvidia', 'cudnn', 'lib'),
    ]);
    expect(report.exportLine).toBe(
      `export LD_LIBRARY_PATH=${report.addToPath.join(':')}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`,
    );
  });

  it('names each missing library and where it comes from', () => {
    const report = findCudaLibraries({
      env: {},
      cudaRoot: '/nonexistent',
      sitePackages: [],
      systemDirs: [],
      ldconfig: () => '',
    });
    expect(report.missing).toEqual(CUDA_LIBRARIES.map((l) => l.name));
    expect(report.exportLine).toBeNull();
    const text = describeCudaLibraries(report).join('\n');
    expect(text).toMatch(/libcuda\.so\.1 +MISSING: comes with the NVIDIA driver/);
    expect(text).toMatch(/libcublas\.so\.13 +MISSING: comes with the CUDA 13 toolkit .*nvidia-cublas-cu13/);
    expect(text).toMatch(/libcudnn\.so\.9 +MISSING: comes with cuDNN 9 for CUDA 13/);
    expect(text).toMatch(/missing: libcuda\.so\.1, libcudart\.so\.13, .*libcudnn\.so\.9/);
  });
});

describe('gpu check on this machine', () => {
  it('reports no NVIDIA driver when nvidia-smi is absent', () => {
    expect(queryNvidiaSmi('/nonexistent/nvidia-smi')).toEqual({
      present: false,
      gpus: [],
      note: 'no NVIDIA driver (nvidia-smi not found)',
    });
  });

  it('runs y = 2x + 1 on cpu with exactly the expected values', async () => {
    const r = await probeProvider('cpu');
    expect(r).toMatchObject({ provider: 'cpu', ok: true, outputMatches: true, error: null });
    expect(r.output).toEqual(PROBE_EXPECTED);
    expect(r.ms).toBeGreaterThan(0);
  });

  it('reports every provider, cpu ok, cuda unavailable without its libraries', async () => {
    const report = await gpuCheck({ nvidiaSmi: '/nonexistent/nvidia-smi' });
    expect(report.ok).toBe(true);
    expect(report.platform).toBe(`${process.platform}-${process.arch}`);
    expect(report.onnxruntimeNode).toMatchObject({
      version: '1.29.0',
      providerBuiltFor: '1.29.0',
      matches: true,
    });
    expect(report.providerPackage).toBe('com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9');
    expect(report.providers.map((p) => p.provider)).toEqual(['cuda', 'webgpu', 'cpu']);
    const [cuda, webgpu, cpu] = report.providers;
    expect(cpu.ok).toBe(true);
    if (cudaLibraryMissing()) {
      expect(report.providerLibraries.map((l) => l.status)).toEqual(['missing', 'missing']);
      expect(cuda).toMatchObject({
        ok: false,
        error: expect.stringMatching(/not installed: run avvp gpu setup/),
      });
    }
    if (!webgpu.ok) expect(webgpu.error).toMatch(/\S/);
    else expect(webgpu.output).toEqual(PROBE_EXPECTED);
    expect(report.cudaLibraries.libraries).toHaveLength(CUDA_LIBRARIES.length);
  });
});

describe('fetchTarball from the cache (no network)', () => {
  it('uses a cached tarball with the pinned integrity and refuses one without', async () => {
    const cache = await tmp();
    const p: Pinned = { name: '@scope/fake-provider', version: '1.2.3', integrity: '' };
    expect(tarballName(p)).toBe('scope-fake-provider-1.2.3.tgz');
    const path = join(cache, tarballName(p));
    await writeFile(path, 'tarball bytes');
    p.integrity = await integrityOf(path);
    expect(p.integrity).toBe(
      `sha512-${(await import('node:crypto')).createHash('sha512').update('tarball bytes').digest('base64')}`,
    );
    const lines: string[] = [];
    expect(await fetchTarball(p, cache, { offline: true, log: (l) => lines.push(l) })).toEqual({
      path,
      integrity: p.integrity,
    });
    expect(lines).toEqual([expect.stringMatching(/^verified @scope\/fake-provider@1\.2\.3/)]);

    await writeFile(path, 'other bytes');
    await expect(fetchTarball(p, cache, { offline: true })).rejects.toThrow(
      /is not @scope\/fake-provider@1\.2\.3: its sha512 integrity .* does not match the pinned .*delete .* and run again/,
    );
    await expect(fetchTarball(p, join(cache, 'empty'), { offline: true })).rejects.toBeInstanceOf(
      PackageError,
    );
  });
});
