// `avvp models fetch|list` run as real processes against a real local HTTP "hub".
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAvvp } from '../helpers/cli.js';
import { refusedUrl, startFileServer, type FileServer } from '../models/fixtures/file-server.js';
import { clapAudioLike, clipVisionLike } from '../models/fixtures/tiny-exports.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-cli-models-');

const avvp = (args: string[]) => runAvvp(['models', ...args]);

const clip = Buffer.from(clipVisionLike());
let hub: FileServer;
let dir: string;
beforeAll(async () => {
  hub = await startFileServer({
    '/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx': { body: clip },
    '/Xenova/clap-htsat-unfused/resolve/main/onnx/audio_model.onnx': { body: Buffer.from(clapAudioLike()) },
  });
  dir = await tmp();
});
afterAll(() => hub.close());

describe('avvp models', () => {
  it('fetches two exports from a mirror, then lists them as intact and compatible', async () => {
    const fetched = await avvp([
      'fetch',
      'clip-vit-b32-vision',
      'clap-htsat-unfused-audio',
      '--dir',
      dir,
      '--mirror',
      hub.url,
    ]);
    expect(fetched.stderr).toMatch(/note: no published sha256 is known for clip-vit-b32-vision/);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toMatch(
      /^clip-vit-b32-vision: fetched, .*clip-vit-b32-vision\.onnx sha256 [0-9a-f]{64} \(first-download\)$/m,
    );
    expect(fetched.stdout).toMatch(/^clap-htsat-unfused-audio: fetched, /m);

    // A head trained on CLAP audio + CLIP image embeddings, pinned to those encoders.
    const head = {
      name: 'link-clip-clap',
      kind: 'parser',
      version: '1',
      file: 'clip-vit-b32-vision.onnx',
      sha256: JSON.parse(await readFile(join(dir, 'clip-vit-b32-vision.json'), 'utf8')).sha256,
      inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['batch', 3, 224, 224] }],
      outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['batch', 512] }],
      features: { audio: 512, visual: 512 },
      encoders: { audio: 'clap-htsat-unfused-audio', visual: 'clip-vit-b32-vision' },
    };
    await writeFile(join(dir, 'link-clip-clap.json'), JSON.stringify(head));

    const adapted = await Promise.all([
      avvp(['adapt', 'clip-vit-b32-vision', '--dir', dir, '--frames', '2']),
      avvp(['adapt', 'clap-htsat-unfused-audio', '--dir', dir]),
    ]);
    expect(adapted.map((r) => r.code)).toEqual([0, 0]);
    expect(adapted[0].stdout).toMatch(
      /^clip-vit-b32-vision-segment: wrote .*clip-vit-b32-vision-segment\.onnx and /,
    );

    const listed = await avvp(['list', '--dir', dir, '--json', '--validate']);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      {
        name: 'clap-htsat-unfused-audio',
        kind: 'audio-encoder',
        file: 'clap-htsat-unfused-audio.onnx',
        ok: true,
      },
      {
        name: 'clap-htsat-unfused-audio-segment',
        kind: 'audio-encoder',
        file: 'clap-htsat-unfused-audio-segment.onnx',
        ok: true,
      },
      { name: 'clip-vit-b32-vision', kind: 'visual-encoder', file: 'clip-vit-b32-vision.onnx', ok: true },
      {
        name: 'clip-vit-b32-vision-segment',
        kind: 'visual-encoder',
        file: 'clip-vit-b32-vision-segment.onnx',
        ok: true,
      },
      { name: 'link-clip-clap', kind: 'parser', file: 'clip-vit-b32-vision.onnx', ok: true },
    ]);

    const again = await avvp(['fetch', 'clip-vit-b32-vision', '--dir', dir, '--mirror', hub.url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^clip-vit-b32-vision: already present, /m);
  });

  it('reports a changed file and a bad manifest, with exit status 1', async () => {
    await writeFile(join(dir, 'clap-htsat-unfused-audio.onnx'), 'not the model any more');
    await writeFile(join(dir, 'typo.json'), JSON.stringify({ name: 'typo', kind: 'parser' }));
    const listed = await avvp(['list', '--dir', dir]);
    expect(listed.code).toBe(1);
    expect(listed.stdout).toMatch(/^NAME +KIND +FILE +STATUS +I\/O$/m);
    expect(listed.stdout).toMatch(
      /^clip-vit-b32-vision +visual-encoder +clip-vit-b32-vision\.onnx +ok +pixel_values float32\[batch,3,224,224\] -> image_embeds float32\[batch,512\]$/m,
    );
    expect(listed.stdout).toMatch(
      /^clap-htsat-unfused-audio +audio-encoder +clap-htsat-unfused-audio\.onnx +sha256-mismatch /m,
    );
    expect(listed.stdout).toMatch(
      /^head link-clip-clap: audio from clap-htsat-unfused-audio, visual from clip-vit-b32-vision$/m,
    );
    expect(listed.stderr).toMatch(/^problem: .*typo\.json: field "version" is missing$/m);
    expect(listed.stderr).toMatch(
      /^problem: .*clap-htsat-unfused-audio\.onnx does not match .*: sha256 is [0-9a-f]{64}, the manifest says/m,
    );

    const json = JSON.parse((await avvp(['list', '--dir', dir, '--json'])).stdout) as {
      name: string;
      ok: boolean;
    }[];
    expect(json.map((r) => [r.name, r.ok])).toEqual([
      ['clap-htsat-unfused-audio', false],
      ['clap-htsat-unfused-audio-segment', true],
      ['clip-vit-b32-vision', true],
      ['clip-vit-b32-vision-segment', true],
      ['link-clip-clap', true],
      ['typo', false],
    ]);
  });

  it('fails clearly on usage errors, a missing directory and no network', async () => {
    const [none, unknown, badFlag, missingDir, offline, adaptMissing] = await Promise.all([
      avvp(['fetch']),
      avvp(['fetch', 'clip-huge']),
      avvp(['fetch', 'clip-vit-b32-vision', '--retries', 'many']),
      avvp(['list', '--dir', join(dir, 'absent')]),
      refusedUrl().then((url) =>
        avvp(['fetch', 'clip-vit-b32-vision', '--dir', join(dir, 'o'), '--mirror', url]),
      ),
      avvp(['adapt', 'clip-vit-b32-vision', '--dir', join(dir, 'o')]),
    ]);
    expect(adaptMissing.code).toBe(1);
    expect(adaptMissing.stderr).toMatch(/clip-vit-b32-vision\.json: cannot read manifest \(ENOENT\)/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/avvp models: name the export\(s\) to fetch: clip-vit-b32-vision, /);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown model 'clip-huge'; known exports: /);
    expect(badFlag.stderr).toMatch(/--retries must be a number, got 'many'/);
    expect(missingDir.code).toBe(1);
    expect(missingDir.stderr).toMatch(/model directory '.*absent' does not exist/);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(
      /avvp models: clip-vit-b32-vision: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\): this machine looks offline/,
    );
  });
});
