import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataDir, findRepoRoot, REPO_ROOT } from '../../lib/data';
import { tmp, withDataDir } from './fixtures';

const repo = path.resolve(__dirname, '..', '..');

test('repo root: found from lib/data itself and through a symlink to lib (how notebooks/ reaches it)', () => {
  assert.equal(REPO_ROOT, repo);
  const dir = tmp();
  fs.symlinkSync(path.join(repo, 'lib'), path.join(dir, 'lib'));
  // tslab reports __dirname as <notebook dir>/lib/data: without resolving the link the root would be <notebook dir>.
  assert.equal(findRepoRoot(path.join(dir, 'lib', 'data')), repo);
});

test('repo root: GRADREG_REPO is the fallback, and a clear error names what was tried', () => {
  const dir = tmp();
  const old = process.env.GRADREG_REPO;
  try {
    delete process.env.GRADREG_REPO;
    assert.throws(() => findRepoRoot(path.join(dir, 'a', 'b')), (e: Error) => e.message.includes(dir) && e.message.includes('GRADREG_REPO'));
    process.env.GRADREG_REPO = repo;
    assert.equal(findRepoRoot(path.join(dir, 'a', 'b')), repo);
  } finally {
    if (old === undefined) delete process.env.GRADREG_REPO; else process.env.GRADREG_REPO = old;
  }
});

test('data dir: GRADREG_DATA (resolved), else <repo>/data', async () => {
  await withDataDir('', () => assert.equal(dataDir(), path.join(repo, 'data')));
  const dir = tmp();
  await withDataDir(dir, () => assert.equal(dataDir(), dir));
});

test('data dir: a relative GRADREG_DATA is relative to the repository root whatever the cwd (notebooks/ in a kernel), ~/ is home', async () => {
  const cwd = process.cwd();
  try {
    process.chdir(path.join(repo, 'notebooks'));
    await withDataDir('my-data', () => assert.equal(dataDir(), path.join(repo, 'my-data')));
    await withDataDir('./x/../other', () => assert.equal(dataDir(), path.join(repo, 'other')));
    await withDataDir('~/gr-data', () => assert.equal(dataDir(), path.join(os.homedir(), 'gr-data')));
    process.chdir(repo);
    await withDataDir('my-data', () => assert.equal(dataDir(), path.join(repo, 'my-data')));
  } finally {
    process.chdir(cwd);
  }
});

test('data dir: printed once per setting, with how it was resolved; silent under GRADREG_QUIET=1', async () => {
  const lines: string[] = [];
  const log = console.log;
  const quiet = process.env.GRADREG_QUIET;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    delete process.env.GRADREG_QUIET;
    await withDataDir('printed-data', () => { dataDir(); dataDir(); });
    await withDataDir('printed-data', () => dataDir());
    process.env.GRADREG_QUIET = '1';
    await withDataDir('quiet-data', () => dataDir());
  } finally {
    console.log = log;
    if (quiet === undefined) delete process.env.GRADREG_QUIET; else process.env.GRADREG_QUIET = quiet;
  }
  assert.deepEqual(lines, [`gradreg: data folder ${path.join(repo, 'printed-data')} (GRADREG_DATA=printed-data, relative to the repository root ${repo})`]);
});
