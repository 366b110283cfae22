// Executes notebooks headlessly through the real tslab kernel: `npm run reproduce -- [notebooks...] [--profile P] [--timeout S]`.
// Ends with "N passed, N failed"; exits non-zero if any notebook fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KernelSession, type Output } from './jupyter/kernel-client';
import { REPO_ROOT } from './jupyter/kernelspec';

const DEFAULT_TIMEOUT_S: Record<string, number> = { smoke: 300, quick: 1800, paper: 7 * 24 * 3600 };

interface Args { notebooks: string[]; profile: string; timeoutS: number; outDir: string }

function parseArgs(argv: string[]): Args {
  const notebooks: string[] = [];
  let profile = process.env.GRADREG_PROFILE || 'quick';
  let timeout: number | undefined;
  let outDir = path.join(REPO_ROOT, 'build', 'notebooks');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profile') profile = argv[++i];
    else if (a.startsWith('--profile=')) profile = a.slice(10);
    else if (a === '--timeout') timeout = Number(argv[++i]);
    else if (a.startsWith('--timeout=')) timeout = Number(a.slice(10));
    else if (a === '--out') outDir = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run reproduce -- [notebooks/NAME.ipynb ...] [--profile smoke|quick|paper] [--timeout SECONDS] [--out DIR]');
      process.exit(0);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a} (try --help)`);
    else notebooks.push(path.resolve(a));
  }
  if (!['smoke', 'quick', 'paper'].includes(profile)) throw new Error(`unknown profile "${profile}": use smoke, quick or paper`);
  if (timeout !== undefined && !(timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
  if (notebooks.length === 0) {
    const dir = path.join(REPO_ROOT, 'notebooks');
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.ipynb')) notebooks.push(path.join(dir, f));
  }
  for (const nb of notebooks) if (!fs.existsSync(nb)) throw new Error(`notebook not found: ${nb}`);
  return { notebooks, profile, timeoutS: timeout ?? DEFAULT_TIMEOUT_S[profile], outDir };
}

interface NotebookJson { cells: { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null }[] }

function src(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

function firstLines(code: string, n = 3): string {
  return code.split('\n').slice(0, n).map((l) => `    | ${l}`).join('\n');
}

export async function runNotebook(file: string, opts: { profile: string; timeoutS: number; outDir: string; log?: (s: string) => void }): Promise<{ ok: boolean; message: string; seconds: number }> {
  const log = opts.log ?? ((s: string) => process.stdout.write(s));
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as NotebookJson;
  const t0 = Date.now();
  const kernel = await KernelSession.start({
    cwd: path.dirname(file),
    env: { GRADREG_PROFILE: opts.profile, GRADREG_HEADLESS: '1', GRADREG_NOTEBOOK: path.basename(file, '.ipynb') },
  });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; kernel.kill(); }, opts.timeoutS * 1000);
  let failure = '';
  try {
    const codeCells = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === 'code');
    for (const [k, { c, i }] of codeCells.entries()) {
      const code = src(c);
      const tc = Date.now();
      const res = await Promise.race([
        kernel.execute(code),
        new Promise<null>((resolve) => { const iv = setInterval(() => { if (timedOut) { clearInterval(iv); resolve(null); } }, 250); }),
      ]);
      if (res === null) {
        failure = `timed out after ${opts.timeoutS} s in cell ${i} (code cell ${k + 1}/${codeCells.length}):\n${firstLines(code)}`;
        break;
      }
      c.outputs = res.outputs;
      c.execution_count = res.executionCount;
      log(`  cell ${i} (${k + 1}/${codeCells.length}) ${res.status} in ${((Date.now() - tc) / 1000).toFixed(1)} s\n`);
      if (res.status === 'error') {
        const err = res.errorText.trim() || '(the kernel reported an error without a message)';
        failure = `cell ${i} (code cell ${k + 1}/${codeCells.length}) failed:\n${firstLines(code)}\n  error:\n${err.split('\n').map((l) => `    ${l}`).join('\n')}`;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    await kernel.close();
  }
  const rel = path.join(opts.outDir, opts.profile, path.basename(file));
  fs.mkdirSync(path.dirname(rel), { recursive: true });
  const tmp = `${rel}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(nb, null, 1) + '\n');
  fs.renameSync(tmp, rel);
  const seconds = (Date.now() - t0) / 1000;
  return { ok: failure === '', message: failure, seconds };
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`reproduce: ${(e as Error).message}`);
    console.log('0 passed, 1 failed');
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  for (const nb of args.notebooks) {
    const name = path.relative(REPO_ROOT, nb);
    console.log(`▶ ${name} (profile ${args.profile}, timeout ${args.timeoutS} s)`);
    try {
      const r = await runNotebook(nb, args);
      if (r.ok) { passed++; console.log(`✔ ${name} passed in ${r.seconds.toFixed(1)} s`); }
      else { failed++; console.log(`✘ ${name} FAILED after ${r.seconds.toFixed(1)} s: ${r.message}`); }
    } catch (e) {
      failed++;
      console.log(`✘ ${name} FAILED: ${(e as Error).message}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (require.main === module) void main();
