// A notebook compiles lib/ with tslab's TypeScript 5.0.4; a worker loads it through tsx (esbuild). The compiled source of
// the same function differs between the two, so a key that hashed it would never let a notebook find the checkpoints its
// workers wrote. Library terms are keyed by their recipe: the key must be the same under both compilers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const probe = path.join(__dirname, 'fixtures', 'key-probe.cjs');

test('the cache key of library terms is the same under tslab\'s compiler and under tsx', async () => {
  const env = { ...process.env, GRADREG_QUIET: '1', NODE_OPTIONS: '' };
  const [a, b] = await Promise.all([
    run(process.execPath, [probe, 'tslab'], { env, cwd: root }),
    run(process.execPath, ['--require', 'tsx/cjs', probe, 'tsx'], { env, cwd: root }),
  ]);
  const tslab = JSON.parse(a.stdout.trim().split('\n').pop()!) as { key: string; src: string };
  const tsx = JSON.parse(b.stdout.trim().split('\n').pop()!) as { key: string; src: string };
  // The premise: the two compilers emit different source for the same library terms (else this test would show nothing).
  assert.notEqual(tslab.src, tsx.src, 'tslab and tsx now emit the same term source: the key equality below is no longer a strong check');
  assert.equal(tslab.key, tsx.key);
});
