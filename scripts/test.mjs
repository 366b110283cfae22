// `npm test`: strict typecheck, unit tests (node's test runner), then every notebook on the smoke profile.
// The last line is the summary "N passed, N failed" over unit tests and notebooks; exit code 1 on any failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2); // optional: test files or dirs to run (skips typecheck and notebooks when given)

function run(cmd, args, { capture = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (stream) => (d) => { const s = d.toString(); out += s; stream.write(s); };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function findTests(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return p.endsWith('.test.ts') ? [p] : [];
  return fs.readdirSync(p).sort().flatMap((f) => (f === 'fixtures' ? [] : findTests(path.join(p, f))));
}

let passed = 0;
let failed = 0;
const node = process.execPath;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

if (only.length === 0) {
  console.log('== typecheck (tsc --noEmit, strict)');
  const tsc = await run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  if (tsc.code === 0) { passed++; console.log('typecheck ok'); } else { failed++; console.log('typecheck FAILED'); }
  // Notebooks compile lib/ with tslab's own TypeScript 5.0.4, not strict: code that strict 5.9 accepts can fail there.
  console.log("== typecheck as tslab compiles lib/ (TypeScript 5.0.4, not strict)");
  const tslabTsc = path.join(root, 'node_modules', '@tslab', 'typescript-for-tslab', 'lib', 'tsc.js');
  const t2 = await run(node, [tslabTsc, '-p', 'tsconfig.tslab.json']);
  if (t2.code === 0) { passed++; console.log('tslab typecheck ok'); } else { failed++; console.log('tslab typecheck FAILED'); }
}

const files = (only.length ? only : ['test']).flatMap((p) => findTests(path.resolve(root, p))).map((f) => path.relative(root, f));
console.log(`== unit tests (${files.length} files)`);
// A hung test (a kernel that never answers, a wait on a dead worker) fails after 5 min instead of stalling CI.
const unit = await run(node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', '--test-reporter=tap', ...files],
  { env: { GRADREG_QUIET: '1' } });
const p = unit.out.match(/^# pass (\d+)/m);
const f = unit.out.match(/^# fail (\d+)/m);
const c = unit.out.match(/^# cancelled (\d+)/m);
const todo = Number(unit.out.match(/^# todo (\d+)/m)?.[1] ?? 0);
const skipped = Number(unit.out.match(/^# skipped (\d+)/m)?.[1] ?? 0);
if (todo || skipped) console.log(`not counted: ${todo} todo (known problems, see "# TODO" above), ${skipped} skipped`);
passed += p ? Number(p[1]) : 0;
failed += (f ? Number(f[1]) : 0) + (c ? Number(c[1]) : 0);
if (!p || (unit.code !== 0 && !(f && Number(f[1]) > 0))) { failed++; console.log(`unit test runner exited with code ${unit.code}`); }

if (only.length === 0) {
  console.log('== notebooks on the smoke profile');
  // Smoke figures are throwaway: keep them out of figures/.
  const nb = await run(node, ['--import', 'tsx', 'scripts/reproduce.ts', '--profile', 'smoke', '--figures', path.join('build', 'figures', 'smoke')]);
  const m = [...nb.out.matchAll(/^(\d+) passed, (\d+) failed\s*$/gm)].pop();
  if (m) { passed += Number(m[1]); failed += Number(m[2]); }
  else { failed++; console.log(`notebook runner exited with code ${nb.code} without a summary`); }
}

// Skipped tests (optional parts not installed, each with its reason above) show on the last line too.
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
