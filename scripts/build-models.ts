// Writes the bundled models and their manifests into models/ (or the folder given with --dir):
// models/dsp-audio.onnx + .json and models/dsp-visual.onnx + .json. The output depends only on
// the repository's code, so running it twice gives the same bytes (a test checks the committed
// files against a fresh build). Usage: npm run models:build [-- --dir DIR]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatManifest } from '../src/models/manifest.js';
import { BUNDLED_MODELS } from '../src/models/encoders/index.js';

const at = process.argv.indexOf('--dir');
const dir = at > 0 ? process.argv[at + 1] : 'models';
if (!dir || dir.startsWith('--')) {
  console.error('build-models: --dir needs a folder, e.g. --dir models');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
for (const build of BUNDLED_MODELS) {
  const { manifest, bytes } = build();
  const onnxPath = join(dir, manifest.file);
  const manifestPath = join(dir, `${manifest.name}.json`);
  await writeFile(onnxPath, bytes);
  await writeFile(manifestPath, formatManifest(manifest));
  console.log(`wrote ${onnxPath} (${bytes.length} bytes) and ${manifestPath}`);
}
