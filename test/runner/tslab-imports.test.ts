// Notebooks load lib/ through tslab, whose module loader resolves `./x` only to the file x.ts, never to x/index.ts
// ("Cannot find module './x'" at run time, although tsc is happy). So every relative import in lib/ and in notebooks
// must name a file: `./data/index`, `./lib/index`. This test finds the ones that do not, before a notebook run does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

// import/export ... from '...', import('...'), require('...'), bare import '...'
const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*|\.{1,2})\1/g;

/** Relative specifiers in `code` that resolve (from `dir`) to a directory rather than a .ts file. */
function directoryImports(code: string, dir: string): string[] {
  const bad: string[] = [];
  for (const m of code.matchAll(SPEC)) {
    const spec = m[2];
    const target = path.resolve(dir, spec);
    if (fs.existsSync(`${target}.ts`) || fs.existsSync(`${target}.js`)) continue;
    if (fs.existsSync(path.join(target, 'index.ts'))) bad.push(spec);
  }
  return bad;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function notebookCode(file: string): string {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n');
}

test('the scanner sees directory imports and accepts file imports', () => {
  const lib = path.join(root, 'lib');
  assert.deepEqual(directoryImports(`export * from './experiment';\nimport { x } from "./tf/safe-ops";\nconst m = require('./data');`, lib), ['./experiment', './data']);
  assert.deepEqual(directoryImports(`export * from './experiment/index';\nimport type { Model } from './types';`, lib), []);
  assert.deepEqual(directoryImports(`import * as gr from "./lib";`, path.join(root, 'notebooks')), ['./lib']);
});

test('lib/ imports name files, not directories (tslab cannot load a directory index)', () => {
  const offenders: string[] = [];
  for (const f of tsFiles(path.join(root, 'lib'))) {
    for (const spec of directoryImports(fs.readFileSync(f, 'utf8'), path.dirname(f))) {
      offenders.push(`${path.relative(root, f)}: '${spec}' -> write '${spec}/index'`);
    }
  }
  assert.deepEqual(offenders, [], `tslab resolves './x' only to x.ts:\n${offenders.join('\n')}`);
});

test('notebooks import lib through a file path (./lib/index)', () => {
  const offenders: string[] = [];
  for (const dir of [path.join(root, 'notebooks'), path.join(root, 'test', 'fixtures', 'notebooks')]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
      for (const spec of directoryImports(notebookCode(path.join(dir, f)), dir)) {
        offenders.push(`${path.relative(root, path.join(dir, f))}: '${spec}' -> write '${spec}/index'`);
      }
    }
  }
  assert.deepEqual(offenders, [], offenders.join('\n'));
});
