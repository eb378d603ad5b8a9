// The bundled LINK parser in models/: its file matches its manifest, it pairs with exactly the
// bundled DSP encoders it was trained on (a changed encoder would show up here), and on SynthAV
// test clips it parses far better than chance.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { evaluateLlp } from '../../../src/eval/llp.js';
import { readManifest } from '../../../src/models/manifest.js';
import { PARSER_IO } from '../../../src/models/parsers/index.js';
import { loadModelDir } from '../../../src/models/registry.js';
import { openSession, ortTensor } from '../../../src/engine/session.js';
import { sessionRunner } from '../../../src/models/encoders/index.js';
import { onnxWindowHead } from '../../../src/operators/onnxHead.js';
import type { Features } from '../../../src/types.js';
import { openEncoders, synthSplit } from '../../../src/train/parser.js';
import { Rng } from '../../../src/util/rng.js';

describe('models/link-synthav', () => {
  it('matches its manifest and pairs with the bundled DSP encoders', async () => {
    const dir = await loadModelDir('models');
    const entry = dir.models.find((m) => m.manifest.name === 'link-synthav');
    expect(entry?.status).toBe('ok');
    const m = entry!.manifest;
    expect(m.kind).toBe('parser');
    expect(m.encoders).toEqual({ audio: 'dsp-audio', visual: 'dsp-visual' });
    const audio = await readManifest('models/dsp-audio.json');
    const visual = await readManifest('models/dsp-visual.json');
    const width = (outputs: typeof audio.outputs, name: string) =>
      outputs.find((o) => o.name === name)!.shape[1];
    expect(m.inputs).toEqual([
      {
        name: PARSER_IO.audio,
        dtype: 'float32',
        shape: ['batch', 10, width(audio.outputs, 'audio_features')],
      },
      {
        name: PARSER_IO.visual,
        dtype: 'float32',
        shape: ['batch', 10, width(visual.outputs, 'visual_features')],
      },
    ]);
    expect(m.outputs.map((o) => o.name)).toEqual([
      PARSER_IO.video,
      PARSER_IO.audioProb,
      PARSER_IO.visualProb,
    ]);
    expect(dir.pairings).toContainEqual({ head: 'link-synthav', audio: 'dsp-audio', visual: 'dsp-visual' });
    expect(dir.compatibility.filter((p) => p.includes('link-synthav'))).toEqual([]);
    expect(m.metrics!.val_seg_type).toBeGreaterThan(50);
    expect((await readFile('models/link-synthav.onnx')).length).toBeLessThan(2_000_000);
  });

  it('parses held-out SynthAV clips well above a random predictor', async () => {
    const test = await synthSplit({
      seed: 99,
      split: 'test',
      clips: 6,
      preset: 'default',
      encode: await openEncoders('models'),
    });
    const { session } = await openSession('models/link-synthav.onnx', { providers: ['cpu'] });
    const n = test.filenames.length;
    const out = await session.run({
      audio: ortTensor('float32', test.audio, [n, 10, test.audioDim]),
      visual: ortTensor('float32', test.visual, [n, 10, test.visualDim]),
    });
    const slice = (name: string, per: number, i: number) =>
      (out[name].data as Float32Array).slice(i * per, (i + 1) * per);
    const model = evaluateLlp(
      test.truth!.map((truth, i) => ({
        prediction: {
          video: slice('video', 25, i),
          audio: slice('audio_prob', 250, i),
          visual: slice('visual_prob', 250, i),
        },
        truth,
      })),
    );
    const rng = new Rng(3);
    const random = (k: number) => Float32Array.from({ length: k }, () => rng.next());
    const chance = evaluateLlp(
      test.truth!.map((truth) => ({
        prediction: { video: random(25), audio: random(250), visual: random(250) },
        truth,
      })),
    );
    expect(model.segment.type).toBeGreaterThan(3 * chance.segment.type);
  }, 60_000);

  it("runs as the runtime's window head (onnxWindowHead with the manifest's I/O names)", async () => {
    const m = await readManifest('models/link-synthav.json');
    const [audioDim, visualDim] = m.inputs.map((i) => i.shape[2] as number);
    const { session } = await openSession('models/link-synthav.onnx', { providers: ['cpu'] });
    const head = onnxWindowHead(sessionRunner(session), {
      audioInput: PARSER_IO.audio,
      visualInput: PARSER_IO.visual,
      audioOutput: PARSER_IO.audioProb,
      visualOutput: PARSER_IO.visualProb,
      audioDim,
      visualDim,
    });
    const rng = new Rng(4);
    const items: Features[] = Array.from({ length: 10 }, (_, k) => ({
      stream: 's',
      index: k,
      t0: k,
      t1: k + 1,
      wallclock: k * 1000,
      audio: Float32Array.from({ length: audioDim }, () => rng.normal()),
      // the 4th segment has no video: the head is fed zeros for it
      ...(k === 3 ? {} : { visual: Float32Array.from({ length: visualDim }, () => rng.normal()) }),
    }));
    const [probs] = await head([{ stream: 's', items, valid: 10, restarted: true }]);
    expect(probs.audio.length).toBe(10 * 25);
    expect(probs.visual.length).toBe(10 * 25);
    for (const x of [...probs.audio, ...probs.visual]) expect(x >= 0 && x <= 1).toBe(true);
  });
});
