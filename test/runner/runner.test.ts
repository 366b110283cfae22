import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KernelSession } from '../../scripts/jupyter/kernel-client';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'notebooks');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-runner-'));

// GRADREG_QUIET as under `npm test`: the runner must still let the notebook print its backend line.
function reproduce(...args: string[]) {
  return reproduceWith({ GRADREG_BACKEND: 'cpu' }, ...args);
}

function reproduceWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  const { GRADREG_BACKEND: _b, ...base } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', '--out', out, '--figures', path.join(out, 'figures'), ...args],
    { cwd: root, encoding: 'utf8', env: { ...base, GRADREG_QUIET: '1', ...env } });
  return { code: r.status, text: r.stdout + r.stderr, last: r.stdout.trim().split('\n').pop() };
}

test('a failing cell makes reproduce exit non-zero, naming the cell and the real error', () => {
  // The default backend choice (no GRADREG_BACKEND) must also run and say which backend it is.
  const r = reproduceWith({}, path.join(fixtures, 'failing.ipynb'), '--profile', 'smoke');
  assert.notEqual(r.code, 0);
  const failure = r.text.slice(r.text.indexOf('FAILED'));
  assert.match(failure, /cell 2 \(code cell 2\/3\) failed:\n.*\| const x: number = 41;\n.*\| throw new Error/);
  assert.match(failure, /Error: boom-42/);
  assert.doesNotMatch(failure, /tslab[\\/]dist/);
  assert.equal(r.last, '0 passed, 1 failed');
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'smoke', 'failing.ipynb'), 'utf8'));
  assert.match(JSON.stringify(nb.cells[1].outputs), /gradreg: using the (tensorflow-gpu|tensorflow|wasm|cpu) backend/);
  assert.deepEqual(nb.cells[3].outputs, [], 'the cell after the failure must not run');
  // The kernel's error reply (scripts/jupyter/tslab-patch.cjs): a Jupyter error output, reported with its traceback to the cell.
  const err = nb.cells[2].outputs.find((o: { output_type: string }) => o.output_type === 'error');
  assert.deepEqual([err?.ename, err?.evalue], ['Error', 'boom-42']);
  assert.ok(!nb.cells[2].outputs.some((o: { name?: string }) => o.name === 'stderr'), 'the error is not stderr text');
  assert.match(failure, /Error: boom-42\n\s+at <cell>/);
});

test('a passing notebook passes, and its executed copy keeps outputs incl. the backend line', () => {
  const r = reproduce(path.join(fixtures, 'passing.ipynb'), '--profile', 'smoke');
  assert.equal(r.code, 0, r.text);
  assert.equal(r.last, '1 passed, 0 failed');
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'smoke', 'passing.ipynb'), 'utf8'));
  const text = JSON.stringify(nb.cells.map((c: { outputs?: unknown }) => c.outputs ?? []));
  assert.match(text, /using the cpu backend/);
  assert.match(text, /sum=6/);
  assert.ok(text.includes(`profile=smoke headless=1 notebook=passing figures=${path.join(out, 'figures', 'passing')}`), text);
  for (const c of nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code')) assert.equal(typeof c.execution_count, 'number');
});

test('a kernel that dies mid-notebook fails the notebook, naming the cell', () => {
  const r = reproduce(path.join(fixtures, 'crash.ipynb'), '--profile', 'smoke');
  assert.notEqual(r.code, 0);
  assert.match(r.text, /cell 2 \(code cell 2\/3\) failed/);
  assert.match(r.text, /process\.exit\(3\)/);
  assert.match(r.text, /kernel died \(exit code 3\)/);
  assert.equal(r.last, '0 passed, 1 failed');
});

test('bad arguments fail fast with a message naming the fix, still ending with the summary', () => {
  const r = reproduce(path.join(fixtures, 'passing.ipynb'), '--profile', 'fast');
  assert.equal(r.code, 2);
  assert.match(r.text, /--profile="fast" is not a profile: use one of smoke, quick, paper/);
  assert.equal(r.last, '0 passed, 1 failed');
  const t = reproduce(path.join(fixtures, 'passing.ipynb'), '--timeout', 'soon');
  assert.match(t.text, /--timeout must be a positive number of seconds, got "soon"/);
});

test('a notebook past its timeout is killed and reported as failed', () => {
  const t0 = Date.now();
  const r = reproduce(path.join(fixtures, 'slow.ipynb'), '--profile', 'smoke', '--timeout', '3');
  assert.notEqual(r.code, 0);
  assert.match(r.text, /timed out after 3 s/);
  assert.ok(Date.now() - t0 < 40_000, 'the runner waited for the slow cell instead of killing it');
});

test('through a lib symlink, editing a lib file and re-running the import cell picks up the change without a restart', async () => {
  // The notebook layout in miniature: nb/lib -> ../src (like notebooks/lib -> ../lib), imported as "./lib/index".
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-reload-'));
  fs.mkdirSync(path.join(dir, 'src', 'inner'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'nb'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  fs.symlinkSync('../src', path.join(dir, 'nb', 'lib'));
  fs.writeFileSync(path.join(dir, 'src', 'index.ts'), "export * from './inner/index';\n");
  fs.writeFileSync(path.join(dir, 'src', 'inner', 'index.ts'), "export * from './value';\n");
  fs.writeFileSync(path.join(dir, 'src', 'inner', 'value.ts'), 'export const v: number = 1;\n');
  fs.writeFileSync(path.join(dir, 'src', 'state.ts'), 'export const token: number = Math.random();\n');
  fs.writeFileSync(path.join(dir, 'src', 'extra.ts'), "export { token } from './state';\n");
  fs.appendFileSync(path.join(dir, 'src', 'index.ts'), "export * from './state';\n");
  const cell = 'import * as lib from "./lib/index";\nconsole.log("v=" + lib.v);';
  const k = await KernelSession.start({ cwd: path.join(dir, 'nb') });
  try {
    const a = await k.execute(cell);
    assert.equal(a.status, 'ok', a.errorText);
    assert.match(JSON.stringify(a.outputs), /v=1/);
    // A first-time import of another lib file shares the loaded modules (no second copy of module state).
    const same = await k.execute('import * as extra from "./lib/extra";\nconsole.log("same=" + (extra.token === lib.token));');
    assert.equal(same.status, 'ok', same.errorText);
    assert.match(JSON.stringify(same.outputs), /same=true/);
    // Our kernel also resolves a directory import to its index (plain tslab does not; lib and notebooks still name files).
    const d = await k.execute('import * as viaDir from "./lib";\nconsole.log("dir=" + viaDir.v);');
    assert.equal(d.status, 'ok', d.errorText);
    assert.match(JSON.stringify(d.outputs), /dir=1/);
    fs.writeFileSync(path.join(dir, 'src', 'inner', 'value.ts'), 'export const v: number = 2;\n');
    const b = await k.execute(cell);
    assert.equal(b.status, 'ok', b.errorText);
    assert.match(JSON.stringify(b.outputs), /v=2/);
  } finally {
    await k.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('committed notebooks carry no outputs', () => {
  const dir = path.join(root, 'notebooks');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const c of nb.cells) {
      if (c.cell_type !== 'code') continue;
      assert.deepEqual(c.outputs, [], `${f}: a code cell has outputs: clear them before committing`);
      assert.equal(c.execution_count, null, `${f}: a code cell has an execution count`);
    }
  }
});

test('a cell that floods iopub (error and idle status lost) fails promptly, naming the cell and the lost messages', () => {
  const r = reproduce(path.join(fixtures, 'flood.ipynb'), '--profile', 'smoke', '--timeout', '120');
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.text, /timed out/);
  assert.match(r.text, /cell 1 \(code cell 1\/2\) failed/);
  assert.match(r.text, /idle status never arrived/);
  assert.equal(r.last, '0 passed, 1 failed');
});
