// The parser model as exported for the runtime: graph I/O names and shapes, outputs that are
// probabilities, the ablation flags removing exactly their module, and config checks.
import { describe, expect, it } from 'vitest';
import {
  LINK_MODULES,
  PARSER_IO,
  parseAblations,
  parserConfig,
  parserSpec,
  withAblations,
  type ParserConfig,
} from '../../../src/models/parsers/index.js';
import { openSession, ortTensor } from '../../../src/engine/session.js';
import { exportModel } from '../../../src/models/export.js';
import { buildInferenceGraph, buildTrainingStep } from '../../../src/engine/step.js';
import { Rng } from '../../../src/util/rng.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tmp = tempDirs('parser-export-');

const tiny = (kind: 'han' | 'link', modules?: Partial<ParserConfig['modules']>) => {
  const base = parserConfig(kind, {
    audioDim: 6,
    visualDim: 5,
    hidden: 8,
    heads: 2,
    ffn: 8,
    layers: 1,
    classEmbedding: 4,
  });
  return { ...base, modules: { ...base.modules, ...modules } };
};

describe('exported parser graphs', () => {
  for (const kind of ['han', 'link'] as const) {
    it(`${kind}: inputs audio/visual [batch, 10, D], outputs video [batch, 25] and audio_prob/visual_prob [batch, 10, 25]`, async () => {
      const spec = parserSpec(tiny(kind), { name: `${kind}-tiny`, seed: 3 });
      const params = new Map(
        [...buildInferenceGraph(spec).initializers.values()]
          .filter((i) => i.trainable)
          .map((i) => [i.name, i.data]),
      );
      const dir = await tmp();
      const exported = await exportModel(spec, params as Map<string, Float32Array>, {
        dir,
        manifest: { kind: 'parser', version: '1' },
      });
      expect(exported.manifest.inputs).toEqual([
        { name: PARSER_IO.audio, dtype: 'float32', shape: ['batch', 10, 6] },
        { name: PARSER_IO.visual, dtype: 'float32', shape: ['batch', 10, 5] },
      ]);
      expect(exported.manifest.outputs).toEqual([
        { name: PARSER_IO.video, dtype: 'float32', shape: ['batch', 25] },
        { name: PARSER_IO.audioProb, dtype: 'float32', shape: ['batch', 10, 25] },
        { name: PARSER_IO.visualProb, dtype: 'float32', shape: ['batch', 10, 25] },
      ]);
      const { session } = await openSession(exported.onnxPath, { providers: ['cpu'] });
      const rng = new Rng(1);
      const batch = 3;
      const feed = (d: number) =>
        ortTensor(
          'float32',
          Float32Array.from({ length: batch * 10 * d }, () => rng.normal()),
          [batch, 10, d],
        );
      const out = await session.run({ audio: feed(6), visual: feed(5) });
      expect(out.video.dims).toEqual([batch, 25]);
      expect(out.audio_prob.dims).toEqual([batch, 10, 25]);
      expect(out.visual_prob.dims).toEqual([batch, 10, 25]);
      for (const name of ['video', 'audio_prob', 'visual_prob']) {
        for (const x of out[name].data as Float32Array) expect(x >= 0 && x <= 1).toBe(true);
      }
    });
  }
});

describe('module switches', () => {
  const paramNames = (c: ParserConfig) =>
    [...buildInferenceGraph(parserSpec(c, { name: 'm', seed: 1 })).initializers.values()]
      .filter((i) => i.trainable)
      .map((i) => i.name);
  const scopeOf: Record<string, string> = { tsam: 'tsam.', interaction: 'interaction.', plsim: 'plsim.' };

  it('each ablation removes exactly its module', () => {
    const all = paramNames(tiny('link'));
    for (const prefix of Object.values(scopeOf)) expect(all.some((n) => n.startsWith(prefix))).toBe(true);
    for (const m of ['tsam', 'interaction', 'plsim'] as const) {
      const names = paramNames(tiny('link', { [m]: false }));
      expect(names.some((n) => n.startsWith(scopeOf[m]))).toBe(false);
      expect(names).toEqual(all.filter((n) => !n.startsWith(scopeOf[m])));
    }
  });

  it('S-LOSS lives in the loss: off removes the similarity term and mu', () => {
    const terms = (c: ParserConfig) => buildTrainingStep(parserSpec(c, { name: 'm', seed: 1 }));
    const on = terms(tiny('link'));
    expect(on.terms).toEqual(['clip', 'segment_audio', 'segment_visual', 'first_pass', 'similarity']);
    expect(on.params.map((p) => p.name)).toContain('loss.sloss.mu');
    const off = terms(tiny('link', { sloss: false }));
    expect(off.terms).not.toContain('similarity');
    expect(off.params.map((p) => p.name)).not.toContain('loss.sloss.mu');
  });

  it('HAN is LINK with every module off; both modalities share each layer', () => {
    const han = paramNames(tiny('han'));
    const allOff = paramNames(tiny('link', { tsam: false, interaction: false, plsim: false, sloss: false }));
    expect(allOff).toEqual(han);
    expect(han.filter((n) => n.startsWith('layers.0.cross.q.'))).toEqual([
      'layers.0.cross.q.weight',
      'layers.0.cross.q.bias',
    ]);
    expect(han.some((n) => n.startsWith('layers.1.'))).toBe(false);
  });

  it('parseAblations/withAblations', () => {
    expect(parseAblations('tsam, sloss')).toEqual(['tsam', 'sloss']);
    expect(parseAblations('')).toEqual([]);
    expect(() => parseAblations('tsam,attention')).toThrow(
      `unknown LINK module 'attention' to ablate; choose from ${LINK_MODULES.join(', ')}`,
    );
    expect(withAblations(tiny('link').modules, ['plsim'])).toEqual({
      tsam: true,
      interaction: true,
      plsim: false,
      sloss: true,
    });
  });

  it('rejects bad configurations with the field named', () => {
    const dims = { audioDim: 6, visualDim: 5 };
    expect(() => parserConfig('link', { ...dims, hidden: 10, heads: 4 })).toThrow(
      'hidden 10 is not divisible by 4 heads',
    );
    expect(() => parserConfig('link', { ...dims, audioDim: 0 })).toThrow(
      'audioDim must be a positive integer',
    );
    expect(() => parserConfig('link', { ...dims, dropout: 1 })).toThrow('dropout must be in [0, 1)');
    expect(() =>
      parserConfig('han', {
        ...dims,
        modules: { tsam: true, interaction: false, plsim: false, sloss: false },
      }),
    ).toThrow('HAN has no LINK modules');
    const stats = { mean: [0, 0], std: [1, 1] };
    expect(() => parserConfig('link', { ...dims, inputStats: { audio: stats, visual: stats } })).toThrow(
      'audio input stats need 6 means and 6 positive stds',
    );
  });
});
