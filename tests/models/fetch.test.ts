import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError } from '../../src/models/download.js';
import { CATALOG, exportUrl, FetchError, fetchModel, type KnownExport } from '../../src/models/fetch.js';
import { readManifest } from '../../src/models/manifest.js';
import { listProblems, loadModelDir } from '../../src/models/registry.js';
import { refusedUrl, startFileServer, type FileServer } from './fixtures/file-server.js';
import { clapAudioLike, clipVisionLike } from './fixtures/tiny-exports.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-fetch-');

const clip = Buffer.from(clipVisionLike());
const clap = Buffer.from(clapAudioLike());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CLIP_PATH = '/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx';
const CLAP_PATH = '/Xenova/clap-htsat-unfused/resolve/main/onnx/audio_model.onnx';
const CLAP_Q8_PATH = '/Xenova/clap-htsat-unfused/resolve/main/onnx/audio_model_quantized.onnx';
const quick = { retryDelayMs: 0, timeoutMs: 5000 };

let hub: FileServer;
beforeAll(async () => {
  hub = await startFileServer({
    [CLIP_PATH]: { body: clip, drop: { bytes: Math.floor(clip.length / 3), times: 1 } },
    [CLAP_PATH]: { redirect: '/cdn/audio_model.onnx', headers: { 'x-linked-etag': `"${sha(clap)}"` } },
    '/cdn/audio_model.onnx': { body: clap },
    // The CLAP graph where the quantized CLIP should be: the wrong export.
    '/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model_quantized.onnx': { body: clap },
    [CLAP_Q8_PATH]: { body: clap },
  });
});
afterAll(() => hub.close());

describe('fetchModel', () => {
  it('downloads from a mirror, resumes a dropped connection, validates, and records the hash', async () => {
    const dir = await tmp();
    const notes: string[] = [];
    const result = await fetchModel('clip-vit-b32-vision', {
      dir,
      mirror: hub.url,
      download: quick,
      log: (l) => notes.push(l),
    });
    expect(result).toMatchObject({ sha256: sha(clip), sha256Source: 'first-download', downloaded: true });
    expect((await readFile(join(dir, 'clip-vit-b32-vision.onnx'))).equals(clip)).toBe(true);
    const ranges = hub.requests.filter((r) => r.path === CLIP_PATH).map((r) => r.range);
    expect(ranges).toEqual([undefined, `bytes=${Math.floor(clip.length / 3)}-`]);
    const manifest = await readManifest(join(dir, 'clip-vit-b32-vision.json'));
    expect(manifest).toMatchObject({
      name: 'clip-vit-b32-vision',
      kind: 'visual-encoder',
      file: 'clip-vit-b32-vision.onnx',
      sha256: sha(clip),
      features: { visual: 512 },
      provenance: {
        source: 'Xenova/clip-vit-base-patch32@main/onnx/vision_model.onnx',
        sha256Source: 'first-download',
      },
    });
    expect(notes.join('\n')).toMatch(
      /note: no published sha256 is known for clip-vit-b32-vision; recorded the computed/,
    );
    const loaded = await loadModelDir(dir);
    expect(loaded.models.map((m) => m.status)).toEqual(['ok']);
    expect(listProblems(loaded)).toEqual([]);

    // A second fetch finds the verified copy and downloads nothing.
    const before = hub.requests.length;
    const again = await fetchModel('clip-vit-b32-vision', { dir, mirror: hub.url });
    expect(again).toMatchObject({ downloaded: false, sha256: sha(clip), sha256Source: 'first-download' });
    expect(hub.requests.length).toBe(before);
    await expect(stat(join(dir, 'clip-vit-b32-vision.download.part'))).rejects.toThrow(/ENOENT/);
  });

  it('holds a later download to the hash recorded by the first one', async () => {
    const dir = await tmp();
    await fetchModel('clap-htsat-unfused-audio-q8', { dir, mirror: hub.url });
    await rm(join(dir, 'clap-htsat-unfused-audio-q8.onnx'));
    hub.routes[CLAP_Q8_PATH].body = Buffer.from(clapAudioLike(99));
    const err = await fetchModel('clap-htsat-unfused-audio-q8', { dir, mirror: hub.url }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(
      /sha256 mismatch .* expected [0-9a-f]{64}\..*recorded by an earlier fetch/s,
    );
    expect((err as Error).message).toMatch(/delete that manifest and fetch again/);
    await expect(stat(join(dir, 'clap-htsat-unfused-audio-q8.onnx'))).rejects.toThrow(/ENOENT/);
    hub.routes[CLAP_Q8_PATH].body = clap;
  });

  it('follows the hub redirect and checks the sha256 it announces', async () => {
    const dir = await tmp();
    const result = await fetchModel('clap-htsat-unfused-audio', { dir, mirror: `${hub.url}/` });
    expect(result).toMatchObject({ sha256: sha(clap), sha256Source: 'server', downloaded: true });
    expect((await readManifest(result.manifestPath)).preprocessing).toMatchObject({
      sampleRate: 48000,
      melBands: 64,
    });
  });

  it('uses and enforces a catalog hash when one is known', async () => {
    const entry = CATALOG.find((e) => e.name === 'clap-htsat-unfused-audio-q8')!;
    const good: KnownExport = { ...entry, sha256: sha(clap), size: clap.length };
    const dir = await tmp();
    expect(await fetchModel(entry.name, { dir, mirror: hub.url, catalog: [good] })).toMatchObject({
      sha256Source: 'catalog',
    });
    const wrong: KnownExport = { ...entry, sha256: 'e'.repeat(64) };
    const err = await fetchModel(entry.name, { dir: await tmp(), mirror: hub.url, catalog: [wrong] }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(/sha256 mismatch .* expected e{64}\. The download is corrupt/);
    const short: KnownExport = { ...entry, size: 10 };
    const sizeErr = await fetchModel(entry.name, {
      dir: await tmp(),
      mirror: hub.url,
      catalog: [short],
    }).catch((e: Error) => e);
    expect((sizeErr as Error).message).toMatch(/is \d+ bytes, expected 10/);
  });

  it('refuses a file that is not the expected export, naming the I/O difference', async () => {
    const dir = await tmp();
    const err = await fetchModel('clip-vit-b32-vision-q8', { dir, mirror: hub.url }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toMatch(
      /vision_model_quantized\.onnx is not the expected export: .* input 'pixel_values' is missing from the file \(it has 'input_features'\)/s,
    );
    await expect(stat(join(dir, 'clip-vit-b32-vision-q8.onnx'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dir, 'clip-vit-b32-vision-q8.json'))).rejects.toThrow(/ENOENT/);
  });

  it('says what is wrong for unknown names, bad mirrors, missing files and no network', async () => {
    const dir = await tmp();
    await expect(fetchModel('clip-huge', { dir })).rejects.toThrow(
      /unknown model 'clip-huge'; known exports: clip-vit-b32-vision, clip-vit-b32-vision-q8, clap-htsat-unfused-audio/,
    );
    await writeFile(join(dir, 'a-file'), '');
    await expect(
      fetchModel('clip-vit-b32-vision', { dir: join(dir, 'a-file'), mirror: hub.url }),
    ).rejects.toThrow(/cannot create the model directory .*a-file \((EEXIST|ENOTDIR)\)/);
    await expect(fetchModel('clip-vit-b32-vision', { dir, mirror: 'ftp://x' })).rejects.toThrow(
      /--mirror must be an http\(s\) URL/,
    );
    await expect(fetchModel('clip-vit-b32-text', { dir, mirror: hub.url })).rejects.toThrow(
      /clip-vit-base-patch32\/resolve\/main\/onnx\/text_model\.onnx was not found \(HTTP 404\)/,
    );
    await expect(fetchModel('clip-vit-b32-vision', { dir, mirror: await refusedUrl() })).rejects.toThrow(
      /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\): this machine looks offline/,
    );
  });

  it('refuses a second fetch of the same export while one runs, and takes over a stale lock', async () => {
    const dir = await tmp();
    const lockFile = join(dir, 'clap-htsat-unfused-audio-q8.download.lock');
    await writeFile(lockFile, String(process.pid));
    await expect(fetchModel('clap-htsat-unfused-audio-q8', { dir, mirror: hub.url })).rejects.toThrow(
      `another fetch of clap-htsat-unfused-audio-q8 is running (process ${process.pid}); wait for it, or delete ${lockFile} if it is not`,
    );
    const exited = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(lockFile, String(exited));
    const result = await fetchModel('clap-htsat-unfused-audio-q8', { dir, mirror: hub.url });
    expect(result.downloaded).toBe(true);
    await expect(stat(lockFile)).rejects.toThrow(/ENOENT/);
  });

  it('builds hub URLs in the resolve layout', () => {
    const entry = CATALOG.find((e) => e.name === 'clip-vit-b32-vision')!;
    expect(exportUrl(entry)).toBe(
      'https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx',
    );
    expect(exportUrl(entry, 'http://mirror.local/hf/')).toBe(
      'http://mirror.local/hf/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx',
    );
  });
});
