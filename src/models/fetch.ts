// `avvp models fetch`: downloads a known public ONNX export into a model directory, checks it,
// and writes its manifest. The catalog below lists, per export, the hub repository, the file,
// the I/O the file must have (transformers.js conventions) and the preprocessing it expects.
//
//   await fetchModel('clip-vit-b32-vision', { dir: 'models', mirror: 'http://127.0.0.1:8080' });
//
// Hashes: the catalog's sha256/size are filled only where a value is known. Otherwise the hash
// the hub announces for the file (X-Linked-Etag) is checked when present, and the computed hash
// is recorded in the manifest on first download (provenance.sha256Source says which): later
// fetches and `avvp models list` check the file against it. See docs/models.md.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadError, downloadFile, type DownloadOptions } from './download.js';
import { formatManifest, parseManifest, type ModelManifest, type Sha256Source } from './manifest.js';
import { sha256File } from '../util/sha256.js';
import { validateModelFile } from './validate.js';

export const DEFAULT_HUB = 'https://huggingface.co';

export interface KnownExport {
  name: string;
  description: string;
  /** Hub repository ("owner/name") and revision; files resolve at <hub>/<repo>/resolve/<revision>/<path>. */
  repo: string;
  revision: string;
  path: string;
  /** Published values, when known; see the header comment for what happens otherwise. */
  sha256?: string;
  size?: number;
  /** The manifest written for the file (name, file and sha256 are filled in by fetch). */
  manifest: Omit<ModelManifest, 'name' | 'file' | 'sha256' | 'provenance'>;
}

// CLIP normalisation constants from the CLIP preprocessor config (research note, section 10).
const clipImage = {
  size: 224,
  resize: 'shortest-edge bicubic, then centre crop',
  rescale: 1 / 255,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
  layout: 'NCHW',
  embedsNormalized: false,
};
const clapAudio = {
  sampleRate: 48000,
  fftSize: 1024,
  hop: 480,
  melBands: 64,
  melScale: 'slaney',
  fMin: 50,
  fMax: 14000,
  window: 'hann',
  power: 2,
  decibels: true,
  maxSeconds: 10,
  shortInput: 'repeat-pad to 10 s',
  embedsNormalized: false,
};
const clipVision: KnownExport['manifest'] = {
  kind: 'visual-encoder',
  version: 'xenova-main',
  inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['batch', 3, 224, 224] }],
  outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['batch', 512] }],
  preprocessing: clipImage,
  features: { visual: 512 },
};
const clapAudioModel: KnownExport['manifest'] = {
  kind: 'audio-encoder',
  version: 'xenova-main',
  inputs: [{ name: 'input_features', dtype: 'float32', shape: ['batch', 1, 1001, 64] }],
  outputs: [{ name: 'audio_embeds', dtype: 'float32', shape: ['batch', 512] }],
  preprocessing: clapAudio,
  features: { audio: 512 },
};
const CLIP_REPO = 'Xenova/clip-vit-base-patch32';
const CLAP_REPO = 'Xenova/clap-htsat-unfused';

export const CATALOG: readonly KnownExport[] = [
  {
    name: 'clip-vit-b32-vision',
    description: 'CLIP ViT-B/32 image encoder, fp32 (about 350 MB)',
    repo: CLIP_REPO,
    revision: 'main',
    path: 'onnx/vision_model.onnx',
    manifest: clipVision,
  },
  {
    name: 'clip-vit-b32-vision-q8',
    description: 'CLIP ViT-B/32 image encoder, 8-bit quantized (smaller)',
    repo: CLIP_REPO,
    revision: 'main',
    path: 'onnx/vision_model_quantized.onnx',
    manifest: clipVision,
  },
  {
    name: 'clap-htsat-unfused-audio',
    description: 'CLAP HTSAT (unfused) audio encoder, fp32 (about 120 MB)',
    repo: CLAP_REPO,
    revision: 'main',
    path: 'onnx/audio_model.onnx',
    manifest: clapAudioModel,
  },
  {
    name: 'clap-htsat-unfused-audio-q8',
    description: 'CLAP HTSAT (unfused) audio encoder, 8-bit quantized (smaller)',
    repo: CLAP_REPO,
    revision: 'main',
    path: 'onnx/audio_model_quantized.onnx',
    manifest: clapAudioModel,
  },
  // Text encoders (optional; for zero-shot labels). Their I/O names are not verified against
  // the real files here: fetch validates them and fails with the difference if they are wrong.
  {
    name: 'clip-vit-b32-text',
    description: 'CLIP ViT-B/32 text encoder, fp32 (optional)',
    repo: CLIP_REPO,
    revision: 'main',
    path: 'onnx/text_model.onnx',
    manifest: {
      kind: 'other',
      version: 'xenova-main',
      inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }],
      outputs: [{ name: 'text_embeds', dtype: 'float32', shape: ['batch', 512] }],
      preprocessing: { tokenizer: `${CLIP_REPO} tokenizer.json`, embedsNormalized: false },
    },
  },
  {
    name: 'clap-htsat-unfused-text',
    description: 'CLAP text encoder, fp32 (optional)',
    repo: CLAP_REPO,
    revision: 'main',
    path: 'onnx/text_model.onnx',
    manifest: {
      kind: 'other',
      version: 'xenova-main',
      inputs: [
        { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
        { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      ],
      outputs: [{ name: 'text_embeds', dtype: 'float32', shape: ['batch', 512] }],
      preprocessing: { tokenizer: `${CLAP_REPO} tokenizer.json`, embedsNormalized: false },
    },
  },
];

/** Something the user can fix: an unknown name, a bad mirror URL, a file that fails its checks. */
export class FetchError extends Error {}

export interface FetchOptions {
  dir: string;
  /** Base URL replacing the public hub, laid out like it: <mirror>/<repo>/resolve/<revision>/<path>. */
  mirror?: string;
  /** Download anew even when a verified copy is present. */
  force?: boolean;
  catalog?: readonly KnownExport[];
  /** Passed to the downloader (timeouts, retries, progress). */
  download?: Omit<DownloadOptions, 'sha256' | 'size' | 'label' | 'log'>;
  log?: (line: string) => void;
}

export interface FetchResult {
  name: string;
  filePath: string;
  manifestPath: string;
  sha256: string;
  sha256Source: Sha256Source;
  /** False when a verified copy was already present. */
  downloaded: boolean;
}

export function findExport(name: string, catalog: readonly KnownExport[] = CATALOG): KnownExport {
  const entry = catalog.find((e) => e.name === name);
  if (!entry)
    throw new FetchError(`unknown model '${name}'; known exports: ${catalog.map((e) => e.name).join(', ')}`);
  return entry;
}

export function exportUrl(entry: KnownExport, base = DEFAULT_HUB): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new FetchError(`--mirror must be an http(s) URL such as http://127.0.0.1:8080, got '${base}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchError(`--mirror must be an http(s) URL such as http://127.0.0.1:8080, got '${base}'`);
  const root = url.href.replace(/\/+$/, '');
  return `${root}/${entry.repo}/resolve/${entry.revision}/${entry.path}`;
}

/**
 * Downloads `name` into `opts.dir` as <name>.onnx, checks its sha256 (catalog, hub, or the hash
 * pinned by an earlier fetch) and its I/O with onnxruntime, then writes <name>.json. The bytes
 * arrive in <name>.download(.part) and replace <name>.onnx only once both checks pass.
 */
export async function fetchModel(name: string, opts: FetchOptions): Promise<FetchResult> {
  const entry = findExport(name, opts.catalog);
  const url = exportUrl(entry, opts.mirror);
  await mkdir(opts.dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new FetchError(`cannot create the model directory ${opts.dir} (${err.code ?? err.message})`);
  });
  const release = await lock(join(opts.dir, `${entry.name}.download.lock`), entry.name);
  try {
    return await fetchLocked(entry, url, opts);
  } finally {
    await release();
  }
}

/**
 * Two fetches of one export into one directory would write the same partial file: the second
 * is refused while the first runs. A lock left by a process that no longer exists is taken over.
 */
async function lock(path: string, name: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new FetchError(`cannot write in ${path} (${code ?? err}): check the --dir permissions`);
      const pid = Number(await readFile(path, 'utf8').catch(() => ''));
      if (Number.isInteger(pid) && pid > 0 && isRunning(pid))
        throw new FetchError(
          `another fetch of ${name} is running (process ${pid}); wait for it, or delete ${path} if it is not`,
        );
      await rm(path, { force: true });
    }
  }
  throw new FetchError(`cannot take the lock ${path}; delete it and try again`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fetchLocked(entry: KnownExport, url: string, opts: FetchOptions): Promise<FetchResult> {
  const log = opts.log ?? (() => {});
  const filePath = join(opts.dir, `${entry.name}.onnx`);
  const manifestPath = join(opts.dir, `${entry.name}.json`);

  const earlier = await readEarlierManifest(manifestPath);
  const known: Pin | undefined =
    entry.sha256 !== undefined ? { sha256: entry.sha256, source: 'catalog' } : earlier;
  if (!opts.force && known !== undefined && (await isFile(filePath))) {
    if ((await sha256File(filePath)) === known.sha256) {
      log(`${filePath} is present and matches its sha256; nothing to fetch`);
      if (earlier?.sha256 !== known.sha256) await writeManifest(entry, manifestPath, known);
      return { name: entry.name, filePath, manifestPath, ...pinFields(known), downloaded: false };
    }
    log(`${filePath} does not match its sha256 ${known.sha256}; fetching it again`);
  }

  log(`fetching ${entry.name} from ${url}`);
  const incoming = join(opts.dir, `${entry.name}.download`);
  const result = await downloadFile(url, incoming, {
    ...opts.download,
    ...(known !== undefined ? { sha256: known.sha256 } : {}),
    ...(entry.size !== undefined ? { size: entry.size } : {}),
    label: entry.name,
    log,
  }).catch((err: unknown) => {
    if (
      err instanceof DownloadError &&
      err.kind === 'sha256' &&
      known !== undefined &&
      known.source !== 'catalog'
    )
      err.message +=
        ` The expected hash was recorded by an earlier fetch (${manifestPath}); if the file legitimately ` +
        `changed upstream, delete that manifest and fetch again to record the new one.`;
    throw err;
  });
  try {
    await validateModelFile(incoming, entry.manifest);
  } catch (err) {
    await rm(incoming, { force: true });
    throw new FetchError(`${url} is not the expected export: ${(err as Error).message}`);
  }
  const pin: Pin = known ?? {
    sha256: result.sha256,
    source: result.serverSha256 !== undefined ? 'server' : 'first-download',
  };
  await rename(incoming, filePath);
  await writeManifest(entry, manifestPath, pin);
  if (pin.source === 'first-download' && known === undefined) {
    log(
      `note: no published sha256 is known for ${entry.name}; recorded the computed ${pin.sha256} in ` +
        `${manifestPath}, and later fetches and 'avvp models list' check the file against it`,
    );
  }
  log(`wrote ${filePath} and ${manifestPath}`);
  return { name: entry.name, filePath, manifestPath, ...pinFields(pin), downloaded: true };
}

/** A sha256 the file is held to, and where it came from. */
interface Pin {
  sha256: string;
  source: Sha256Source;
}

function pinFields(pin: Pin): { sha256: string; sha256Source: Sha256Source } {
  return { sha256: pin.sha256, sha256Source: pin.source };
}

/** The sha256 recorded by an earlier fetch of this export, if its manifest is readable. */
async function readEarlierManifest(manifestPath: string): Promise<Pin | undefined> {
  try {
    const m = parseManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
    return { sha256: m.sha256, source: m.provenance?.sha256Source ?? 'first-download' };
  } catch {
    return undefined;
  }
}

async function writeManifest(entry: KnownExport, manifestPath: string, pin: Pin): Promise<void> {
  const manifest: ModelManifest = {
    name: entry.name,
    file: `${entry.name}.onnx`,
    sha256: pin.sha256,
    ...entry.manifest,
    provenance: {
      source: `${entry.repo}@${entry.revision}/${entry.path}`,
      command: `avvp models fetch ${entry.name}`,
      created: new Date().toISOString(),
      sha256Source: pin.source,
    },
  };
  await writeFile(manifestPath, formatManifest(manifest));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
