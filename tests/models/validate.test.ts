import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest, TensorSpec } from '../../src/models/manifest.js';
import { Graph } from '../../src/engine/onnx/builder.js';
import { ModelValidationError, validateModelFile } from '../../src/models/validate.js';
import { clipVisionLike } from './fixtures/tiny-exports.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('avvp-validate-');

type Io = Pick<ModelManifest, 'inputs' | 'outputs'>;
const clipIo: Io = {
  inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['batch', 3, 224, 224] }],
  outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['batch', 512] }],
};

let dir: string;
let clip: string;
beforeAll(async () => {
  dir = await tmp();
  clip = join(dir, 'clip.onnx');
  await writeFile(clip, clipVisionLike());
});

async function problems(file: string, io: Io): Promise<string[]> {
  const err = await validateModelFile(file, io).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelValidationError);
  return (err as ModelValidationError).problems;
}

function withInput(spec: Partial<TensorSpec>): Io {
  return { ...clipIo, inputs: [{ ...clipIo.inputs[0], ...spec }] };
}

describe('validateModelFile', () => {
  it('accepts a file that matches, with numeric manifest dims on symbolic file dims', async () => {
    await expect(validateModelFile(clip, clipIo)).resolves.toBeUndefined();
    await expect(
      validateModelFile(clip, {
        ...clipIo,
        outputs: [{ name: 'image_embeds', dtype: 'float32', shape: [4, 512] }],
      }),
    ).resolves.toBeUndefined();
  });

  it('names each mismatch in names, dtypes, ranks and dims', async () => {
    expect(await problems(clip, withInput({ name: 'pixels' }))).toEqual([
      "input 'pixels' is missing from the file (it has 'pixel_values')",
      "the file has input 'pixel_values', which the manifest does not list (the runtime would not feed it)",
    ]);
    expect(await problems(clip, withInput({ dtype: 'uint8' }))).toEqual([
      "input 'pixel_values' is float32 in the file, uint8 in the manifest",
    ]);
    expect(await problems(clip, withInput({ shape: ['batch', 3, 224] }))).toEqual([
      "input 'pixel_values' has rank 4 [batch_size,3,224,224] in the file, 3 [batch,3,224] in the manifest",
    ]);
    expect(await problems(clip, withInput({ shape: ['batch', 3, 256, 'width'] }))).toEqual([
      "input 'pixel_values' dimension 2 is 224 in the file, 256 in the manifest",
      "input 'pixel_values' dimension 3 is fixed to 224 in the file, but the manifest's 'width' varies",
    ]);
    expect(
      await problems(clip, {
        ...clipIo,
        outputs: [{ name: 'audio_embeds', dtype: 'float32', shape: ['batch', 512] }],
      }),
    ).toEqual(["output 'audio_embeds' is missing from the file (it has 'image_embeds')"]);
  });

  it('puts the file name and the way out in the message', async () => {
    const err = await validateModelFile(clip, withInput({ name: 'pixels' })).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /clip\.onnx does not match its manifest:\n {2}input 'pixels' is missing/,
    );
    expect((err as Error).message).toMatch(/Use the ONNX file the manifest was written for/);
  });

  it('reports an input of the file that the manifest does not feed', async () => {
    const g = new Graph({ seed: 3 });
    const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
    const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
    g.output(g.cast(g.mul(ids, mask), 'float32'), 'text_embeds');
    const file = join(dir, 'text.onnx');
    await writeFile(file, g.toBytes());
    const io: Io = {
      inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }],
      outputs: [{ name: 'text_embeds', dtype: 'float32', shape: ['batch', 'sequence'] }],
    };
    expect(await problems(file, io)).toEqual([
      "the file has input 'attention_mask', which the manifest does not list (the runtime would not feed it)",
    ]);
  });

  it('gives a clear error for missing, empty, truncated and non-ONNX files', async () => {
    const bytes = clipVisionLike();
    const cases: [string, Uint8Array | null, RegExp][] = [
      ['absent.onnx', null, /absent\.onnx does not exist/],
      ['empty.onnx', new Uint8Array(0), /empty\.onnx is empty; re-export or re-download/],
      [
        'truncated.onnx',
        bytes.subarray(0, Math.floor(bytes.length / 2)),
        /truncated\.onnx is not a valid ONNX file/,
      ],
      ['text.onnx', new TextEncoder().encode('<html>404 Not Found</html>'), /text\.onnx is not/],
    ];
    for (const [name, content, message] of cases) {
      const file = join(dir, name);
      if (content) await writeFile(file, content);
      const found = await problems(file, clipIo);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(message);
    }
  });
});
