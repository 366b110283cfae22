// Executes notebooks headlessly through the real tslab kernel: `npm run reproduce -- [notebooks...] [--profile P] [--timeout S]`.
// Ends with "N passed, N failed"; exits non-zero if any notebook fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KernelSession, type Output } from './jupyter/kernel-client';
import { REPO_ROOT } from './jupyter/kernelspec';
import { figuresRoot, COMMITTED_PROFILE } from '../lib/report/output-dir';
import { DEFAULT_PROFILE, NOTEBOOK_TIMEOUT_S, PROFILE_BUDGET_S, PROFILE_NAMES, parseProfile, type ProfileName } from '../lib/experiment/profiles';

const USAGE = `usage: npm run reproduce -- [notebooks/NAME.ipynb ...] [--profile ${PROFILE_NAMES.join('|')}] [--timeout SECONDS]
                          [--out DIR] [--figures DIR]
  --profile  default GRADREG_PROFILE, else ${DEFAULT_PROFILE}
  --timeout  per notebook; default ${PROFILE_NAMES.map((p) => `${p} ${NOTEBOOK_TIMEOUT_S[p]} s`).join(', ')}
  --out      executed copies (with outputs) go to DIR/<profile>/ (default build/notebooks)
  --figures  figures go to DIR/<notebook>/ (default figures/ for ${COMMITTED_PROFILE}, whose results are committed, figures/<profile>/ for the others)`;

export interface Args { notebooks: string[]; profile: ProfileName; timeoutS: number; outDir: string; figuresDir: string }

export function parseArgs(argv: string[]): Args {
  const notebooks: string[] = [];
  let profileArg = process.env.GRADREG_PROFILE?.trim() || DEFAULT_PROFILE;
  let profileSource = process.env.GRADREG_PROFILE?.trim() ? 'GRADREG_PROFILE' : 'profile';
  let timeout: number | undefined;
  let outDir = path.join(REPO_ROOT, 'build', 'notebooks');
  let figuresDir: string | undefined;
  const value = (i: number, opt: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${opt} needs a value (try --help)`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [opt, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const next = (): string => inline ?? value(++i, opt);
    if (opt === '--profile') { profileArg = next(); profileSource = '--profile'; }
    else if (opt === '--timeout') {
      const v = next();
      timeout = Number(v);
      if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds, got "${v}"`);
    } else if (opt === '--out') outDir = path.resolve(next());
    else if (opt === '--figures') figuresDir = path.resolve(next());
    else if (opt === '--help' || opt === '-h') { console.log(USAGE); process.exit(0); }
    else if (opt.startsWith('-')) throw new Error(`unknown option ${a} (try --help)`);
    else notebooks.push(path.resolve(a));
  }
  const profile = parseProfile(profileArg, profileSource);
  if (notebooks.length === 0) {
    const dir = path.join(REPO_ROOT, 'notebooks');
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.ipynb')) notebooks.push(path.join(dir, f));
  }
  for (const nb of notebooks) {
    if (!fs.existsSync(nb)) throw new Error(`notebook not found: ${nb}`);
    if (!nb.endsWith('.ipynb')) throw new Error(`not a notebook (expected NAME.ipynb): ${nb}`);
  }
  // The same rule as a notebook run in JupyterLab (lib decides): only the committed profile writes figures/<notebook>/.
  figuresDir ??= figuresRoot(profile, REPO_ROOT);
  return { notebooks, profile, timeoutS: timeout ?? NOTEBOOK_TIMEOUT_S[profile], outDir, figuresDir };
}

interface NotebookJson { cells: { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null }[] }

function src(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

// Cell output as it arrives, indented under the notebook; carriage-return progress bars become lines.
function echo(text: string): string {
  return text.split(/\r?\n|\r/).filter((l, i, a) => l !== '' || i < a.length - 1).map((l) => `      | ${l}\n`).join('');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n');
}

function firstLines(code: string, n = 3): string {
  return code.split('\n').slice(0, n).map((l) => `    | ${l}`).join('\n');
}

// tslab resolves `import "./x"` only to a file x.ts, never to a directory's index.ts: say so when that is the error.
function hint(err: string, notebookDir: string): string {
  const m = /Cannot find module '(\.{1,2}\/[^']*)'[\s\S]*?Require stack:\s*\n- (\S+)/.exec(err);
  if (!m) return '';
  const from = path.dirname(m[2]);
  const target = path.resolve(from.startsWith(notebookDir) ? from : notebookDir, m[1]);
  if (!fs.existsSync(path.join(target, 'index.ts'))) return '';
  return `\n  hint: tslab cannot import a directory: write '${m[1]}/index' (in ${path.relative(REPO_ROOT, m[2])}).`;
}

export interface RunOptions { profile: ProfileName; timeoutS: number; outDir: string; figuresDir: string; log?: (s: string) => void }

export async function runNotebook(file: string, opts: RunOptions): Promise<{ ok: boolean; message: string; seconds: number }> {
  const log = opts.log ?? ((s: string) => process.stdout.write(s));
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as NotebookJson;
  if (!Array.isArray(nb.cells)) throw new Error(`${file} is not a notebook: it has no "cells" array`);
  const name = path.basename(file, '.ipynb');
  const t0 = Date.now();
  // GRADREG_QUIET is for unit tests; a notebook must always show which backend runs.
  const { GRADREG_QUIET: _quiet, ...parentEnv } = process.env;
  const kernel = await KernelSession.start({
    cwd: path.dirname(file),
    env: {
      ...parentEnv, GRADREG_PROFILE: opts.profile, GRADREG_HEADLESS: '1', GRADREG_NOTEBOOK: name,
      GRADREG_FIGURES_DIR: path.join(opts.figuresDir, name), GRADREG_REPO: REPO_ROOT,
    },
    inheritEnv: false,
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<null>((resolve) => { timer = setTimeout(() => { kernel.kill(); resolve(null); }, opts.timeoutS * 1000); });
  let failure = '';
  try {
    const codeCells = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === 'code');
    for (const [k, { c, i }] of codeCells.entries()) {
      const code = src(c);
      const where = `cell ${i} (code cell ${k + 1}/${codeCells.length})`;
      const tc = Date.now();
      let res: Awaited<ReturnType<KernelSession['execute']>> | null;
      try {
        res = await Promise.race([kernel.execute(code, { onStream: (_n, text) => log(echo(text)) }), timedOut]);
      } catch (e) {
        failure = `${where} failed:\n${firstLines(code)}\n  error:\n${indent((e as Error).message)}`;
        break;
      }
      if (res === null) {
        failure = `timed out after ${opts.timeoutS} s in ${where} (option --timeout):\n${firstLines(code)}`;
        break;
      }
      c.outputs = res.outputs;
      c.execution_count = res.executionCount;
      log(`  ${where} ${res.status} in ${((Date.now() - tc) / 1000).toFixed(1)} s\n`);
      if (res.warning) log(`  warning: ${where}: ${res.warning}\n`);
      if (res.status === 'error') {
        // tslab's and node:vm's own stack frames say nothing about the notebook.
        const err = res.errorText.split('\n').filter((l) => !/^\s+at .*(node:vm|[\\/]tslab[\\/]dist[\\/]|sigintHandlersWrap)/.test(l))
          .join('\n').trim() || '(the kernel reported an error without a message)';
        failure = `${where} failed:\n${firstLines(code)}\n  error:\n${indent(err)}${hint(err, path.dirname(file))}`;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    await kernel.close();
  }
  const executed = path.join(opts.outDir, opts.profile, path.basename(file));
  fs.mkdirSync(path.dirname(executed), { recursive: true });
  const tmp = `${executed}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(nb, null, 1) + '\n');
  fs.renameSync(tmp, executed);
  const seconds = (Date.now() - t0) / 1000;
  if (failure) failure += `\n  executed copy with the outputs so far: ${path.relative(process.cwd(), executed)}`;
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
  if (args.notebooks.length === 0) console.log('no notebooks found in notebooks/');
  for (const nb of args.notebooks) {
    const name = path.relative(REPO_ROOT, nb);
    console.log(`▶ ${name} (profile ${args.profile}, timeout ${args.timeoutS} s)`);
    try {
      const r = await runNotebook(nb, args);
      const budget = PROFILE_BUDGET_S[args.profile];
      const over = budget !== null && r.seconds > budget ? ` (over the ${args.profile} budget of ${budget} s on 2 cores: make it lighter)` : '';
      if (r.ok) { passed++; console.log(`✔ ${name} passed in ${r.seconds.toFixed(1)} s${over}`); }
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
