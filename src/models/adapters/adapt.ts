// Turns a fetched CLIP or CLAP export into a segment encoder with the bundled encoders' I/O
// conventions, so the runtime feeds raw segment data:
//   CLIP vision: frames uint8 [batch, F, 224, 224, 3] -> visual_features float32 [batch, 512]
//                (per-frame embeddings averaged over the segment's F frames, then L2-normalised)
//   CLAP audio:  audio float32 [batch, 48000] (1 s at 48 kHz) -> audio_features float32 [batch, 512]
//                (log-mel prefix with repeat-padding to 10 s; embedding L2-normalised)
// The result is written as <name>-segment.onnx with its manifest next to the export.
//
//   await adaptExport('models', 'clip-vit-b32-vision', { frames: 8 });
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatManifest, readManifest, type ModelManifest, type TensorSpec } from '../manifest.js';
import { decodeModel, encodeModel, type ModelProto } from '../../engine/onnx/proto.js';
import { sha256Bytes, sha256File } from '../../util/sha256.js';
import { validateModelFile } from '../validate.js';
import { composePrefix, l2NormalizeOutput, poolFrames, poolPatchTokens, renameOutput } from './compose.js';
import { CLAP_LOG_MEL, CLIP_MEAN, CLIP_STD, clipPixelPrefix, logMelPrefix } from './prefix.js';

export class AdaptError extends Error {}

/** The CLIP vision export's token output (transformers.js name): [batch, 1 + 7*7, 768] for ViT-B/32. */
const PATCH_TOKENS = 'last_hidden_state';

export interface AdaptResult {
  name: string;
  filePath: string;
  manifestPath: string;
}

/**
 * Reads `<dir>/<name>.json` and its ONNX file (checked against the manifest's sha256), composes
 * the prefix for its kind of export, and writes `<dir>/<name>-segment.{onnx,json}`.
 */
export async function adaptExport(
  dir: string,
  name: string,
  opts: { frames?: number } = {},
): Promise<AdaptResult> {
  const source = await readManifest(join(dir, `${name}.json`));
  const filePath = join(dir, source.file);
  const actual = await sha256File(filePath).catch((err: NodeJS.ErrnoException) => {
    throw new AdaptError(`cannot read ${filePath} (${err.code ?? err.message})`);
  });
  if (actual !== source.sha256)
    throw new AdaptError(`${filePath} does not match ${name}.json (sha256 ${actual}); fetch it again`);
  await validateModelFile(filePath, source);
  const model = decodeModel(new Uint8Array(await readFile(filePath)));
  const adapted = source.inputs.some((t) => t.name === 'pixel_values')
    ? adaptClipVision(model, source, opts.frames ?? 8)
    : source.inputs.some((t) => t.name === 'input_features')
      ? adaptClapAudio(model, source)
      : undefined;
  if (!adapted)
    throw new AdaptError(
      `${name} is neither a CLIP vision export (input pixel_values) nor a CLAP audio export (input input_features)`,
    );
  const bytes = encodeModel(adapted.model);
  const outName = `${name}-segment`;
  const manifest: ModelManifest = {
    ...adapted.manifest,
    name: outName,
    version: source.version,
    file: `${outName}.onnx`,
    sha256: sha256Bytes(bytes),
    provenance: {
      source: `${source.name} (${source.file}, sha256 ${source.sha256}) with the avvp-stream preprocessing prefix`,
      command: `avvp models adapt ${name}${adapted.manifest.kind === 'visual-encoder' ? ` --frames ${opts.frames ?? 8}` : ''}`,
      created: new Date().toISOString(),
      sha256Source: 'export',
    },
  };
  const out = {
    name: outName,
    filePath: join(dir, manifest.file),
    manifestPath: join(dir, `${outName}.json`),
  };
  await writeFile(out.filePath, bytes);
  await writeFile(out.manifestPath, formatManifest(manifest));
  return out;
}

type Adapted = { model: ModelProto; manifest: Omit<ModelManifest, 'name' | 'version' | 'file' | 'sha256'> };

function embeddingOutput(source: ModelManifest, name: string): string {
  if (!source.outputs.some((t) => t.name === name))
    throw new AdaptError(
      `${source.name} has no output '${name}' (outputs: ${source.outputs.map((t) => t.name).join(', ')})`,
    );
  return name;
}

function adaptClipVision(model: ModelProto, source: ModelManifest, frames: number): Adapted {
  const embeds = embeddingOutput(source, 'image_embeds');
  // Where the export also gives its patch tokens, they become the spatial map for localization.
  const tokens = model.graph.outputs.some((o) => o.name === PATCH_TOKENS) ? PATCH_TOKENS : undefined;
  keepOnly(model, tokens ? [embeds, tokens] : [embeds]);
  const joined = composePrefix(clipPixelPrefix({ frames }).toModel(), model);
  poolFrames(joined, embeds, frames);
  l2NormalizeOutput(joined, embeds);
  renameOutput(joined, embeds, 'visual_features');
  const dim = source.features?.visual ?? 512;
  const outputs: TensorSpec[] = [{ name: 'visual_features', dtype: 'float32', shape: ['batch', dim] }];
  const features: NonNullable<ModelManifest['features']> = { visual: dim };
  if (tokens) {
    poolPatchTokens(joined, tokens, frames);
    renameOutput(joined, tokens, 'visual_map');
    const [, h, w, d] = joined.graph.outputs.find((o) => o.name === 'visual_map')!.shape as number[];
    outputs.push({ name: 'visual_map', dtype: 'float32', shape: ['batch', h, w, d] });
    features.visualMap = [h, w, d];
  }
  return {
    model: joined,
    manifest: {
      kind: 'visual-encoder',
      inputs: [{ name: 'frames', dtype: 'uint8', shape: ['batch', frames, 224, 224, 3] }],
      outputs,
      preprocessing: {
        fps: frames,
        width: 224,
        height: 224,
        frameFormat: 'rgb24, resized and centre-cropped to 224x224 by the decoder',
        resize: 'centre-crop',
        mean: CLIP_MEAN,
        std: CLIP_STD,
        pooling: 'mean of the per-frame embeddings',
        embedsNormalized: true,
        ...(tokens
          ? {
              visualMap: `frame mean of the ${PATCH_TOKENS} patch tokens (class token dropped), not normalised`,
            }
          : {}),
      },
      features,
    },
  };
}

function adaptClapAudio(model: ModelProto, source: ModelManifest): Adapted {
  const embeds = embeddingOutput(source, 'audio_embeds');
  keepOnly(model, [embeds]);
  const joined = composePrefix(logMelPrefix().toModel(), model);
  l2NormalizeOutput(joined, embeds);
  renameOutput(joined, embeds, 'audio_features');
  const dim = source.features?.audio ?? 512;
  const o = CLAP_LOG_MEL;
  return {
    model: joined,
    manifest: {
      kind: 'audio-encoder',
      inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', o.samples] }],
      outputs: [{ name: 'audio_features', dtype: 'float32', shape: ['batch', dim] }],
      preprocessing: {
        sampleRate: o.sampleRate,
        samples: o.samples,
        paddedSamples: o.paddedSamples,
        padding: 'repeat whole copies, then zeros',
        fftSize: o.fftSize,
        hop: o.hop,
        melBands: o.bands,
        melScale: 'slaney',
        fMin: o.fMin,
        fMax: o.fMax,
        decibels: true,
        embedsNormalized: true,
      },
      features: { audio: dim },
    },
  };
}

/** Drops the other graph outputs so that only what the adapted model returns is computed. */
function keepOnly(model: ModelProto, outputs: string[]): void {
  model.graph.outputs = model.graph.outputs.filter((o) => outputs.includes(o.name));
}
