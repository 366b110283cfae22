// One output-folder rule for JupyterLab and the runner (lib/report/output-dir.ts): only the committed profile writes
// figures/<notebook>/, so a smoke run in Lab never replaces the committed quick results; the run says where it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { COMMITTED_PROFILE, describeOutputs, figuresDir, figuresRoot, repoRoot, setRunProfile } from '../../lib/report/output-dir';
import { resolveParams } from '../../lib/experiment/params';
import { parseArgs } from '../../scripts/reproduce';

const root = path.resolve(__dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'notebooks', 'passing.ipynb');

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

function captureLog(fn: () => void): string[] {
  const orig = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => { lines.push(a.map(String).join(' ')); };
  try { fn(); } finally { console.log = orig; }
  return lines;
}

const byProfile = { smoke: { eps: 0.1 }, quick: { eps: 0.2 }, paper: { eps: 0.3 } };
const noRunner = { GRADREG_NOTEBOOK: undefined, GRADREG_FIGURES_DIR: undefined, GRADREG_QUIET: '0' };

test('figuresRoot: figures/ for the committed profile only, figures/<profile>/ for the others', () => {
  assert.equal(COMMITTED_PROFILE, 'quick');
  assert.equal(figuresRoot('quick', '/r'), path.join('/r', 'figures'));
  assert.equal(figuresRoot('smoke', '/r'), path.join('/r', 'figures', 'smoke'));
  assert.equal(figuresRoot('paper', '/r'), path.join('/r', 'figures', 'paper'));
});

test('a notebook outside the runner (JupyterLab) writes where its profile says, and its parameters cell says where', () => {
  withEnv({ ...noRunner, GRADREG_PROFILE: 'smoke' }, () => {
    const lines = captureLog(() => resolveParams(byProfile));
    assert.equal(figuresDir('00-tour'), path.join(repoRoot(), 'figures', 'smoke', '00-tour'));
    assert.deepEqual(lines, ['gradreg: profile smoke: figures and tables go to figures/smoke/<notebook>/ (figures/<notebook>/ holds the committed quick results and is left alone)']);
    // Printed once per destination: re-running the parameters cell does not repeat it.
    assert.deepEqual(captureLog(() => resolveParams(byProfile)), []);
    // The profile the notebook resolved its parameters for decides, not only the environment.
    const quick = captureLog(() => resolveParams(byProfile, {}, { profile: 'quick' }));
    assert.equal(figuresDir('00-tour'), path.join(repoRoot(), 'figures', '00-tour'));
    assert.deepEqual(quick, ['gradreg: profile quick: figures and tables go to figures/<notebook>/ (the committed results)']);
  });
  withEnv({ ...noRunner, GRADREG_QUIET: '1', GRADREG_PROFILE: 'paper' }, () => {
    assert.deepEqual(captureLog(() => resolveParams(byProfile)), [], 'quiet under GRADREG_QUIET=1');
    assert.equal(figuresDir('nb'), path.join(repoRoot(), 'figures', 'paper', 'nb'));
  });
  setRunProfile('quick');
});

test('the runner: its default folder follows the same rule, --figures and the kernel environment win', () => {
  for (const profile of ['smoke', 'quick', 'paper'] as const) {
    assert.equal(parseArgs([fixture, '--profile', profile]).figuresDir, figuresRoot(profile, root), profile);
  }
  assert.equal(parseArgs([fixture, '--profile', 'smoke', '--figures', '/tmp/f']).figuresDir, '/tmp/f');
  withEnv({ GRADREG_NOTEBOOK: 'nb', GRADREG_FIGURES_DIR: '/tmp/f/nb' }, () => {
    assert.equal(figuresDir('nb'), '/tmp/f/nb');
    assert.equal(describeOutputs('smoke'), 'gradreg: profile smoke: figures and tables go to /tmp/f/nb/ (figures/<notebook>/ holds the committed quick results and is left alone)');
  });
});
