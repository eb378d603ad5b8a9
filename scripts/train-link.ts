// Rebuilds the bundled LINK parser, models/link-synthav.onnx + .json: LINK trained on SynthAV
// (default preset) encoded with the bundled DSP encoders in models/ (build those first with
// `npm run models:build`). Takes about 6 minutes on a 2-core machine (docs/models/link.md).
// Usage: npm run models:train [-- --dir DIR]
import train from '../src/cli/commands/train.js';

const at = process.argv.indexOf('--dir');
const dir = at > 0 ? process.argv[at + 1] : 'models';
if (!dir || dir.startsWith('--')) {
  console.error('train-link: --dir needs a folder, e.g. --dir models');
  process.exit(2);
}
/** The bundled model's recipe; docs/models/link.md explains each number. */
const BUNDLED_RECIPE = [
  '--synth',
  // 2000 clips: with 600 the parsers are starved of data (Segment Type@AV 75 against 89)
  'train=2000,val=150',
  '--preset',
  'default',
  '--epochs',
  '20',
  '--batch',
  '32',
  '--lr',
  '0.001',
  '--seed',
  '1',
  // TSAM costs 1 point of Segment Type@AV with 600 training clips (5 seeds) and 0.4 with 2000
  // (3 seeds) on SynthAV with the DSP features; docs/models/link.md
  '--ablate',
  'tsam',
];

const started = Date.now();
const code = await train.run([
  'link',
  ...BUNDLED_RECIPE,
  '--models',
  dir,
  '--out',
  dir,
  '--name',
  'link-synthav',
]);
console.log(
  `train-link: ${code === 0 ? 'done' : 'failed'} in ${((Date.now() - started) / 60000).toFixed(1)} min`,
);
process.exitCode = code;
