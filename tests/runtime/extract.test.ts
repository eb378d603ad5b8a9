// avvp extract's library: real ffmpeg on generated media, the real bundled encoders in a real
// worker pool, real files. Features are compared with the encoders run directly on fromMedia's
// segments (and, for SynthAV, with the training path's in-memory encoding).
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, stat, truncate, unlink, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dspAudioEncoder, dspVisualEncoder, sessionRunner } from '../../src/models/encoders/index.js';
import { openSession } from '../../src/engine/session.js';
import { fromMedia } from '../../src/streams/fromMedia.js';
import {
  ExtractError,
  MANIFEST_FILE,
  extractFeatures,
  fileVideos,
  openExtractEncoders,
  synthVideos,
  videoKey,
  type ExtractEncoders,
  type ExtractManifest,
} from '../../src/runtime/extract.js';
import { openEncoders, loadLlpSplit, synthSplit } from '../../src/train/parser.js';
import { parseNpy, type NpyArray } from '../../src/datasets/npy.js';
import { clapAudioLike } from '../models/fixtures/tiny-exports.js';
import { ffmpeg, makeTestMedia, tempDir } from '../helpers/media.js';

const SHORT = 'vidAAAAAAAAA_0_3'; // 3 s: padded to 10 rows
const LONG = 'vidBBBBBBBBB_0_12'; // 12 s: cut after 10
const SILENT = 'vidCCCCCCCCC_0_2'; // no audio stream: reported and skipped
const BROKEN = 'vidDDDDDDDDD_0_10'; // text named .mp4: reported and skipped

const tmp = tempDir('avvp-extract-');
const media = path.join(tmp.dir, 'media');
let encoders: ExtractEncoders;

beforeAll(async () => {
  await mkdir(media);
  await Promise.all([
    makeTestMedia(path.join(media, `${SHORT}.mp4`), {
      seconds: 3,
      video: { boxes: [{ from: 1, to: 2, color: 'red' }] },
      audio: { tones: [{ from: 0, to: 1.5, freq: 660 }] },
    }),
    makeTestMedia(
      path.join(media, `${LONG}.mkv`),
      {
        seconds: 12,
        video: { fps: 12, boxes: [{ from: 4, to: 9, color: 'white' }] },
        audio: { tones: [{ from: 2, to: 11, freq: 300 }] },
      },
      { container: 'mkv' },
    ),
    makeTestMedia(path.join(media, `${SILENT}.mp4`), { seconds: 2, audio: false }),
    writeFile(path.join(media, `${BROKEN}.mp4`), 'this is not a video\n'),
    writeFile(path.join(media, 'notes.txt'), 'not a video extension: ignored when the folder is scanned\n'),
  ]);
  encoders = await openExtractEncoders('models', { workers: 1 });
});

afterAll(async () => {
  await encoders?.close();
  tmp.remove();
});

const read = async (file: string): Promise<NpyArray> => parseNpy(await readFile(file), file);

/** Rows of a (T, D) float32 array. */
function rows(a: NpyArray): Float32Array[] {
  const [t, ...rest] = a.shape;
  const d = rest.reduce((x, y) => x * y, 1);
  return Array.from({ length: t }, (_, k) => (a.data as Float32Array).slice(k * d, (k + 1) * d));
}

/**
 * Equal up to float32 rounding: onnxruntime's kernels sum in an order that depends on the batch size
 * and thread count, which differ between the pool's batches and a direct call (about 3e-5 seen).
 */
function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  expect(worst).toBeLessThan(2e-4);
}

async function tempFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of await readdir(dir)) {
    const full = path.join(dir, sub);
    if ((await stat(full)).isDirectory())
      names.push(...(await readdir(full)).filter((n) => n.includes('.tmp-')));
  }
  return names;
}

describe('extractFeatures on files', () => {
  const out = path.join(tmp.dir, 'out');

  it('writes (10, D) features per video, pads short and cuts long ones, and skips bad inputs with a reason', async () => {
    const videos = await fileVideos([media]);
    expect(videos.map((v) => v.id)).toEqual(['vidAAAAAAAA', 'vidBBBBBBBB', 'vidCCCCCCCC', 'vidDDDDDDDD']);
    const outcomes: string[] = [];
    const summary = await extractFeatures({
      videos,
      out,
      encoders,
      maps: true,
      onVideo: ({ job, outcome }) => outcomes.push(`${job.id}:${outcome}`),
    });
    expect(summary.extracted).toBe(2);
    expect(summary.skipped).toBe(0);
    expect(outcomes.sort()).toEqual([
      'vidAAAAAAAA:extracted',
      'vidBBBBBBBB:extracted',
      'vidCCCCCCCC:failed',
      'vidDDDDDDDD:failed',
    ]);
    const reason = (name: string) => summary.failed.find((f) => f.source.includes(name))?.reason;
    expect(reason(SILENT)).toMatch(/has no audio stream/);
    expect(reason(BROKEN)).toMatch(/cannot decode .*Invalid data found/s);

    for (const id of ['vidAAAAAAAA', 'vidBBBBBBBB']) {
      expect((await read(path.join(out, 'audio', `${id}.npy`))).shape).toEqual([10, 296]);
      expect((await read(path.join(out, 'visual', `${id}.npy`))).shape).toEqual([10, 91]);
      expect((await read(path.join(out, 'visual_map', `${id}.npy`))).shape).toEqual([10, 7, 7, 14]);
    }
    for (const m of ['audio', 'visual', 'visual_map'])
      expect((await readdir(path.join(out, m))).sort()).toEqual(['vidAAAAAAAA.npy', 'vidBBBBBBBB.npy']);

    const short = rows(await read(path.join(out, 'audio', 'vidAAAAAAAA.npy')));
    for (let k = 3; k < 10; k++) expect(short[k]).toEqual(short[2]); // repeats the last decoded second
    expect(short[0]).not.toEqual(short[2]); // tone in second 0, silence in second 2

    const manifest = JSON.parse(await readFile(path.join(out, MANIFEST_FILE), 'utf8')) as ExtractManifest;
    expect(manifest.encoders.audio).toMatchObject({ name: 'dsp-audio', dim: 296 });
    expect(manifest.encoders.visual).toMatchObject({ name: 'dsp-visual', dim: 91, mapShape: [7, 7, 14] });
    const sha = createHash('sha256')
      .update(await readFile('models/dsp-audio.onnx'))
      .digest('hex');
    expect(manifest.encoders.audio.sha256).toBe(sha);
    expect(manifest.videos).toEqual([
      expect.objectContaining({ id: 'vidAAAAAAAA', decoded: 3, padded: 7, truncated: false }),
      expect.objectContaining({ id: 'vidBBBBBBBB', decoded: 10, padded: 0, truncated: true }),
    ]);
    expect(manifest.failed).toHaveLength(2);
  });

  it('gives the same features as the encoders run directly on fromMedia segments', async () => {
    const audio = dspAudioEncoder(sessionRunner((await openSession('models/dsp-audio.onnx')).session));
    const visual = dspVisualEncoder(sessionRunner((await openSession('models/dsp-visual.onnx')).session));
    for (const [name, id] of [
      [`${SHORT}.mp4`, 'vidAAAAAAAA'],
      [`${LONG}.mkv`, 'vidBBBBBBBB'],
    ]) {
      const segments = await lastValueFrom(
        fromMedia(path.join(media, name), { width: 224, height: 224, fps: 8, sampleRate: 16000 }).pipe(
          take(10),
          toArray(),
        ),
      );
      const a = await audio(segments);
      const v = await visual(segments);
      const gotA = rows(await read(path.join(out, 'audio', `${id}.npy`)));
      const gotV = rows(await read(path.join(out, 'visual', `${id}.npy`)));
      const gotM = rows(await read(path.join(out, 'visual_map', `${id}.npy`)));
      for (let k = 0; k < 10; k++) {
        const j = Math.min(k, segments.length - 1);
        expectClose(gotA[k], a[j]);
        expectClose(gotV[k], v[j].visual);
        expectClose(gotM[k], v[j].visualMap);
      }
    }
  });

  it('resumes: skips complete videos untouched, redoes missing, truncated and half-written outputs', async () => {
    const videos = await fileVideos([path.join(media, `${SHORT}.mp4`), path.join(media, `${LONG}.mkv`)]);
    const file = (m: string, id: string) => path.join(out, m, `${id}.npy`);
    const before = await stat(file('audio', 'vidAAAAAAAA'));
    const again = await extractFeatures({ videos, out, encoders, maps: true });
    expect([again.extracted, again.skipped, again.failed.length]).toEqual([0, 2, 0]);
    expect((await stat(file('audio', 'vidAAAAAAAA'))).mtimeMs).toBe(before.mtimeMs);

    const reference = await readFile(file('audio', 'vidAAAAAAAA'));
    await truncate(file('audio', 'vidAAAAAAAA'), 2000); // a half file from some other writer
    await unlink(file('visual_map', 'vidBBBBBBBB'));
    await writeFile(`${file('visual', 'vidBBBBBBBB')}.tmp-0badf00d`, 'left by a killed run');
    const redo = await extractFeatures({ videos, out, encoders, maps: true });
    expect([redo.extracted, redo.skipped]).toEqual([2, 0]);
    expectClose(rows(await read(file('audio', 'vidAAAAAAAA')))[0], rows(parseNpy(reference))[0]);
    expect((await read(file('visual_map', 'vidBBBBBBBB'))).shape).toEqual([10, 7, 7, 14]);
    expect(await tempFiles(out)).toEqual([]);
    const manifest = JSON.parse(await readFile(path.join(out, MANIFEST_FILE), 'utf8')) as ExtractManifest;
    expect(manifest.videos.map((v) => v.id)).toEqual(['vidAAAAAAAA', 'vidBBBBBBBB']);
    expect(manifest.failed).toEqual([]);
  });

  it('stops on abort without half files, and the next run completes the rest', async () => {
    const partial = path.join(tmp.dir, 'partial');
    const videos = await fileVideos([path.join(media, `${SHORT}.mp4`), path.join(media, `${LONG}.mkv`)]);
    const controller = new AbortController();
    const stop = new Error('stopped by the test');
    await expect(
      extractFeatures({
        videos,
        out: partial,
        encoders,
        jobs: 1,
        signal: controller.signal,
        onVideo: () => controller.abort(stop),
      }),
    ).rejects.toBe(stop);
    expect(await readdir(path.join(partial, 'audio'))).toEqual(['vidAAAAAAAA.npy']);
    expect(await readdir(path.join(partial, 'visual'))).toEqual(['vidAAAAAAAA.npy']);
    expect(await tempFiles(partial)).toEqual([]);
    const manifest = JSON.parse(await readFile(path.join(partial, MANIFEST_FILE), 'utf8')) as ExtractManifest;
    expect(manifest.videos.map((v) => v.id)).toEqual(['vidAAAAAAAA']);

    const rest = await extractFeatures({ videos, out: partial, encoders, jobs: 1 });
    expect([rest.extracted, rest.skipped]).toEqual([1, 1]);
    expect((await readdir(path.join(partial, 'visual'))).sort()).toEqual([
      'vidAAAAAAAA.npy',
      'vidBBBBBBBB.npy',
    ]);
  });

  it('fills the seconds after an audio stream ends early from the last second that has audio', async () => {
    const file = path.join(tmp.dir, 'vidEEEEEEEEE_0_4.mkv'); // 4 s of video, 1.8 s of audio
    await ffmpeg([
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=blue:s=160x120:r=24:d=4'],
      ...['-f', 'lavfi', '-i', 'sine=f=500:d=1.8', '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...['-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le', file],
    ]);
    const early = path.join(tmp.dir, 'early');
    const summary = await extractFeatures({ videos: await fileVideos([file]), out: early, encoders });
    expect(summary.manifest.videos).toEqual([
      expect.objectContaining({ decoded: 4, padded: 6, filled: { audio: 2, visual: 0 } }),
    ]);
    const audio = rows(await read(path.join(early, 'audio', 'vidEEEEEEEE.npy')));
    for (let k = 2; k < 10; k++) expect(audio[k]).toEqual(audio[1]);
    const visual = rows(await read(path.join(early, 'visual', 'vidEEEEEEEE.npy')));
    expect(visual[3]).toEqual(visual[9]);
  });

  it('refuses a folder made with other encoders or another segment count', async () => {
    const videos = await fileVideos([path.join(media, `${SHORT}.mp4`)]);
    await expect(extractFeatures({ videos, out, encoders, segments: 5 })).rejects.toThrow(
      /holds features made with 10 segments.*this run uses 5 segments.*another --out/s,
    );
    const other = path.join(tmp.dir, 'other');
    await mkdir(other);
    const manifest = JSON.parse(await readFile(path.join(out, MANIFEST_FILE), 'utf8')) as ExtractManifest;
    manifest.encoders.visual.sha256 = '0'.repeat(64);
    await writeFile(path.join(other, MANIFEST_FILE), JSON.stringify(manifest));
    await expect(extractFeatures({ videos, out: other, encoders })).rejects.toThrow(ExtractError);
    await writeFile(path.join(other, MANIFEST_FILE), '{ not json');
    await expect(extractFeatures({ videos, out: other, encoders })).rejects.toThrow(/is not valid JSON/);
  });
});

describe('inputs and encoders', () => {
  it('keys videos by the first 11 characters of the name', () => {
    expect(videoKey('/a/b/-0A9suni5YA_30_40.mp4')).toBe('-0A9suni5YA');
    expect(videoKey('short.mkv')).toBe('short');
  });

  it('rejects a missing path, a URL, a folder without videos and two inputs with one id', async () => {
    await expect(fileVideos([path.join(tmp.dir, 'nowhere')])).rejects.toThrow(
      /input '.*nowhere' does not exist/,
    );
    const empty = path.join(tmp.dir, 'empty');
    await mkdir(empty);
    await writeFile(path.join(empty, 'readme.txt'), 'x');
    await expect(fileVideos([empty])).rejects.toThrow(/holds no video files/);
    await expect(fileVideos([])).rejects.toThrow(/no input given/);
    await expect(fileVideos(['rtsp://127.0.0.1:8554/cam'])).rejects.toThrow(/is a URL; extract reads files/);
    const copy = path.join(empty, `${SHORT.slice(0, 11)}_other.mp4`);
    await copyFile(path.join(media, `${SHORT}.mp4`), copy);
    await expect(fileVideos([media, copy])).rejects.toThrow(/have the same video id 'vidAAAAAAAA'/);
  });

  it('rejects a model folder without encoders or with an encoder of another I/O', async () => {
    const models = path.join(tmp.dir, 'models-clap');
    await mkdir(models);
    await expect(openExtractEncoders(models)).rejects.toThrow(/no audio-encoder manifest in/);
    await expect(openExtractEncoders(path.join(tmp.dir, 'absent'))).rejects.toThrow(/does not exist/);
    const bytes = clapAudioLike();
    await writeFile(path.join(models, 'clap.onnx'), bytes);
    await writeFile(
      path.join(models, 'clap.json'),
      JSON.stringify({
        name: 'clap-like',
        kind: 'audio-encoder',
        version: '1',
        file: 'clap.onnx',
        sha256: createHash('sha256').update(bytes).digest('hex'),
        inputs: [{ name: 'input_features', dtype: 'float32', shape: ['batch', 1, 1001, 64] }],
        outputs: [{ name: 'audio_embeds', dtype: 'float32', shape: ['batch', 512] }],
        features: { audio: 512 },
      }),
    );
    await copyFile('models/dsp-visual.onnx', path.join(models, 'dsp-visual.onnx'));
    await copyFile('models/dsp-visual.json', path.join(models, 'dsp-visual.json'));
    await expect(openExtractEncoders(models)).rejects.toThrow(
      /encoder 'clap-like': no input 'audio' \(has input_features\).*avvp models adapt/,
    );

    // a manifest that matches a file which is not ONNX: the pool's loader error, as an ExtractError
    const corrupt = path.join(tmp.dir, 'models-corrupt');
    await mkdir(corrupt);
    const garbage = Buffer.from('not an onnx model');
    const audioManifest = JSON.parse(await readFile('models/dsp-audio.json', 'utf8')) as Record<
      string,
      unknown
    >;
    audioManifest.sha256 = createHash('sha256').update(garbage).digest('hex');
    await writeFile(path.join(corrupt, 'dsp-audio.onnx'), garbage);
    await writeFile(path.join(corrupt, 'dsp-audio.json'), JSON.stringify(audioManifest));
    await copyFile('models/dsp-visual.onnx', path.join(corrupt, 'dsp-visual.onnx'));
    await copyFile('models/dsp-visual.json', path.join(corrupt, 'dsp-visual.json'));
    const failure = openExtractEncoders(corrupt, { workers: 1 });
    await expect(failure).rejects.toThrow(ExtractError);
    await expect(failure).rejects.toThrow(/could not load .*dsp-audio\.onnx/);
  });
});

describe('extractFeatures on SynthAV', () => {
  it('writes features and LLP annotations that the training loader reads, equal to the in-memory path', async () => {
    const out = path.join(tmp.dir, 'synth');
    const options = { seed: 3, split: 'val' as const, clips: 2 };
    const summary = await extractFeatures({
      videos: synthVideos(options),
      out,
      encoders,
      annotations: options,
    });
    expect(summary.extracted).toBe(2);
    const loaded = await loadLlpSplit({ features: out, annotations: out, pseudo: out, split: 'val' });
    const direct = await synthSplit({
      ...options,
      preset: 'default',
      encode: await openEncoders('models'),
    });
    expect(loaded.filenames).toEqual(direct.filenames);
    expect(loaded.truth).toEqual(direct.truth);
    expect(loaded.pseudoAudio).toEqual(direct.pseudoAudio);
    expectClose(loaded.audio, direct.audio);
    expectClose(loaded.visual, direct.visual);
  });
});
