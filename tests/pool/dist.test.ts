// The pool must also work once compiled: in dist/ the worker entry is worker.js, loaded by plain
// Node without tsx. This compiles the runtime modules (and what they import) with tsc into a
// scratch folder inside the repository (so onnxruntime-node resolves) and runs them with node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { doubler } from './models.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const out = join(root, 'node_modules', '.cache', `avvp-runtime-dist-${process.pid}`);

describe('InferencePool from compiled JavaScript', () => {
  beforeAll(async () => {
    await rm(out, { recursive: true, force: true });
    await run(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        ...['--outDir', out, '--rootDir', join(root, 'src')],
        ...['--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022'],
        ...['--strict', '--skipLibCheck', '--esModuleInterop', '--types', 'node'],
        '--noCheck', // emit only: type checking is `npm run typecheck`'s job
        join(root, 'src/pool/pool.ts'),
        join(root, 'src/pool/worker.ts'),
      ],
      { cwd: root },
    );
    // The scratch folder is under node_modules, where Node stops looking for the root package.json.
    await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
    await mkdir(join(out, 'fixtures'), { recursive: true });
    await writeFile(join(out, 'fixtures', 'double.onnx'), doubler());
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('starts worker.js (no TypeScript loader) and runs a model', async () => {
    const script = `
      import { InferencePool } from ${JSON.stringify(join(out, 'pool/pool.js'))};
      const pool = await InferencePool.create({ models: { double: ${JSON.stringify(join(out, 'fixtures', 'double.onnx'))} }, size: 2, providers: ['cpu'] });
      const { y } = await pool.run('double', { x: { type: 'float32', data: Float32Array.of(1, 2, 3, 4), dims: [1, 4] } });
      await pool.close();
      console.log(JSON.stringify({ size: pool.size, y: Array.from(y.data)}));
    `;
    // Plain node, nothing preloaded: a worker.ts entry would fail here with "Unknown file extension".
    const env = { ...process.env, NODE_OPTIONS: '' };
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env });
    expect(JSON.parse(stdout)).toEqual({ size: 2, y: [2, 4, 6, 8] });
  });
});
