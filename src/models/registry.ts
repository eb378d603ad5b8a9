// The model directory: finds the manifests in a folder, checks each ONNX file against its
// manifest's sha256, and checks that every head can be fed by an encoder in the same folder
// (feature sizes, sample rate, fps). Everything wrong is collected and reported at once, each
// problem as one sentence naming the files concerned (see docs/models.md for the rules).
//
//   const dir = await loadModelDir('models');
//   for (const line of listProblems(dir)) console.error(line);
//   dir.pairings  // head -> the encoders that feed it
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError, readManifest, type ModelKind, type ModelManifest } from './manifest.js';
import { sha256File } from '../util/sha256.js';

/** 'invalid': loaded with `validate: true` and the file failed the onnxruntime check (validate.ts). */
export type FileStatus = 'ok' | 'missing' | 'sha256-mismatch' | 'unreadable' | 'unchecked' | 'invalid';

export interface ModelEntry {
  manifest: ModelManifest;
  manifestPath: string;
  /** The ONNX file: the manifest's `file` resolved against the manifest's folder. */
  filePath: string;
  /** 'unchecked' when loaded with `checkHashes: false` and the file exists. */
  status: FileStatus;
  /** Why the status is not 'ok', as a sentence. */
  problem?: string;
}

/** A head and the encoders chosen to feed it (names of manifests in the same directory). */
export interface Pairing {
  head: string;
  audio?: string;
  visual?: string;
}

export interface ModelDirectory {
  dir: string;
  /** Valid manifests, sorted by name. */
  models: ModelEntry[];
  /** Manifests that could not be read or broke a rule (including duplicate names). */
  invalid: { manifestPath: string; message: string }[];
  /** Heads for which every needed feature has a compatible encoder. */
  pairings: Pairing[];
  /** Compatibility problems between encoders and heads. */
  compatibility: string[];
}

/** The directory itself is unusable (absent, not a folder, unreadable). */
export class ModelDirError extends Error {}

export const HEAD_KINDS: readonly ModelKind[] = ['parser', 'localizer', 'embedder', 'classifier'];

/**
 * Loads every `*.json` manifest directly inside `dir`. With `checkHashes` (default) each model
 * file is hashed and compared with its manifest; large files make this take about a second per
 * 300 MB. With `validate`, each file is also opened with onnxruntime and checked against its
 * manifest's inputs and outputs.
 */
export async function loadModelDir(
  dir: string,
  opts: { checkHashes?: boolean; validate?: boolean } = {},
): Promise<ModelDirectory> {
  const checkHashes = opts.checkHashes ?? true;
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory())
      throw new ModelDirError(`model directory '${dir}' is not a directory`);
    names = await readdir(dir);
  } catch (err) {
    if (err instanceof ModelDirError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ModelDirError(
        `model directory '${dir}' does not exist: check the path, or create it with 'avvp models fetch <name> --dir ${dir}'`,
      );
    throw new ModelDirError(`cannot read model directory '${dir}' (${code ?? err})`);
  }

  const models: ModelEntry[] = [];
  const invalid: ModelDirectory['invalid'] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const manifestPath = join(dir, name);
    try {
      const manifest = await readManifest(manifestPath);
      const clash = models.find((m) => m.manifest.name === manifest.name);
      if (clash) {
        invalid.push({
          manifestPath,
          message: `${manifestPath}: name "${manifest.name}" is already used by ${clash.manifestPath}; model names must be unique in a directory`,
        });
        continue;
      }
      models.push(await checkFile(manifest, manifestPath, join(dir, manifest.file), checkHashes));
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      invalid.push({ manifestPath, message: err.message });
    }
  }
  models.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  if (opts.validate) await validateFiles(models);
  const { pairings, problems } = checkCompatibility(
    models.map((m) => m.manifest),
    dir,
  );
  return { dir, models, invalid, pairings, compatibility: problems };
}

async function checkFile(
  manifest: ModelManifest,
  manifestPath: string,
  filePath: string,
  checkHashes: boolean,
): Promise<ModelEntry> {
  const entry = { manifest, manifestPath, filePath };
  try {
    if (!(await stat(filePath)).isFile()) {
      return {
        ...entry,
        status: 'unreadable',
        problem: `${filePath} (named by ${manifestPath}) is not a file`,
      };
    }
    if (!checkHashes) return { ...entry, status: 'unchecked' };
    const actual = await sha256File(filePath);
    if (actual !== manifest.sha256) {
      return {
        ...entry,
        status: 'sha256-mismatch',
        problem:
          `${filePath} does not match ${manifestPath}: sha256 is ${actual}, the manifest says ${manifest.sha256}. ` +
          `The file is corrupt or was replaced: fetch or export it again.`,
      };
    }
    return { ...entry, status: 'ok' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return { ...entry, status: 'missing', problem: `${filePath} (named by ${manifestPath}) is missing` };
    }
    return { ...entry, status: 'unreadable', problem: `${filePath} cannot be read (${code ?? err})` };
  }
}

/**
 * Opens every intact file with onnxruntime and compares its I/O with the manifest (validate.ts);
 * a mismatch or an unloadable file sets status 'invalid'. Imported on demand so that listing a
 * directory without validation does not load onnxruntime.
 */
async function validateFiles(models: ModelEntry[]): Promise<void> {
  const { validateModelFile } = await import('./validate.js');
  for (const entry of models) {
    if (entry.status !== 'ok' && entry.status !== 'unchecked') continue;
    try {
      await validateModelFile(entry.filePath, entry.manifest);
    } catch (err) {
      entry.status = 'invalid';
      entry.problem = (err as Error).message.replace(/\n\s*/g, ' ');
    }
  }
}

/**
 * Pairs every head with encoders of the right feature sizes and rates. A head's `encoders`
 * field pins the encoder by name; otherwise the first compatible encoder by name is chosen.
 */
export function checkCompatibility(
  manifests: ModelManifest[],
  dir = 'the model directory',
): { pairings: Pairing[]; problems: string[] } {
  const problems: string[] = [];
  for (const m of manifests) {
    if (m.kind === 'audio-encoder' && m.features?.audio === undefined)
      problems.push(
        `audio encoder '${m.name}' does not declare features.audio, so no head can be paired with it`,
      );
    if (
      m.kind === 'visual-encoder' &&
      m.features?.visual === undefined &&
      m.features?.visualMap === undefined
    )
      problems.push(
        `visual encoder '${m.name}' declares neither features.visual nor features.visualMap, so no head can be paired with it`,
      );
  }
  const pairings: Pairing[] = [];
  for (const head of manifests.filter((m) => HEAD_KINDS.includes(m.kind))) {
    const pairing: Pairing = { head: head.name };
    let ok = true;
    for (const modality of ['audio', 'visual'] as const) {
      if (!needs(head, modality)) continue;
      const result = pickEncoder(head, modality, manifests, dir);
      if (typeof result === 'string') pairing[modality] = result;
      else {
        ok = false;
        problems.push(result.problem);
      }
    }
    if (ok) pairings.push(pairing);
  }
  return { pairings, problems };
}

function needs(head: ModelManifest, modality: 'audio' | 'visual'): boolean {
  const f = head.features ?? {};
  return modality === 'audio' ? f.audio !== undefined : f.visual !== undefined || f.visualMap !== undefined;
}

function pickEncoder(
  head: ModelManifest,
  modality: 'audio' | 'visual',
  manifests: ModelManifest[],
  dir: string,
): string | { problem: string } {
  const kind: ModelKind = `${modality}-encoder`;
  const pinned = head.encoders?.[modality];
  const prefix = `${head.kind} '${head.name}' needs ${describeNeed(head, modality)}`;
  let candidates = manifests.filter((m) => m.kind === kind);
  if (pinned !== undefined) {
    const named = manifests.find((m) => m.name === pinned);
    if (!named)
      return { problem: `${prefix} from '${pinned}' (its encoders.${modality}), which is not in ${dir}` };
    if (named.kind !== kind)
      return {
        problem: `${prefix} from '${pinned}' (its encoders.${modality}), but '${pinned}' is a ${named.kind}`,
      };
    candidates = [named];
  }
  if (candidates.length === 0) return { problem: `${prefix}, but ${dir} has no ${kind}` };
  const reasons: string[] = [];
  for (const encoder of candidates) {
    const why = mismatches(head, encoder, modality);
    if (why.length === 0) return encoder.name;
    reasons.push(`'${encoder.name}' ${why.join(' and ')}`);
  }
  return { problem: `${prefix}, but ${reasons.join('; ')}` };
}

function describeNeed(head: ModelManifest, modality: 'audio' | 'visual'): string {
  const f = head.features ?? {};
  const parts: string[] = [];
  if (modality === 'audio') parts.push(`${f.audio}-d audio features`);
  if (modality === 'visual' && f.visual !== undefined) parts.push(`${f.visual}-d visual features`);
  if (modality === 'visual' && f.visualMap !== undefined) parts.push(`a ${f.visualMap.join('x')} visual map`);
  const rate = rateOf(head, modality);
  const at = rate === undefined ? '' : modality === 'audio' ? ` at ${rate} Hz` : ` at ${rate} fps`;
  return parts.join(' and ') + at;
}

function rateOf(m: ModelManifest, modality: 'audio' | 'visual'): number | undefined {
  const value = m.preprocessing?.[modality === 'audio' ? 'sampleRate' : 'fps'];
  return typeof value === 'number' ? value : undefined;
}

/** Why `encoder` cannot feed `head` (empty when it can). */
function mismatches(head: ModelManifest, encoder: ModelManifest, modality: 'audio' | 'visual'): string[] {
  const need = head.features ?? {};
  const have = encoder.features ?? {};
  const why: string[] = [];
  if (modality === 'audio' && have.audio !== need.audio)
    why.push(
      have.audio === undefined ? 'declares no audio features' : `provides ${have.audio}-d audio features`,
    );
  if (modality === 'visual' && need.visual !== undefined && have.visual !== need.visual)
    why.push(
      have.visual === undefined
        ? 'provides no pooled visual vector'
        : `provides ${have.visual}-d visual features`,
    );
  if (
    modality === 'visual' &&
    need.visualMap !== undefined &&
    have.visualMap?.join('x') !== need.visualMap.join('x')
  )
    why.push(
      have.visualMap === undefined
        ? 'provides no visual map'
        : `provides a ${have.visualMap.join('x')} visual map`,
    );
  const headRate = rateOf(head, modality);
  const encoderRate = rateOf(encoder, modality);
  if (headRate !== undefined && encoderRate !== undefined && headRate !== encoderRate)
    why.push(modality === 'audio' ? `runs at ${encoderRate} Hz` : `runs at ${encoderRate} fps`);
  return why;
}

/** Every problem in the directory, one line each: invalid manifests, bad files, compatibility. */
export function listProblems(directory: ModelDirectory): string[] {
  const lines = directory.invalid.map((i) => i.message);
  for (const m of directory.models) if (m.problem !== undefined) lines.push(m.problem);
  lines.push(...directory.compatibility);
  if (directory.models.length === 0 && directory.invalid.length === 0)
    lines.push(`${directory.dir} has no model manifests (*.json): fetch one with 'avvp models fetch <name>'`);
  return lines;
}
