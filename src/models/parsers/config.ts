// Configuration of the window-level parsers (HAN/VALOR++ backbone and LINK). One config describes
// a model completely: sizes, which LINK modules are on, and the loss settings. HAN is LINK with
// every LINK module switched off, so each ablation is one flag.
//
// Public API: ParserConfig, LinkModules, LINK_MODULES, VALOR_PP_SIZES, BUNDLED_SIZES,
// parserConfig(kind, overrides), parseAblations(text).

export const LINK_MODULES = ['tsam', 'interaction', 'plsim', 'sloss'] as const;
export type LinkModule = (typeof LINK_MODULES)[number];
export type LinkModules = Record<LinkModule, boolean>;

export interface BackboneSizes {
  /** Width of every segment feature after the input projections. */
  hidden: number;
  heads: number;
  /** Hidden width of the feed-forward block. */
  ffn: number;
  /** Hybrid-attention layers (one set of weights per layer, shared by the two modalities). */
  layers: number;
  dropout: number;
}

export interface ParserConfig extends BackboneSizes {
  kind: 'han' | 'link';
  /** Segments per window (LLP: 10 one-second segments). */
  segments: number;
  classes: number;
  audioDim: number;
  visualDim: number;
  modules: LinkModules;
  /** Width of the learned class-embedding table that PLSIM reads. */
  classEmbedding: number;
  /** Reduction ratio of TSAM's temporal MLP (segments -> segments / ratio -> segments). */
  tsamReduction: number;
  /**
   * Per-dimension standardisation of the raw encoder features, measured on the training set and
   * built into the graph as constants, so the exported model takes the encoders' output as is.
   */
  inputStats?: { audio: FeatureStats; visual: FeatureStats };
}

export interface FeatureStats {
  mean: number[];
  std: number[];
}

/** VALOR++ (Franklin905/VALOR): hidden 256, 8 heads, FFN 1024, 4 layers. */
export const VALOR_PP_SIZES: BackboneSizes = { hidden: 256, heads: 8, ffn: 1024, layers: 4, dropout: 0.1 };

/**
 * The bundled SynthAV model: the DSP features are a few hundred hand-made dimensions of 10 classes
 * rendered procedurally, and a few thousand training clips (what a 2-core machine encodes and
 * trains on in minutes) cannot fit VALOR++'s 3.6 M parameters without over-fitting. 64 wide with
 * 4 heads and 2 layers is about 1/40 of that and trains in seconds per epoch.
 */
export const BUNDLED_SIZES: BackboneSizes = { hidden: 64, heads: 4, ffn: 128, layers: 2, dropout: 0.1 };

const ALL_ON: LinkModules = { tsam: true, interaction: true, plsim: true, sloss: true };
const ALL_OFF: LinkModules = { tsam: false, interaction: false, plsim: false, sloss: false };

export function parserConfig(
  kind: 'han' | 'link',
  overrides: Partial<Omit<ParserConfig, 'kind'>> & Pick<ParserConfig, 'audioDim' | 'visualDim'>,
): ParserConfig {
  const config: ParserConfig = {
    kind,
    segments: 10,
    classes: 25,
    ...BUNDLED_SIZES,
    classEmbedding: 32,
    tsamReduction: 2,
    ...overrides,
    modules: { ...(kind === 'link' ? ALL_ON : ALL_OFF), ...overrides.modules },
  };
  checkConfig(config);
  return config;
}

function checkConfig(c: ParserConfig): void {
  const positive = [
    'segments',
    'classes',
    'audioDim',
    'visualDim',
    'hidden',
    'heads',
    'ffn',
    'classEmbedding',
    'tsamReduction',
  ] as const;
  for (const key of positive) {
    if (!Number.isInteger(c[key]) || c[key] < 1)
      throw new RangeError(`parser config: ${key} must be a positive integer, got ${c[key]}`);
  }
  if (!Number.isInteger(c.layers) || c.layers < 0)
    throw new RangeError(`parser config: layers must be an integer >= 0, got ${c.layers}`);
  if (c.hidden % c.heads !== 0)
    throw new RangeError(`parser config: hidden ${c.hidden} is not divisible by ${c.heads} heads`);
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new RangeError(`parser config: dropout must be in [0, 1), got ${c.dropout}`);
  for (const m of ['audio', 'visual'] as const) {
    const stats = c.inputStats?.[m];
    const dim = m === 'audio' ? c.audioDim : c.visualDim;
    if (stats && (stats.mean.length !== dim || stats.std.length !== dim || stats.std.some((x) => !(x > 0)))) {
      throw new RangeError(`parser config: ${m} input stats need ${dim} means and ${dim} positive stds`);
    }
  }
  if (c.kind === 'han' && Object.values(c.modules).some(Boolean)) {
    throw new RangeError('parser config: HAN has no LINK modules; use kind link to switch them on');
  }
}

/** 'tsam,plsim' -> the LINK modules to switch off; names are checked. */
export function parseAblations(text: string): LinkModule[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if (!(LINK_MODULES as readonly string[]).includes(n)) {
      throw new RangeError(`unknown LINK module '${n}' to ablate; choose from ${LINK_MODULES.join(', ')}`);
    }
  }
  return names as LinkModule[];
}

/** The module switches with `off` switched off. */
export function withAblations(modules: LinkModules, off: readonly LinkModule[]): LinkModules {
  const out = { ...modules };
  for (const m of off) out[m] = false;
  return out;
}
