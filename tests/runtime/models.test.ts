// Choosing the head and deriving the runtime's contract from a model directory's manifests.
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatManifest, type ModelManifest } from '../../src/models/manifest.js';
import { sha256File } from '../../src/util/sha256.js';
import { BUNDLED_MODEL_DIR, headContract, loadRuntimeModels } from '../../src/runtime/models.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-runtime-models-');

const AUDIO = 296;
const VISUAL = 91;

function parser(name: string, over: Partial<ModelManifest> = {}): ModelManifest {
  return {
    name,
    kind: 'parser',
    version: '1',
    file: `${name}.onnx`,
    sha256: '0'.repeat(64),
    inputs: [
      { name: 'audio', dtype: 'float32', shape: ['batch', 10, AUDIO] },
      { name: 'visual', dtype: 'float32', shape: ['batch', 10, VISUAL] },
    ],
    outputs: [
      { name: 'video', dtype: 'float32', shape: ['batch', 3] },
      { name: 'audio_prob', dtype: 'float32', shape: ['batch', 10, 3] },
      { name: 'visual_prob', dtype: 'float32', shape: ['batch', 10, 3] },
    ],
    classes: ['Speech', 'Dog', 'Car'],
    thresholds: { Speech: 0.5, Dog: 0.4, Car: 0.6 },
    features: { audio: AUDIO, visual: VISUAL },
    ...over,
  };
}

/** A model folder with the bundled encoders and the given parser manifests (any bytes as their file). */
async function folder(...heads: ModelManifest[]): Promise<string> {
  const dir = await tmp();
  for (const f of ['dsp-audio.json', 'dsp-audio.onnx', 'dsp-visual.json', 'dsp-visual.onnx'])
    await copyFile(join(BUNDLED_MODEL_DIR, f), join(dir, f));
  for (const head of heads) {
    const file = join(dir, head.file);
    await writeFile(file, `stand-in bytes of ${head.name}`);
    await writeFile(
      join(dir, `${head.name}.json`),
      formatManifest({ ...head, sha256: await sha256File(file) }),
    );
  }
  return dir;
}

describe('runtime models', () => {
  it('derives tensor names, window, classes and hysteresis thresholds from the manifest', () => {
    expect(headContract(parser('p'))).toEqual({
      io: {
        audioInput: 'audio',
        visualInput: 'visual',
        audioDim: AUDIO,
        visualDim: VISUAL,
        audioOutput: 'audio_prob',
        visualOutput: 'visual_prob',
      },
      classes: ['Speech', 'Dog', 'Car'],
      window: 10,
      classThresholds: {
        Speech: { on: 0.5, off: 0.3 },
        Dog: { on: 0.4, off: expect.closeTo(0.24, 10) },
        Car: { on: 0.6, off: expect.closeTo(0.36, 10) },
      },
    });
  });

  it.each([
    [{ classes: undefined }, /parser 'p': the manifest lists no "classes"/],
    [{ features: { audio: AUDIO } }, /must declare features.audio and features.visual/],
    [{ features: { audio: 128, visual: VISUAL } }, /no input \[batch, T, 128\] named like 'audio'/],
    [
      { outputs: [{ name: 'video', dtype: 'float32' as const, shape: ['batch', 3] }] },
      /no output \[batch, T, classes\] named like 'audio_prob' \(outputs: video \[batch, 3\]\)/,
    ],
    [
      {
        inputs: [
          { name: 'audio', dtype: 'float32' as const, shape: ['batch', 'T', AUDIO] },
          { name: 'visual', dtype: 'float32' as const, shape: ['batch', 'T', VISUAL] },
        ],
      },
      /inputs must share a fixed window size T, got T and T/,
    ],
  ])('refuses a head that breaks the contract: %j', (over, message) => {
    expect(() => headContract(parser('p', over as Partial<ModelManifest>))).toThrow(message);
  });

  it('picks the only parser with its encoders, or the named one, and reports the choice', async () => {
    const dir = await folder(parser('alpha'), parser('beta'));
    const notes: string[] = [];
    const chosen = await loadRuntimeModels(dir, undefined, (l) => notes.push(l));
    expect(chosen.head.name).toBe('alpha');
    expect(notes).toEqual([`${dir} has 2 parsers; using 'alpha' (choose with --head)`]);
    expect(chosen.files).toEqual({
      audio: join(dir, 'dsp-audio.onnx'),
      visual: join(dir, 'dsp-visual.onnx'),
      head: join(dir, 'alpha.onnx'),
    });
    expect(chosen.ingest).toEqual({ sampleRate: 16000, fps: 8, width: 224, height: 224, centreCrop: false });
    expect((await loadRuntimeModels(dir, 'beta')).head.name).toBe('beta');
    await expect(loadRuntimeModels(dir, 'gamma')).rejects.toThrow(
      /no parser named 'gamma' in .* \(parsers: alpha, beta\)/,
    );
  });

  it('refuses a directory without a usable head, naming the problem', async () => {
    await expect(loadRuntimeModels(await folder())).rejects.toThrow(
      /no parser head \(a manifest of kind "parser"\) in .*: train one with 'avvp train link/,
    );
    const mismatched = await folder(parser('wide', { features: { audio: 512, visual: VISUAL } }));
    await expect(loadRuntimeModels(mismatched)).rejects.toThrow(
      /parser 'wide' in .* has no audio and visual encoder to feed it\. Problems: .*512-d audio features/,
    );
    await expect(loadRuntimeModels('/no/such/models')).rejects.toThrow(
      /model directory '\/no\/such\/models' does not exist/,
    );
  });
});
