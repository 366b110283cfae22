// A notebook compiles lib/ with tslab's TypeScript 5.0.4; a worker loads it through tsx (esbuild). The compiled source of
// the same function differs between the two, so a key that hashed it would never let a notebook find the checkpoints its
// workers wrote. Library terms are keyed by their recipe, library models and attacks as 'lib' (their code is in the lib
// digest): the checkpoint and evaluation keys must be the same under both compilers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const probe = path.join(__dirname, 'fixtures', 'key-probe.cjs');

test('the cache keys of library terms, models and attacks are the same under tslab\'s compiler and under tsx', async () => {
  const env = { ...process.env, GRADREG_QUIET: '1', NODE_OPTIONS: '' };
  const [a, b] = await Promise.all([
    run(process.execPath, [probe, 'tslab'], { env, cwd: root }),
    run(process.execPath, ['--require', 'tsx/cjs', probe, 'tsx'], { env, cwd: root }),
  ]);
  type Probe = { key: string; src: string; evalKey: string; evalSrc: string };
  const tslab = JSON.parse(a.stdout.trim().split('\n').pop()!) as Probe;
  const tsx = JSON.parse(b.stdout.trim().split('\n').pop()!) as Probe;
  // The premise: the two compilers emit different source for the same library terms (else this test would show nothing).
  assert.notEqual(tslab.src, tsx.src, 'tslab and tsx now emit the same term source: the key equality below is no longer a strong check');
  assert.equal(tslab.key, tsx.key);
  // Evaluation jobs: a worker's attack results are found by the notebook only if the model and attack keys agree too.
  assert.notEqual(tslab.evalSrc, tsx.evalSrc, 'tslab and tsx now emit the same attack/model source: the eval key equality is no longer a strong check');
  assert.equal(tslab.evalKey, tsx.evalKey);
});
