// What the runtime runs, read from a model directory's manifests: the parser head (kind `parser`),
// the encoders the registry paired with it, and everything derived from them: the ingest format
// (sample rate, fps, frame size), the window size T, the head's tensor names, its classes and its
// decision thresholds. Nothing is hard-wired to one head: any parser with the parse operator's I/O
// contract (inputs [batch, T, D] per modality, outputs [batch, T, C] probabilities) works.
import { fileURLToPath } from 'node:url';
import {
  EncoderChoiceError,
  chooseEncoders,
  type AudioEncoderSpec,
  type IngestFormat,
  type VisualEncoderSpec,
} from '../models/encoders/index.js';
import type { ModelManifest, TensorSpec } from '../models/manifest.js';
import { listProblems, loadModelDir } from '../models/registry.js';
import type { Thresholds } from '../operators/decodeEvents.js';
import type { OnnxHeadIo } from '../operators/onnxHead.js';

/** The package's own models/ folder (bundled encoders and the trained head). */
export const BUNDLED_MODEL_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

/** The directory cannot be served: the message says what is wrong and what to do. */
export class RuntimeModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeModelError';
  }
}

export interface RuntimeModels {
  dir: string;
  head: ModelManifest;
  /** Pool model name -> ONNX file. */
  files: { audio: string; visual: string; head: string };
  io: OnnxHeadIo;
  classes: string[];
  /** Window size T the head was exported with. */
  window: number;
  classThresholds: Record<string, Thresholds>;
  /** What the Segment runners feed the encoders (tensor names, one-second layout, sizes). */
  encoders: { audio: AudioEncoderSpec; visual: VisualEncoderSpec };
  /** How sources must be decoded for the encoders. */
  ingest: IngestFormat;
}

/** Hysteresis below the manifest's decision threshold: an event stays open down to 60 % of it. */
export const OFF_RATIO = 0.6;

/**
 * Loads `dir` and chooses the head: `headName` when given, else the only parser there (or the
 * first by name when there are several, which is reported through `note`).
 */
export async function loadRuntimeModels(
  dir: string,
  headName?: string,
  note: (line: string) => void = () => {},
): Promise<RuntimeModels> {
  let directory;
  try {
    directory = await loadModelDir(dir);
  } catch (err) {
    throw new RuntimeModelError((err as Error).message);
  }
  const parsers = directory.models.filter((m) => m.manifest.kind === 'parser');
  const wanted = headName ? parsers.filter((m) => m.manifest.name === headName) : parsers;
  if (wanted.length === 0) {
    const have = parsers.map((m) => m.manifest.name).join(', ');
    throw new RuntimeModelError(
      headName
        ? `no parser named '${headName}' in ${dir}${have ? ` (parsers: ${have})` : ''}`
        : `no parser head (a manifest of kind "parser") in ${dir}: train one with ` +
            `'avvp train link --synth train=2000,val=200 --out ${dir}'${problemsSuffix(listProblems(directory))}`,
    );
  }
  if (!headName && wanted.length > 1)
    note(`${dir} has ${wanted.length} parsers; using '${wanted[0].manifest.name}' (choose with --head)`);
  const head = wanted[0];
  let chosen;
  try {
    chosen = chooseEncoders(directory, head.manifest.name);
  } catch (err) {
    throw err instanceof EncoderChoiceError ? new RuntimeModelError(err.message) : err;
  }
  if (head.status !== 'ok') throw new RuntimeModelError(head.problem ?? `${head.filePath}: ${head.status}`);
  return {
    dir,
    head: head.manifest,
    files: { audio: chosen.audio.filePath, visual: chosen.visual.filePath, head: head.filePath },
    ...headContract(head.manifest),
    encoders: chosen.specs,
    ingest: chosen.ingest,
  };
}

function problemsSuffix(problems: string[]): string {
  return problems.length === 0 ? '' : `. Problems: ${problems.join(' ')}`;
}

/** Tensor names, window size, classes and thresholds of a parser, checked against the contract. */
export function headContract(
  m: ModelManifest,
): Pick<RuntimeModels, 'io' | 'classes' | 'window' | 'classThresholds'> {
  const fail = (why: string) => {
    throw new RuntimeModelError(`parser '${m.name}': ${why}`);
  };
  if (!m.classes || m.classes.length === 0) fail('the manifest lists no "classes"');
  const audioDim = m.features?.audio;
  const visualDim = m.features?.visual;
  if (audioDim === undefined || visualDim === undefined)
    fail('the manifest must declare features.audio and features.visual');
  const input = (dim: number, modality: string) =>
    m.inputs.find((t) => t.shape.length === 3 && t.shape[2] === dim && t.name.includes(modality)) ??
    fail(`no input [batch, T, ${dim}] named like '${modality}' (inputs: ${describe(m.inputs)})`);
  const output = (modality: string) =>
    m.outputs.find((t) => t.shape.length === 3 && t.name.startsWith(modality)) ??
    fail(`no output [batch, T, classes] named like '${modality}_prob' (outputs: ${describe(m.outputs)})`);
  const a = input(audioDim!, 'audio')!;
  const v = input(visualDim!, 'visual')!;
  const window = a.shape[1];
  if (typeof window !== 'number' || window !== v.shape[1])
    fail(`inputs must share a fixed window size T, got ${a.shape[1]} and ${v.shape[1]}`);
  const classes = m.classes!;
  const threshold = (label: string) =>
    typeof m.thresholds === 'number' ? m.thresholds : (m.thresholds?.[label] ?? 0.5);
  const classThresholds = Object.fromEntries(
    classes.map((label) => {
      const on = threshold(label);
      return [label, { on, off: on * OFF_RATIO }];
    }),
  );
  return {
    io: {
      audioInput: a.name,
      visualInput: v.name,
      audioDim: audioDim!,
      visualDim: visualDim!,
      audioOutput: output('audio')!.name,
      visualOutput: output('visual')!.name,
    },
    classes,
    window: window as number,
    classThresholds,
  };
}

function describe(specs: TensorSpec[]): string {
  return specs.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
}
