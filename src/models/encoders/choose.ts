// The one way to decide which encoders run and how they are fed, used by the live runtime, feature
// extraction and training alike. A head's encoders are the ones the registry paired with it; with
// no head (extraction, training a new head) the folder must hold exactly one encoder per modality.
// The encoders' Segment contracts (tensor names, one-second layout) come from their manifests, and
// so does the ingest format sources must be decoded in.
//
//   const chosen = chooseEncoders(await loadModelDir('models'));       // or (directory, 'link')
//   const encode = segmentEncoders(chosen, { audio: runA, visual: runV });

import { listProblems, type ModelDirectory, type ModelEntry } from '../registry.js';
import type { ModelKind } from '../manifest.js';
import type { RunModel, Segment } from '../../types.js';
import { segmentAudioEncoder, segmentVisualEncoder, type SegmentVisualEncoding } from './run.js';
import {
  EncoderSpecError,
  audioEncoderSpec,
  ingestFormat,
  visualEncoderSpec,
  type AudioEncoderSpec,
  type IngestFormat,
  type VisualEncoderSpec,
} from './spec.js';

/** The folder has no usable pair of encoders; the message says what is wrong and what to do. */
export class EncoderChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderChoiceError';
  }
}

export interface ChosenEncoders {
  audio: ModelEntry;
  visual: ModelEntry;
  specs: { audio: AudioEncoderSpec; visual: VisualEncoderSpec };
  /** How sources must be decoded for these encoders. */
  ingest: IngestFormat;
}

/**
 * The audio and visual encoders of a loaded model directory: those paired with the parser `head`
 * when one is named, else the only encoder of each kind. Each must have a verified file.
 */
export function chooseEncoders(directory: ModelDirectory, head?: string): ChosenEncoders {
  const { audio, visual } = head === undefined ? onlyEncoders(directory) : pairedEncoders(directory, head);
  try {
    const specs = { audio: audioEncoderSpec(audio.manifest), visual: visualEncoderSpec(visual.manifest) };
    return { audio, visual, specs, ingest: ingestFormat(specs.audio, specs.visual) };
  } catch (err) {
    throw err instanceof EncoderSpecError ? new EncoderChoiceError(err.message) : err;
  }
}

/** Segment encoders for the chosen pair, each run through its own RunModel (pool or session). */
export function segmentEncoders(
  chosen: ChosenEncoders,
  run: { audio: RunModel; visual: RunModel },
): {
  audio: (segments: readonly Segment[]) => Promise<Float32Array[]>;
  visual: (segments: readonly Segment[]) => Promise<SegmentVisualEncoding[]>;
} {
  return {
    audio: segmentAudioEncoder(run.audio, chosen.specs.audio),
    visual: segmentVisualEncoder(run.visual, chosen.specs.visual),
  };
}

function pairedEncoders(directory: ModelDirectory, head: string): { audio: ModelEntry; visual: ModelEntry } {
  const pairing = directory.pairings.find((p) => p.head === head);
  if (!pairing?.audio || !pairing.visual) {
    const problems = listProblems(directory).filter((line) => line.includes(`'${head}'`));
    throw new EncoderChoiceError(
      `parser '${head}' in ${directory.dir} has no audio and visual encoder to feed it` +
        (problems.length === 0 ? '' : `. Problems: ${problems.join(' ')}`),
    );
  }
  const entry = (name: string) => usable(directory.models.find((m) => m.manifest.name === name)!);
  return { audio: entry(pairing.audio), visual: entry(pairing.visual) };
}

function onlyEncoders(directory: ModelDirectory): { audio: ModelEntry; visual: ModelEntry } {
  const only = (kind: ModelKind) => {
    const found = directory.models.filter((m) => m.manifest.kind === kind);
    if (found.length === 0)
      throw new EncoderChoiceError(
        `no ${kind} manifest in '${directory.dir}'; use the bundled models folder or build it with 'npm run models:build'`,
      );
    if (found.length > 1)
      throw new EncoderChoiceError(
        `'${directory.dir}' has ${found.length} ${kind}s (${found.map((m) => m.manifest.name).join(', ')}); ` +
          'pass a model folder with exactly one audio and one visual encoder',
      );
    return usable(found[0]);
  };
  return { audio: only('audio-encoder'), visual: only('visual-encoder') };
}

function usable(entry: ModelEntry): ModelEntry {
  if (entry.status !== 'ok')
    throw new EncoderChoiceError(entry.problem ?? `${entry.filePath} cannot be used (${entry.status})`);
  return entry;
}
