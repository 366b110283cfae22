#!/usr/bin/env node
// `npm run setup`: what npm cannot bring, then `npm ci`. Plain Node, no dependencies: it runs before `npm ci`.
//   Debian packages (installed as root or with sudo that asks no password; else the exact command is printed):
//     dataset-fashion-mnist   Fashion-MNIST offline (notebook 02)                                   required
//     libnss3 libexpat1       the system libraries of the npm Chromium (only without a system browser) required
//     python3-torch           PyTorch reference of `npm run bench -- --reference` and its parity test  optional
//     jupyter-nbconvert       Jupyter's own runner, used by one kernelspec test                     optional
//     jupyter-notebook        the classic Jupyter frontend: test/runner/frontend.test.ts, `npm run lab`  optional
//     redis-server            the job queue of `npm run worker` / GRADREG_RUNNER=queue (single host) and its tests  optional
//   then `npm ci` (skipped when node_modules already matches package-lock.json), then a figure-export check (starts the browser).
// Idempotent: present things are left alone. Exit code 1 when something required is still missing.
// Options: --no-extras (skip the optional packages), --dry-run (print the plan, change nothing), --help.
// GRADREG_IGNORE_SYSTEM=1 plans as on a fresh machine (every Debian package counted as missing; for tests).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_NODE = 20;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = { extras: !argv.includes('--no-extras'), dry: argv.includes('--dry-run') };
const say = (s) => console.log(`setup: ${s}`);

if (argv.includes('--help')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const unknown = argv.filter((a) => !['--no-extras', '--dry-run'].includes(a));
if (unknown.length) {
  console.error(`setup: unknown option ${unknown.join(' ')} (use --no-extras, --dry-run, --help)`);
  process.exit(2);
}
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_NODE) {
  console.error(`setup: Node.js ${MIN_NODE} or newer is needed, this is ${process.version}: install a newer Node (https://nodejs.org, or nvm install ${MIN_NODE})`);
  process.exit(1);
}

const fresh = process.env.GRADREG_IGNORE_SYSTEM === '1';
const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const onPath = (name) => (process.env.PATH ?? '').split(path.delimiter).some((d) => {
  try { fs.accessSync(path.join(d, name), fs.constants.X_OK); return true; } catch { return false; }
});

// --- what is there ------------------------------------------------------------------------------------------------
const FASHION = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
function hasFashion() {
  const own = path.join(process.env.GRADREG_DATA ? path.resolve(process.env.GRADREG_DATA) : path.join(root, 'data'), 'fashion-mnist');
  const inOwn = FASHION.every((f) => fs.existsSync(path.join(own, f)) || fs.existsSync(path.join(own, `${f}.gz`)));
  return inOwn || (!fresh && FASHION.every((f) => fs.existsSync(path.join('/usr/share/datasets/fashion-mnist', `${f}.gz`))));
}
// Same names, same order as lib/report/browser.ts.
const systemBrowser = () => process.env.GRADREG_CHROMIUM || (!fresh && ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'].find(onPath)) || '';
const debInstalled = (pkg) => !fresh && spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed');

const wanted = [
  { pkg: 'dataset-fashion-mnist', why: 'Fashion-MNIST offline (notebook 02)', required: true, present: hasFashion },
  ...(systemBrowser() ? [] : ['libnss3', 'libexpat1'].map((pkg) => ({ pkg, why: 'a library of the npm Chromium (figure export)', required: true, present: () => debInstalled(pkg) }))),
  { pkg: 'python3-torch', why: 'PyTorch reference: `npm run bench -- --reference`, test/bench/parity.test.ts', required: false,
    present: () => debInstalled('python3-torch') || (!fresh && ok('/usr/bin/python3', ['-c', 'import torch'])) },
  { pkg: 'jupyter-nbconvert', why: "Jupyter's own runner: test/runner/kernelspec.test.ts", required: false,
    present: () => debInstalled('jupyter-nbconvert') || (!fresh && ok('jupyter', ['nbconvert', '--version'])) },
  { pkg: 'jupyter-notebook', why: 'the classic Jupyter frontend: test/runner/frontend.test.ts (headless browser), `npm run lab`', required: false,
    present: () => debInstalled('jupyter-notebook') || (!fresh && ok('jupyter', ['notebook', '--version'])) },
  { pkg: 'redis-server', why: 'the job queue (BullMQ) of `npm run worker` and GRADREG_RUNNER=queue on one host: test/jobs/queue.test.ts', required: false,
    present: () => debInstalled('redis-server') || (!fresh && onPath('redis-server')) },
];

const present = wanted.filter((w) => w.present());
const missing = wanted.filter((w) => !w.present());
const skippedExtras = opt.extras ? [] : missing.filter((w) => !w.required);
const toInstall = missing.filter((w) => opt.extras || w.required);
const installed = [];
let stillMissing = [];
let failures = 0;

// --- Debian packages ----------------------------------------------------------------------------------------------
const names = (ws) => ws.map((w) => w.pkg).join(' ');
const aptCommand = (ws) => `sudo apt-get update && sudo apt-get install -y ${names(ws)}`;
if (toInstall.length === 0) {
  say(`Debian packages: all present (${names(present) || 'none needed'})`);
} else {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = onPath('apt-get');
  const sudo = !isRoot && apt && onPath('sudo') && ok('sudo', ['-n', 'true']);
  say(`Debian packages missing:\n${toInstall.map((w) => `    ${w.pkg.padEnd(22)} ${w.required ? '' : 'optional: '}${w.why}`).join('\n')}`);
  if (!apt) {
    say('no apt-get here (not Debian/Ubuntu): install the equivalents yourself; Fashion-MNIST also downloads with ' +
      '`npx tsx lib/data/fetch.ts fashion-mnist` after `npm ci` (internet access needed)');
    stillMissing = toInstall;
  } else if (!isRoot && !sudo) {
    say(`cannot install them (not root, and sudo needs a password here). Run:\n    ${aptCommand(toInstall)}\n  then \`npm run setup\` again.`);
    stillMissing = toInstall;
  } else {
    const pre = sudo ? ['sudo', 'DEBIAN_FRONTEND=noninteractive'] : [];
    const run = (args) => {
      const [cmd, ...rest] = [...pre, ...args];
      say(`${opt.dry ? 'would run' : 'running'}: ${[cmd, ...rest].join(' ')}`);
      return opt.dry || spawnSync(cmd, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    };
    if (run(['apt-get', 'update', '-qq']) && run(['apt-get', 'install', '-y', '-qq', ...toInstall.map((w) => w.pkg)])) {
      if (!opt.dry) installed.push(...toInstall);
    } else {
      say(`apt-get failed (see above). Run it yourself:\n    ${aptCommand(toInstall)}`);
      stillMissing = toInstall;
    }
  }
}

// --- npm packages -------------------------------------------------------------------------------------------------
/** node_modules matches package-lock.json: npm's own record of what it installed has every locked package at its version. */
function npmUpToDate() {
  try {
    const want = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages;
    const have = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '.package-lock.json'), 'utf8')).packages;
    for (const [key, p] of Object.entries(want)) {
      if (key === '') continue;
      // Optional packages for other platforms (esbuild's, ...) are locked but not installed.
      if (!have[key]) { if (p.optional) continue; return false; }
      if (have[key].version !== p.version) return false;
    }
    return Object.keys(have).every((k) => k in want);
  } catch {
    return false;
  }
}
if (npmUpToDate()) {
  say('npm packages: up to date (node_modules matches package-lock.json; `npm ci` not needed)');
} else if (opt.dry) {
  say('would run: npm ci --no-audit --no-fund');
} else {
  say('running: npm ci --no-audit --no-fund');
  // Under `npm run`, npm_execpath is the npm that started us; else the one on PATH.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const r = spawnSync(npm[0], [...npm.slice(1), 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say(`npm ci failed (exit ${r.status ?? r.signal}); fix what it reports and run \`npm run setup\` again`);
    process.exit(1);
  }
}

// --- figure export: start the browser the notebooks will use (unpacks the npm one the first time) -------------------
if (!opt.dry) {
  const check = `const b = require('./lib/report/browser.ts');
    b.withBrowserPage((p) => p.context().browser().version()).then(async (v) => {
      const i = b.browserInfo(); console.log(\`setup: figure export: \${i.source} Chromium \${v} (\${i.path})\`); await b.closeBrowser();
    }, (e) => { console.error('setup: figure export check FAILED: ' + e.message); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', check], { cwd: root, stdio: 'inherit', env: { ...process.env, GRADREG_QUIET: '1' } });
  if (r.status !== 0) failures++;
}

// --- summary ------------------------------------------------------------------------------------------------------
const requiredMissing = stillMissing.filter((w) => w.required);
const optionalMissing = [...stillMissing.filter((w) => !w.required), ...skippedExtras];
const parts = [];
if (installed.length) parts.push(`installed ${names(installed)}`);
if (optionalMissing.length) parts.push(`skipped (optional, their tests skip) ${names(optionalMissing)}: \`${aptCommand(optionalMissing)}\` adds them`);
if (requiredMissing.length) parts.push(`MISSING ${names(requiredMissing)}: \`${aptCommand(requiredMissing)}\``);
if (failures) parts.push('figure export does not work (see above)');
if (parts.length) say(parts.join('; '));
const failed = requiredMissing.length > 0 || failures > 0;
say(failed ? 'not ready (see above)' : opt.dry ? 'dry run: nothing changed' : 'ready');
process.exit(failed ? 1 : 0);
