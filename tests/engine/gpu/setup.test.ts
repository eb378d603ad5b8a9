// `avvp gpu setup`'s installer on fixture tarballs shaped like the real provider package, into a
// fake onnxruntime-node folder: the happy path (also with a tarball written by GNU tar), idempotence,
// --force, and every refusal (integrity, ORT version, platform, missing libraries, traversal, links,
// not gzip, not tar, truncated). No network: the tarball always comes through `from`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PROVIDER_LIBRARIES, PROVIDER_PACKAGE } from '../../../src/engine/gpu/package.js';
import {
  DEFAULT_PINS,
  GpuSetupError,
  installProviderLibraries,
  locateOrt,
  providerLibraryStatus,
  type ProviderPins,
} from '../../../src/engine/gpu/setup.js';
import { tempDirs } from '../../helpers/temp-dirs.js';
import {
  CUDA,
  PREFIX,
  SHARED,
  TENSORRT,
  fakeLibrary,
  fakeOrt,
  packageEntries,
  paxPath,
  pinsFor,
  tgz,
  type Entry,
} from './fixture.js';

const tmp = tempDirs('avvp-gpu-setup-');

interface Case {
  dir: string;
  bin: string;
  tarball: string;
  pins: ProviderPins;
}

/** A temp folder with a fake onnxruntime-node and a fixture tarball of `entries`. */
async function setupCase(entries: Entry[] = packageEntries(), ortVersion = '1.29.0'): Promise<Case> {
  const dir = await tmp();
  const bin = await fakeOrt(dir, ortVersion);
  const tarball = join(dir, 'provider.tgz');
  await writeFile(tarball, tgz(entries));
  return { dir, bin, tarball, pins: await pinsFor(tarball) };
}

/** Every file under `dir`, relative. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function refused(c: Case, pins: ProviderPins, pattern: RegExp, from = c.tarball): Promise<void> {
  const before = await tree(c.dir);
  const err = await installProviderLibraries({ from, ortDir: c.bin }, pins).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GpuSetupError);
  expect((err as Error).message).toMatch(pattern);
  // Nothing installed, no temporary file left, nothing written anywhere else in the case folder.
  expect(await tree(c.dir)).toEqual(before);
}

describe('the pinned provider package', () => {
  it('pins the npm package, its ORT version and the two libraries (not tensorrt)', () => {
    expect(PROVIDER_PACKAGE.name).toBe('com.github.asus4.onnxruntime.linux-x64-gpu');
    expect(PROVIDER_PACKAGE.version).toBe('0.4.9');
    expect(PROVIDER_PACKAGE.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(Object.keys(PROVIDER_LIBRARIES).sort()).toEqual([CUDA, SHARED]);
    for (const h of Object.values(PROVIDER_LIBRARIES)) expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(DEFAULT_PINS.ortVersion).toBe('1.29.0');
    expect(DEFAULT_PINS.prefix).toBe(PREFIX);
  });

  it("finds this checkout's onnxruntime-node 1.29.0", () => {
    const ort = locateOrt();
    expect(ort.version).toBe('1.29.0');
    expect(existsSync(join(ort.binDir, 'libonnxruntime.so.1'))).toBe(true);
  });
});

describe('installProviderLibraries', () => {
  it('installs the cuda and shared libraries next to libonnxruntime.so.1, not tensorrt', async () => {
    const c = await setupCase();
    const lines: string[] = [];
    const r = await installProviderLibraries(
      { from: c.tarball, ortDir: c.bin, log: (l) => lines.push(l) },
      c.pins,
    );
    expect(r.alreadyInstalled).toBe(false);
    expect(r.binDir).toBe(c.bin);
    expect(r.tarball).toBe(c.tarball);
    expect(r.libraries.map((l) => l.file)).toEqual([CUDA, SHARED]);
    expect(await readdir(c.bin)).toEqual(['libonnxruntime.so.1', CUDA, SHARED].sort());
    expect(await readFile(join(c.bin, CUDA))).toEqual(fakeLibrary(CUDA));
    expect(await readFile(join(c.bin, SHARED))).toEqual(fakeLibrary(SHARED));
    expect(r.libraries.every((l) => l.sha256 === c.pins.libraries[l.file] && l.bytes === 3000)).toBe(true);
    expect(lines.join('\n')).toMatch(/sha512 integrity matches[\s\S]*installed .*cuda.so \(3000 bytes/);
    expect((await providerLibraryStatus(c.bin, c.pins.libraries)).map((s) => s.status)).toEqual(['ok', 'ok']);
  });

  it('reads a tarball written by GNU tar (the layout npm pack produces)', async () => {
    const dir = await tmp();
    const bin = await fakeOrt(dir);
    const src = join(dir, 'src');
    await mkdir(join(src, PREFIX), { recursive: true });
    for (const l of [CUDA, SHARED, TENSORRT]) await writeFile(join(src, PREFIX, l), fakeLibrary(l));
    const tarball = join(dir, 'gnu.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', src, 'package']);
    const r = await installProviderLibraries({ from: tarball, ortDir: bin }, await pinsFor(tarball));
    expect(r.libraries.map((l) => l.bytes)).toEqual([3000, 3000]);
    expect(await readFile(join(bin, CUDA))).toEqual(fakeLibrary(CUDA));
  });

  it('follows pax path records (long names)', async () => {
    const entries: Entry[] = [
      { name: 'PaxHeader/x', type: 'x', data: paxPath(`${PREFIX}/${CUDA}`) },
      { name: 'short-name-1', data: fakeLibrary(CUDA) },
      { name: `${PREFIX}/${SHARED}`, data: fakeLibrary(SHARED) },
    ];
    const c = await setupCase(entries);
    await installProviderLibraries({ from: c.tarball, ortDir: c.bin }, c.pins);
    expect(await readFile(join(c.bin, CUDA))).toEqual(fakeLibrary(CUDA));
  });

  it('is idempotent: with the right files installed it does nothing, not even read the tarball', async () => {
    const c = await setupCase();
    await installProviderLibraries({ from: c.tarball, ortDir: c.bin }, c.pins);
    const mtime = (await stat(join(c.bin, CUDA))).mtimeMs;
    const lines: string[] = [];
    const again = await installProviderLibraries(
      { from: join(c.dir, 'gone.tgz'), ortDir: c.bin, log: (l) => lines.push(l) },
      c.pins,
    );
    expect(again.alreadyInstalled).toBe(true);
    expect(again.tarball).toBeNull();
    expect(again.libraries.map((l) => l.sha256)).toEqual([c.pins.libraries[CUDA], c.pins.libraries[SHARED]]);
    expect(lines).toEqual([expect.stringMatching(/already installed .*sha256 verified/)]);
    expect((await stat(join(c.bin, CUDA))).mtimeMs).toBe(mtime);
  });

  it('--force installs again; a changed library is replaced even without it', async () => {
    const c = await setupCase();
    await installProviderLibraries({ from: c.tarball, ortDir: c.bin }, c.pins);
    const forced = await installProviderLibraries({ from: c.tarball, ortDir: c.bin, force: true }, c.pins);
    expect(forced.alreadyInstalled).toBe(false);

    await writeFile(join(c.bin, SHARED), 'tampered');
    expect((await providerLibraryStatus(c.bin, c.pins.libraries)).map((s) => s.status)).toEqual([
      'ok',
      'mismatch',
    ]);
    const repaired = await installProviderLibraries({ from: c.tarball, ortDir: c.bin }, c.pins);
    expect(repaired.alreadyInstalled).toBe(false);
    expect(await readFile(join(c.bin, SHARED))).toEqual(fakeLibrary(SHARED));
    expect(await readdir(c.bin)).toEqual(['libonnxruntime.so.1', CUDA, SHARED].sort());
  });

  it('refuses a tarball whose sha512 is not the pinned integrity (the default pins)', async () => {
    const c = await setupCase();
    await refused(
      c,
      DEFAULT_PINS,
      /provider\.tgz is not com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9: its sha512 integrity sha512-\S+ does not match the pinned sha512-FopIhNE.*npm pack/,
    );
  });

  it('refuses onnxruntime-node of another version, saying what to install, before reading the tarball', async () => {
    const c = await setupCase(packageEntries(), '1.30.0');
    await refused(
      c,
      c.pins,
      /onnxruntime-node 1\.30\.0 is installed, but the CUDA provider .* built for ONNX Runtime 1\.29\.0 .*npm install onnxruntime-node@1\.29\.0 --save-exact/,
      join(c.dir, 'not-read.tgz'),
    );
  });

  it('refuses an --ort-dir that is not onnxruntime-node', async () => {
    const c = await setupCase();
    const elsewhere = join(c.dir, 'empty');
    await mkdir(elsewhere);
    const err = await installProviderLibraries({ from: c.tarball, ortDir: elsewhere }, c.pins).catch(
      (e) => e,
    );
    expect(err.message).toMatch(/holds no libonnxruntime\.so\.1.*check --ort-dir/);
    await writeFile(join(elsewhere, 'libonnxruntime.so.1'), 'core');
    const err2 = await installProviderLibraries({ from: c.tarball, ortDir: elsewhere }, c.pins).catch(
      (e) => e,
    );
    expect(err2.message).toMatch(/onnxruntime-node \(unknown version: no package\.json found above/);
  });

  it('refuses other platforms', async () => {
    const c = await setupCase();
    for (const [platform, arch] of [
      ['darwin', 'arm64'],
      ['win32', 'x64'],
      ['linux', 'arm64'],
    ] as const) {
      const err = await installProviderLibraries(
        { from: c.tarball, ortDir: c.bin, platform, arch },
        c.pins,
      ).catch((e) => e);
      expect(err.message).toMatch(new RegExp(`exist for linux-x64 only; this is ${platform}-${arch}`));
    }
  });

  it('refuses a --from path that does not exist', async () => {
    const c = await setupCase();
    await refused(c, c.pins, /--from .*nope\.tgz: no such file/, join(c.dir, 'nope.tgz'));
  });

  it('refuses a tarball without the libraries', async () => {
    const c = await setupCase(packageEntries([CUDA, TENSORRT]));
    await refused(c, c.pins, new RegExp(`does not contain ${PREFIX}/${SHARED}; is it the right package\\?`));
  });

  it('refuses libraries whose sha256 is not the pinned one', async () => {
    const entries = packageEntries();
    entries[2] = { name: `${PREFIX}/${CUDA}`, data: fakeLibrary(CUDA, 2999) };
    const c = await setupCase(entries);
    await refused(
      c,
      c.pins,
      new RegExp(`${CUDA} in .* has sha256 [0-9a-f]{64}, expected ${c.pins.libraries[CUDA]}`),
    );
  });

  it('refuses path traversal and absolute entries without writing outside the folder', async () => {
    for (const name of [
      `package/../../${CUDA}`,
      `../${SHARED}`,
      '/tmp/avvp-evil.so',
      `${PREFIX}/../../../x`,
    ]) {
      const c = await setupCase([{ name, data: 'evil' }, ...packageEntries()]);
      await refused(c, c.pins, /refusing the archive: entry .* points outside the archive root/);
    }
    expect(existsSync('/tmp/avvp-evil.so')).toBe(false);
  });

  it('refuses symbolic and hard links, also where a library should be', async () => {
    const cases: [Entry[], RegExp][] = [
      [
        [{ name: `${PREFIX}/${CUDA}`, type: '2', linkname: '/etc/passwd' }, ...packageEntries([SHARED])],
        /entry '.*cuda\.so' is a symbolic link/,
      ],
      [
        [...packageEntries(), { name: 'package/link', type: '2', linkname: '../../x' }],
        /'package\/link' is a symbolic link/,
      ],
      [
        [{ name: 'package/hard', type: '1', linkname: '/etc/shadow' }, ...packageEntries()],
        /'package\/hard' is a hard link/,
      ],
    ];
    for (const [entries, pattern] of cases) {
      const c = await setupCase(entries);
      await refused(c, c.pins, pattern);
    }
  });

  it('refuses a library entry that is a folder or appears twice', async () => {
    const dirEntry = await setupCase([{ name: `${PREFIX}/${CUDA}`, type: '5' }, ...packageEntries([SHARED])]);
    await refused(dirEntry, dirEntry.pins, /is not a regular file \(tar type '5'\)/);
    const twice = await setupCase([...packageEntries(), { name: `${PREFIX}/${SHARED}`, data: 'second' }]);
    await refused(twice, twice.pins, /appears more than once/);
  });

  it('refuses a file that is not gzip, gzip that is not tar, and a truncated tarball', async () => {
    const dir = await tmp();
    const bin = await fakeOrt(dir);
    const write = async (name: string, data: Buffer | string) => {
      const path = join(dir, name);
      await writeFile(path, data);
      return { dir, bin, tarball: path, pins: await pinsFor(path) };
    };
    const text = await write('readme.tgz', 'this is not an archive\n'.repeat(50));
    await refused(text, text.pins, /readme\.tgz is not a gzip file/);
    const notTar = await write('plain.tgz', gzipSync(Buffer.from('hello '.repeat(200))));
    await refused(notTar, notTar.pins, /plain\.tgz is not a tar archive/);
    const whole = tgz(packageEntries());
    const { gunzipSync } = await import('node:zlib');
    const cut = await write('cut.tgz', gzipSync(gunzipSync(whole).subarray(0, 2000)));
    await refused(cut, cut.pins, /cut\.tgz is truncated|does not contain/);
    const badGzip = await write('bad.tgz', Buffer.concat([whole.subarray(0, 40), Buffer.alloc(100, 7)]));
    await refused(badGzip, badGzip.pins, /bad\.tgz is not a valid gzip file|unexpected end/);
  });
});
