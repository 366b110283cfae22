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

function reproduce(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', '--out', out, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, GRADREG_BACKEND: 'cpu' } });
  return { code: r.status, text: r.stdout + r.stderr, last: r.stdout.trim().split('\n').pop() };
}

test('a failing cell makes reproduce exit non-zero, naming the cell and the real error', () => {
  const r = reproduce(path.join(fixtures, 'failing.ipynb'), '--profile', 'smoke');
  assert.notEqual(r.code, 0);
  assert.match(r.text, /cell 2 \(code cell 2\/3\) failed/);
  assert.match(r.text, /Error: boom-42/);
  assert.equal(r.last, '0 passed, 1 failed');
});

test('a passing notebook passes, and its executed copy keeps outputs incl. the backend line', () => {
  const r = reproduce(path.join(fixtures, 'passing.ipynb'), '--profile', 'smoke');
  assert.equal(r.code, 0, r.text);
  assert.equal(r.last, '1 passed, 0 failed');
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'smoke', 'passing.ipynb'), 'utf8'));
  const text = JSON.stringify(nb.cells.map((c: { outputs?: unknown }) => c.outputs ?? []));
  assert.match(text, /using the cpu backend/);
  assert.match(text, /sum=6/);
});

test('a notebook past its timeout is killed and reported as failed', () => {
  const t0 = Date.now();
  const r = reproduce(path.join(fixtures, 'slow.ipynb'), '--profile', 'smoke', '--timeout', '3');
  assert.notEqual(r.code, 0);
  assert.match(r.text, /timed out after 3 s/);
  assert.ok(Date.now() - t0 < 40_000, 'the runner waited for the slow cell instead of killing it');
});

test('editing a lib file and re-running the import cell picks up the change without a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-reload-'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'mod.ts'), 'export const v: number = 1;\n');
  const k = await KernelSession.start({ cwd: dir });
  try {
    const a = await k.execute('import { v } from "./mod";\nconsole.log("v=" + v);');
    assert.equal(a.status, 'ok', a.errorText);
    assert.match(JSON.stringify(a.outputs), /v=1/);
    fs.writeFileSync(path.join(dir, 'mod.ts'), 'export const v: number = 2;\n');
    const b = await k.execute('import { v } from "./mod";\nconsole.log("v=" + v);');
    assert.match(JSON.stringify(b.outputs), /v=2/);
  } finally {
    await k.close();
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
