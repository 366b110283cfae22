import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

// scripts/test.mjs with explicit files runs only those (no typecheck, no notebooks): enough to check its counting.
function npmTest(...files: string[]) {
  // NODE_TEST_CONTEXT would make the child's test runner think it is nested in ours and skip its files.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, ['scripts/test.mjs', ...files], { cwd: root, encoding: 'utf8', env });
  return { code: r.status, last: r.stdout.trim().split('\n').pop(), text: r.stdout + r.stderr };
}

test('npm test sums the unit results into a last line "N passed, N failed" and exits non-zero on a failure', () => {
  const r = npmTest('test/fixtures/unit/mixed.test.ts', 'test/fixtures/unit/passes.test.ts');
  assert.equal(r.last, '3 passed, 1 failed', r.text);
  assert.equal(r.code, 1);
  assert.match(r.text, /not ok \d+ - fixture: fails on purpose/, 'child output is shown');
});

test('npm test exits 0 when everything passes', () => {
  const r = npmTest('test/fixtures/unit/passes.test.ts');
  assert.equal(r.last, '2 passed, 0 failed', r.text);
  assert.equal(r.code, 0);
});
