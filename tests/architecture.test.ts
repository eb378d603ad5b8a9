// The layering of src/ (layers.js) holds for every import: no folder imports a folder above it, the
// table itself has no cycle, and every folder of src/ has a place in it. eslint reports the same
// arrows while editing; this test makes a wrong one fail `npm test` with the file and line.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAYERS } from '../layers.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level room of a file under src/: its first folder, or the file's stem (types). */
function room(file: string): string {
  const [first, ...rest] = relative(SRC, file).split('/');
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

const IMPORT =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function imports(text: string): { line: number; spec: string }[] {
  const found: { line: number; spec: string }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const line = text.slice(0, m.index + m[0].length).split('\n').length;
    found.push({ line, spec: m[1] ?? m[2] });
  }
  return found;
}

describe('the layering of src/', () => {
  it('has a place for every folder and file at the top of src/', () => {
    const rooms = readdirSync(SRC).map((name) => name.replace(/\.ts$/, ''));
    expect(rooms.filter((r) => !(r in LAYERS))).toEqual([]);
  });

  it('is a table without cycles: arrows only point down', () => {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (folder: string, path: string[]) => {
      if (state.get(folder) === 'done') return;
      if (state.get(folder) === 'visiting') throw new Error(`cycle: ${[...path, folder].join(' -> ')}`);
      state.set(folder, 'visiting');
      for (const below of LAYERS[folder as keyof typeof LAYERS] ?? []) visit(below, [...path, folder]);
      state.set(folder, 'done');
      order.push(folder);
    };
    for (const folder of Object.keys(LAYERS)) visit(folder, []);
    expect(order).toHaveLength(Object.keys(LAYERS).length);
  });

  it('holds for every relative import in src/', () => {
    const wrong = sourceFiles(SRC).flatMap((file) => violations(file, readFileSync(file, 'utf8')));
    expect(wrong).toEqual([]);
  });

  it('reports a wrong arrow with its file and line', () => {
    const file = join(SRC, 'engine/onnx/example.ts');
    const text = "import { x } from '../../util/rng.js';\nimport { y } from '../../runtime/models.js';\n";
    expect(violations(file, text)).toEqual([
      "engine/onnx/example.ts:2 imports src/runtime ('../../runtime/models.js')",
    ]);
  });
});

/** The imports of one file (given as text) that the layering forbids, as 'file:line ...' lines. */
function violations(file: string, text: string): string[] {
  const from = room(file);
  const allowed = LAYERS[from as keyof typeof LAYERS] as readonly string[];
  const wrong: string[] = [];
  for (const { line, spec } of imports(text)) {
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(SRC)) continue; // package.json, the bundled models folder
    const to = room(target.replace(/\.js$/, '.ts'));
    if (to !== from && !allowed.includes(to))
      wrong.push(`${relative(SRC, file)}:${line} imports src/${to} ('${spec}')`);
  }
  return wrong;
}
