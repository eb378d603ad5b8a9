// The JSON manifest that sits beside every ONNX file in a model directory. It describes what
// the file is, what it consumes and produces, and where it came from; the registry checks the
// file against it at load time (see docs/models.md).

import { readFile, stat } from 'node:fs/promises';

export type ModelKind =
  'audio-encoder' | 'visual-encoder' | 'parser' | 'localizer' | 'embedder' | 'classifier' | 'other';

export type Sha256Source = 'export' | 'catalog' | 'server' | 'first-download';

export type TensorDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** A tensor's name, element type and shape; strings are symbolic dimensions (e.g. 'batch'). */
export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: (number | string)[];
}

export interface ModelManifest {
  /** Unique name within a model directory, e.g. 'dsp-audio' or 'link-synthav'. */
  name: string;
  kind: ModelKind;
  version: string;
  /** ONNX file name relative to the manifest. */
  file: string;
  /** Hex sha256 of the ONNX file. */
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Class names in output order, for heads. */
  classes?: string[];
  /** Decision thresholds: one for all classes or one per class name. */
  thresholds?: number | Record<string, number>;
  /** Parameters the runtime needs to feed the model (sample rate, fps, frame size, ...). */
  preprocessing?: Record<string, unknown>;
  /** Feature dimensions a head expects or an encoder provides, checked between encoders and heads. */
  features?: { audio?: number; visual?: number; visualMap?: [number, number, number] };
  /**
   * For heads: the encoders (by manifest name) whose features the head was trained on. When set,
   * the registry pairs the head with exactly these encoders instead of any with matching dims.
   */
  encoders?: { audio?: string; visual?: string };
  provenance?: {
    source: string;
    command?: string;
    trainedOn?: string;
    seed?: number;
    created?: string;
    /**
     * Where `sha256` came from: 'export' (computed when this project wrote the file), 'catalog'
     * (a published value known in advance), 'server' (the hub's ETag for the file), or
     * 'first-download' (computed on first download and trusted from then on).
     */
    sha256Source?: Sha256Source;
  };
  /** Evaluation results recorded at export (name -> value). */
  metrics?: Record<string, number>;
}

export const MODEL_KINDS: readonly ModelKind[] = [
  'audio-encoder',
  'visual-encoder',
  'parser',
  'localizer',
  'embedder',
  'classifier',
  'other',
];
export const TENSOR_DTYPES: readonly TensorDtype[] = [
  'float32',
  'float64',
  'int64',
  'int32',
  'uint8',
  'bool',
];
const SHA256_SOURCES: readonly Sha256Source[] = ['export', 'catalog', 'server', 'first-download'];

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** A manifest that is not valid JSON or breaks a rule; the message names the file and the field. */
export class ManifestError extends Error {}

/** Reads and checks one manifest file. */
export async function readManifest(path: string): Promise<ModelManifest> {
  let text: string;
  try {
    // A manifest is a few KB; refuse to read a large file that merely ends in .json.
    const { size } = await stat(path);
    if (size > MAX_MANIFEST_BYTES)
      throw new ManifestError(
        `${path}: ${size} bytes is too large for a manifest (at most ${MAX_MANIFEST_BYTES})`,
      );
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ManifestError) throw err;
    throw new ManifestError(`${path}: cannot read manifest (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseManifest(json, path);
}

/** The manifest as written to disk: two-space JSON with a final newline. */
export function formatManifest(manifest: ModelManifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}

/**
 * Checks a parsed JSON value against the manifest rules (docs/models.md) and returns it typed.
 * Unknown fields are rejected so that a misspelt field is an error rather than silently ignored.
 * `source` (a path) prefixes every error message.
 */
export function parseManifest(value: unknown, source = '<manifest>'): ModelManifest {
  const check = new Checker(source);
  const root = check.object(value, '');
  check.onlyKeys(root, '', [
    'name',
    'kind',
    'version',
    'file',
    'sha256',
    'inputs',
    'outputs',
    'classes',
    'thresholds',
    'preprocessing',
    'features',
    'encoders',
    'provenance',
    'metrics',
  ]);
  const manifest: ModelManifest = {
    name: check.identifier(root.name, 'name'),
    kind: check.oneOf(root.kind, 'kind', MODEL_KINDS),
    version: check.nonEmptyString(root.version, 'version'),
    file: check.relativeFile(root.file, 'file'),
    sha256: check.sha256(root.sha256, 'sha256'),
    inputs: check.tensorList(root.inputs, 'inputs'),
    outputs: check.tensorList(root.outputs, 'outputs'),
  };
  if (root.classes !== undefined) manifest.classes = check.classList(root.classes, 'classes');
  if (root.thresholds !== undefined)
    manifest.thresholds = check.thresholds(root.thresholds, 'thresholds', manifest.classes);
  if (root.preprocessing !== undefined)
    manifest.preprocessing = check.preprocessing(root.preprocessing, 'preprocessing');
  if (root.features !== undefined) manifest.features = check.features(root.features, 'features');
  if (root.encoders !== undefined) manifest.encoders = check.encoders(root.encoders, 'encoders');
  if (root.provenance !== undefined) manifest.provenance = check.provenance(root.provenance, 'provenance');
  if (root.metrics !== undefined) manifest.metrics = check.metrics(root.metrics, 'metrics');
  return manifest;
}

type Json = Record<string, unknown>;

/** Field checks that throw a ManifestError naming the source and the field path. */
class Checker {
  constructor(private readonly source: string) {}

  fail(field: string, message: string): never {
    const where = field ? `field "${field}"` : 'the manifest';
    throw new ManifestError(`${this.source}: ${where} ${message}`);
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(field, `must be a JSON object, got ${describe(value)}`);
    return value as Json;
  }

  onlyKeys(obj: Json, field: string, allowed: string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        this.fail(join(field, key), `is not a manifest field (allowed here: ${allowed.join(', ')})`);
    }
  }

  nonEmptyString(value: unknown, field: string): string {
    if (value === undefined) this.fail(field, 'is missing');
    if (typeof value !== 'string' || value.trim() === '')
      this.fail(field, `must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  /** Names become file names and CLI arguments: letters, digits, '.', '_' and '-'. */
  identifier(value: unknown, field: string): string {
    const s = this.nonEmptyString(value, field);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s))
      this.fail(field, `must use only letters, digits, '.', '_' and '-', got ${JSON.stringify(s)}`);
    return s;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    const s = this.nonEmptyString(value, field);
    if (!allowed.includes(s as T))
      this.fail(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(s)}`);
    return s as T;
  }

  /** The model file must stay inside the model directory. */
  relativeFile(value: unknown, field: string): string {
    const s = this.nonEmptyString(value, field);
    if (s.startsWith('/') || /^[A-Za-z]:/.test(s) || s.split(/[\\/]/).includes('..'))
      this.fail(
        field,
        `must be a path relative to the manifest, inside its directory, got ${JSON.stringify(s)}`,
      );
    return s;
  }

  sha256(value: unknown, field: string): string {
    const s = this.nonEmptyString(value, field);
    if (!/^[0-9a-fA-F]{64}$/.test(s)) this.fail(field, `must be 64 hex digits, got ${JSON.stringify(s)}`);
    return s.toLowerCase();
  }

  number(
    value: unknown,
    field: string,
    opts: { integer?: boolean; min?: number; max?: number } = {},
  ): number {
    if (typeof value !== 'number' || !Number.isFinite(value))
      this.fail(field, `must be a finite number, got ${describe(value)}`);
    if (opts.integer && !Number.isInteger(value)) this.fail(field, `must be an integer, got ${value}`);
    if (opts.min !== undefined && value < opts.min) this.fail(field, `must be >= ${opts.min}, got ${value}`);
    if (opts.max !== undefined && value > opts.max) this.fail(field, `must be <= ${opts.max}, got ${value}`);
    return value;
  }

  positiveInt(value: unknown, field: string): number {
    return this.number(value, field, { integer: true, min: 1 });
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, `must be an array, got ${describe(value)}`);
    return value;
  }

  tensorList(value: unknown, field: string): TensorSpec[] {
    if (value === undefined) this.fail(field, 'is missing');
    const items = this.array(value, field);
    if (items.length === 0) this.fail(field, 'must list at least one tensor');
    const specs = items.map((item, i) => this.tensor(item, `${field}[${i}]`));
    this.unique(
      specs.map((s) => s.name),
      field,
      'tensor name',
    );
    return specs;
  }

  tensor(value: unknown, field: string): TensorSpec {
    const obj = this.object(value, field);
    this.onlyKeys(obj, field, ['name', 'dtype', 'shape']);
    const shape = this.array(
      obj.shape ?? this.fail(join(field, 'shape'), 'is missing'),
      join(field, 'shape'),
    );
    return {
      name: this.nonEmptyString(obj.name, join(field, 'name')),
      dtype: this.oneOf(obj.dtype, join(field, 'dtype'), TENSOR_DTYPES),
      shape: shape.map((dim, i) => {
        const at = `${field}.shape[${i}]`;
        if (typeof dim === 'string' && dim.trim() !== '') return dim;
        if (typeof dim === 'number' && Number.isInteger(dim) && dim >= 1) return dim;
        return this.fail(
          at,
          `must be a positive integer or a symbolic name such as "batch", got ${describe(dim)}`,
        );
      }),
    };
  }

  unique(names: string[], field: string, what: string): void {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) this.fail(field, `has the ${what} ${JSON.stringify(name)} twice`);
      seen.add(name);
    }
  }

  classList(value: unknown, field: string): string[] {
    const names = this.array(value, field).map((c, i) => this.nonEmptyString(c, `${field}[${i}]`));
    if (names.length === 0) this.fail(field, 'must list at least one class');
    this.unique(names, field, 'class');
    return names;
  }

  thresholds(value: unknown, field: string, classes: string[] | undefined): number | Record<string, number> {
    const probability = { min: 0, max: 1 };
    if (typeof value === 'number') return this.number(value, field, probability);
    const obj = this.object(value, field);
    if (classes === undefined) this.fail(field, 'per-class thresholds need a "classes" list');
    const out: Record<string, number> = {};
    for (const [name, t] of Object.entries(obj)) {
      if (!classes.includes(name)) this.fail(join(field, name), 'is not one of "classes"');
      out[name] = this.number(t, join(field, name), probability);
    }
    return out;
  }

  /** Free-form, except the rates the registry compares between encoders and heads. */
  preprocessing(value: unknown, field: string): Record<string, unknown> {
    const obj = this.object(value, field);
    if (obj.sampleRate !== undefined) this.positiveInt(obj.sampleRate, join(field, 'sampleRate'));
    if (obj.fps !== undefined && this.number(obj.fps, join(field, 'fps')) <= 0)
      this.fail(join(field, 'fps'), `must be > 0, got ${obj.fps}`);
    return obj;
  }

  features(value: unknown, field: string): NonNullable<ModelManifest['features']> {
    const obj = this.object(value, field);
    this.onlyKeys(obj, field, ['audio', 'visual', 'visualMap']);
    const out: NonNullable<ModelManifest['features']> = {};
    if (obj.audio !== undefined) out.audio = this.positiveInt(obj.audio, join(field, 'audio'));
    if (obj.visual !== undefined) out.visual = this.positiveInt(obj.visual, join(field, 'visual'));
    if (obj.visualMap !== undefined) {
      const dims = this.array(obj.visualMap, join(field, 'visualMap'));
      if (dims.length !== 3)
        this.fail(join(field, 'visualMap'), `must be [height, width, channels], got ${describe(dims)}`);
      const [h, w, c] = dims.map((d, i) => this.positiveInt(d, `${field}.visualMap[${i}]`));
      out.visualMap = [h, w, c];
    }
    return out;
  }

  encoders(value: unknown, field: string): NonNullable<ModelManifest['encoders']> {
    const obj = this.object(value, field);
    this.onlyKeys(obj, field, ['audio', 'visual']);
    const out: NonNullable<ModelManifest['encoders']> = {};
    if (obj.audio !== undefined) out.audio = this.identifier(obj.audio, join(field, 'audio'));
    if (obj.visual !== undefined) out.visual = this.identifier(obj.visual, join(field, 'visual'));
    return out;
  }

  provenance(value: unknown, field: string): NonNullable<ModelManifest['provenance']> {
    const obj = this.object(value, field);
    this.onlyKeys(obj, field, ['source', 'command', 'trainedOn', 'seed', 'created', 'sha256Source']);
    const out: NonNullable<ModelManifest['provenance']> = {
      source: this.nonEmptyString(obj.source, join(field, 'source')),
    };
    for (const key of ['command', 'trainedOn', 'created'] as const) {
      if (obj[key] !== undefined) out[key] = this.nonEmptyString(obj[key], join(field, key));
    }
    if (obj.seed !== undefined) out.seed = this.number(obj.seed, join(field, 'seed'), { integer: true });
    if (obj.sha256Source !== undefined)
      out.sha256Source = this.oneOf(obj.sha256Source, join(field, 'sha256Source'), SHA256_SOURCES);
    return out;
  }

  metrics(value: unknown, field: string): Record<string, number> {
    const obj = this.object(value, field);
    const out: Record<string, number> = {};
    for (const [name, v] of Object.entries(obj)) out[name] = this.number(v, join(field, name));
    return out;
  }
}

function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
