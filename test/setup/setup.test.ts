// `npm run setup` (scripts/setup.mjs) in throwaway copies of the repository, with fake apt-get/sudo/npm that only record
// their arguments: what it plans on a fresh machine (GRADREG_IGNORE_SYSTEM=1), as root and as a user without sudo, that it
// is quiet and changes nothing when all is there, and the real run (fake installers, real figure-export check).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const ALL = 'dataset-fashion-mnist libnss3 libexpat1 python3-torch jupyter-nbconvert jupyter-notebook redis-server';

interface Fake { root: string; log: string; bin: string }
const made: string[] = [];
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

/** A copy of the repo with only what setup reads; fake apt-get and sudo (failing) on PATH; fake npm as npm_execpath. */
function fakeRepo(opts: { lock?: object; installed?: object; linkRepo?: boolean } = {}): Fake {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-setup-'));
  made.push(root);
  fs.chmodSync(root, 0o755);
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(path.join(repo, 'scripts', 'setup.mjs'), path.join(root, 'scripts', 'setup.mjs'));
  const lock = opts.lock ?? { packages: { '': {}, 'node_modules/a': { version: '1.0.0' } } };
  fs.writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock));
  if (opts.linkRepo) {
    // The real lib/ and node_modules/ (for the figure-export check); the lock above differs, so `npm ci` is due.
    fs.symlinkSync(path.join(repo, 'lib'), path.join(root, 'lib'));
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  } else if (opts.installed) {
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.writeFileSync(path.join(root, 'node_modules', '.package-lock.json'), JSON.stringify(opts.installed));
  }
  const bin = path.join(root, 'fake-bin');
  fs.mkdirSync(bin);
  const log = path.join(root, 'calls.log');
  fs.writeFileSync(log, '', { mode: 0o666 });
  fs.chmodSync(log, 0o666);
  fs.writeFileSync(path.join(bin, 'apt-get'), `#!/bin/sh\necho "apt-get $*" >> ${log}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'sudo'), `#!/bin/sh\necho "sudo $*" >> ${log}\nexit 1\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'npm-cli.js'), `require('fs').appendFileSync(${JSON.stringify(log)}, 'npm ' + process.argv.slice(2).join(' ') + '\\n');\n`);
  return { root, log, bin };
}

function setup(f: Fake, args: string[], env: Record<string, string | undefined>, asNobody = false) {
  const { NODE_TEST_CONTEXT: _c, GRADREG_CHROMIUM: _g, ...base } = process.env;
  const fullEnv: NodeJS.ProcessEnv = { ...base, PATH: `${f.bin}${path.delimiter}${process.env.PATH}`, npm_execpath: path.join(f.bin, 'npm-cli.js'), ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const cmd = [process.execPath, path.join(f.root, 'scripts', 'setup.mjs'), ...args];
  const r = asNobody
    ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd], { cwd: f.root, encoding: 'utf8', env: { ...fullEnv, HOME: f.root } })
    : spawnSync(cmd[0], cmd.slice(1), { cwd: f.root, encoding: 'utf8', env: fullEnv });
  return { code: r.status, out: r.stdout + r.stderr, calls: fs.readFileSync(f.log, 'utf8').trim().split('\n').filter((l) => l !== '') };
}

test('fresh machine, as root: plans every Debian package (required and optional) and npm ci, changes nothing on --dry-run', { skip: isRoot ? false : 'needs root (CI runs as root)' }, () => {
  const f = fakeRepo();
  const r = setup(f, ['--dry-run'], { GRADREG_IGNORE_SYSTEM: '1', GRADREG_DATA: path.join(f.root, 'data') });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /dataset-fashion-mnist\s+Fashion-MNIST offline/);
  assert.match(r.out, /python3-torch\s+optional: PyTorch reference/);
  assert.ok(r.out.includes(`would run: apt-get install -y -qq ${ALL}`), r.out);
  assert.match(r.out, /would run: npm ci --no-audit --no-fund/);
  assert.deepEqual(r.calls, [], 'a dry run runs nothing');
});

test('fresh machine, no root and sudo asks a password: prints the exact apt command and fails (required data set missing)',
  { skip: isRoot && hasSetpriv ? false : 'needs root and setpriv to run it as an unprivileged user' }, () => {
    const f = fakeRepo();
    const r = setup(f, ['--dry-run'], { GRADREG_IGNORE_SYSTEM: '1', GRADREG_DATA: path.join(f.root, 'data') }, true);
    assert.equal(r.code, 1, r.out);
    assert.ok(r.out.includes(`sudo apt-get update && sudo apt-get install -y ${ALL}`), r.out);
    assert.match(r.out, /then `npm run setup` again/);
    assert.match(r.out, /MISSING dataset-fashion-mnist libnss3 libexpat1/);
    assert.deepEqual(r.calls, ['sudo -n true'], 'only asked sudo whether it needs a password');
  });

test('everything there: quiet, nothing installed, npm ci skipped; a changed lock makes npm ci due again', () => {
  const lock = { packages: { '': {}, 'node_modules/a': { version: '1.0.0' }, 'node_modules/@esbuild/darwin-arm64': { version: '0.1.0', optional: true } } };
  const f = fakeRepo({ lock, installed: { packages: { 'node_modules/a': { version: '1.0.0' } } } });
  const data = path.join(f.root, 'data');
  fs.mkdirSync(path.join(data, 'fashion-mnist'), { recursive: true });
  for (const n of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) fs.writeFileSync(path.join(data, 'fashion-mnist', `${n}.gz`), '');
  // A given browser needs no system libraries; --no-extras leaves the optional packages out.
  const env = { GRADREG_IGNORE_SYSTEM: '1', GRADREG_DATA: data, GRADREG_CHROMIUM: '/opt/chrome' };
  const r = setup(f, ['--dry-run', '--no-extras'], env);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Debian packages: all present \(dataset-fashion-mnist\)/);
  assert.match(r.out, /npm packages: up to date/);
  assert.match(r.out, /skipped \(optional, their tests skip\) python3-torch jupyter-nbconvert jupyter-notebook/);
  assert.ok(r.out.trim().split('\n').length <= 4, r.out);
  assert.deepEqual(r.calls, []);
  fs.writeFileSync(path.join(f.root, 'package-lock.json'), JSON.stringify({ packages: { '': {}, 'node_modules/a': { version: '1.0.1' } } }));
  assert.match(setup(f, ['--dry-run', '--no-extras'], env).out, /would run: npm ci/);
});

test('the real run as root: apt-get then npm ci with the right arguments, then figure export starts the npm Chromium', { skip: isRoot ? false : 'needs root (CI runs as root)' }, () => {
  const f = fakeRepo({ linkRepo: true });
  const r = setup(f, [], { GRADREG_IGNORE_SYSTEM: '1', GRADREG_DATA: path.join(f.root, 'data') });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.calls, ['apt-get update -qq', `apt-get install -y -qq ${ALL}`, 'npm ci --no-audit --no-fund']);
  assert.match(r.out, /figure export: npm Chromium \d+/);
  assert.ok(r.out.includes(`installed ${ALL}`), r.out);
  assert.match(r.out.trim().split('\n').pop()!, /setup: ready/);
});

test('unknown options are refused with the list of known ones', () => {
  const f = fakeRepo();
  const r = setup(f, ['--fast'], {});
  assert.equal(r.code, 2);
  assert.match(r.out, /unknown option --fast \(use --no-extras, --dry-run, --help\)/);
});
