// Registry of `avvp` sub-commands. Each is loaded lazily so that `avvp --help` and light
// commands start fast and do not load onnxruntime.
import type { Command } from '../command.js';

export const commands: Record<string, () => Promise<Command>> = {
  grasp: () => import('./grasp.js').then((m) => m.default),
  models: () => import('./models.js').then((m) => m.default),
  eval: () => import('./eval.js').then((m) => m.default),
  extract: () => import('./extract.js').then((m) => m.default),
  probe: () => import('./probe.js').then((m) => m.default),
  synth: () => import('./synth.js').then((m) => m.default),
  train: () => import('./train.js').then((m) => m.default),
  serve: () => import('./serve.js').then((m) => m.default),
  parse: () => import('./parse.js').then((m) => m.default),
  demo: () => import('./demo.js').then((m) => m.default),
  gpu: () => import('./gpu.js').then((m) => m.default),
};
