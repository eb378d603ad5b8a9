// The layering of src/, written once. Each top-level folder may import only the folders listed for
// it (and itself); everything below a folder in this list sits lower, so arrows point down and no
// cycle between folders can form. eslint.config.js turns the table into no-restricted-imports
// rules (`npm run lint`), and tests/architecture.test.ts checks every import of src/ against it.
// docs/architecture.md explains each folder.

/** @type {Record<string, string[]>} folder -> the folders it may import */
export const LAYERS = {
  cli: [
    'runtime',
    'train',
    'sinks',
    'operators',
    'streams',
    'synth',
    'pool',
    'models',
    'eval',
    'causal',
    'datasets',
    'engine',
    'util',
    'types',
  ],
  runtime: [
    'sinks',
    'operators',
    'streams',
    'synth',
    'pool',
    'models',
    'datasets',
    'engine',
    'util',
    'types',
  ],
  train: ['synth', 'models', 'eval', 'datasets', 'engine', 'util', 'types'],
  sinks: ['util', 'types'],
  operators: ['util', 'types'],
  synth: ['streams', 'datasets', 'util', 'types'],
  streams: ['util', 'types'],
  pool: ['engine', 'util', 'types'],
  models: ['engine', 'datasets', 'util', 'types'],
  eval: ['datasets', 'util', 'types'],
  causal: ['util', 'types'],
  datasets: ['util', 'types'],
  engine: ['util', 'types'],
  util: ['types'],
  types: [],
};
