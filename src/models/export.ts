// Export of a trained model: the inference graph (no loss, no dropout, no optimizer) with the
// trained weights as initializers, plus its manifest (I/O specs, provenance, metrics, sha256).
//
// Public API: exportModel(spec, params, { dir, manifest }) -> { onnxPath, manifestPath, manifest }.

import { sha256Bytes } from '../util/sha256.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelManifest, TensorSpec, formatManifest, parseManifest } from './manifest.js';
import { Tensor, TypedData } from '../engine/onnx/builder.js';
import { encodeModel } from '../engine/onnx/proto.js';
import { TrainSpec, buildInferenceGraph } from '../engine/step.js';

export interface ExportOptions {
  dir: string;
  /** Everything except what export computes (name, file, sha256, inputs, outputs). */
  manifest: Omit<ModelManifest, 'name' | 'file' | 'sha256' | 'inputs' | 'outputs'>;
}

export interface Exported {
  onnxPath: string;
  manifestPath: string;
  manifest: ModelManifest;
  bytes: Uint8Array;
}

function spec(t: Tensor, name = t.name): TensorSpec {
  return { name, dtype: t.dtype, shape: [...t.shape] };
}

export async function exportModel(
  train: TrainSpec,
  params: Map<string, TypedData>,
  opts: ExportOptions,
): Promise<Exported> {
  const g = buildInferenceGraph(train);
  const values = new Map([...params].filter(([name]) => g.initializers.has(name)));
  const missing = [...g.initializers.values()]
    .filter((i) => i.trainable && !values.has(i.name))
    .map((i) => i.name);
  if (missing.length)
    throw new Error(`export of '${train.name}': no trained values for ${missing.join(', ')}`);
  const model = g.toModel({ values, metadata: { 'avvp.model': train.name } });
  const bytes = encodeModel(model);
  // Declared inputs that no output depends on are pruned from the file; the manifest follows the file.
  const used = new Set(model.graph.inputs.map((v) => v.name));
  const file = `${train.name}.onnx`;
  const manifest = parseManifest(
    {
      name: train.name,
      file,
      sha256: sha256Bytes(bytes),
      inputs: g.inputs.filter((t) => used.has(t.name)).map((t) => spec(t)),
      outputs: g.outputs.map((o) => spec(o.tensor, o.name)),
      ...opts.manifest,
      ...(opts.manifest.provenance
        ? { provenance: { sha256Source: 'export', ...opts.manifest.provenance } }
        : {}),
    },
    `${train.name} manifest`,
  );
  await mkdir(opts.dir, { recursive: true });
  const onnxPath = join(opts.dir, file);
  const manifestPath = join(opts.dir, `${train.name}.json`);
  await writeFile(onnxPath, bytes);
  await writeFile(manifestPath, formatManifest(manifest));
  return { onnxPath, manifestPath, manifest, bytes };
}
