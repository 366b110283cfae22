// Where a run writes its figures and tables: one rule for JupyterLab, the headless runner and scripts, so that only a run
// of the committed profile can replace the committed results in figures/<notebook>/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activeProfile, DEFAULT_PROFILE, type ProfileName } from '../experiment/profiles';

/** The profile whose results are committed under figures/<notebook>/ (README: "the committed ones come from quick"). */
export const COMMITTED_PROFILE: ProfileName = DEFAULT_PROFILE;

/** The repository root: GRADREG_REPO, else the folder above lib/ holding package.json (symlinks resolved, so notebooks/lib works). */
export function repoRoot(): string {
  if (process.env.GRADREG_REPO) return path.resolve(process.env.GRADREG_REPO);
  let dir = fs.realpathSync(__dirname);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'lib'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no package.json above ${__dirname}; set GRADREG_REPO (or GRADREG_FIGURES_DIR) to the repository root`);
    dir = up;
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A plain file name (letters, digits, '.', '_', '-'; no folders, no '..'): the rule for every file the kit writes. */
export function checkFileName(where: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !SAFE_NAME.test(v) || v.includes('..')) {
    throw new Error(`${where}: ${field} ${JSON.stringify(v)} is not a plain file name; use letters, digits, '.', '_' and '-' (e.g. '01-gradient-penalty')`);
  }
  return v;
}

/** The profile the notebook resolved its parameters for (resolveParams records it), else the active one. */
let runProfile: ProfileName | undefined;

export function setRunProfile(profile: ProfileName): void {
  runProfile = profile;
}

function currentProfile(): ProfileName {
  return runProfile ?? activeProfile();
}

/** The folder holding every notebook's folder for a profile: figures/ for the committed profile, else figures/<profile>/. */
export function figuresRoot(profile: ProfileName = currentProfile(), repo: string = repoRoot()): string {
  return profile === COMMITTED_PROFILE ? path.join(repo, 'figures') : path.join(repo, 'figures', profile);
}

/**
 * The folder for a notebook's figures and tables (not created here; writes create it):
 * - under the headless runner (GRADREG_NOTEBOOK set), GRADREG_FIGURES_DIR is that notebook's own folder, and other
 *   notebook names go beside it;
 * - otherwise GRADREG_FIGURES_DIR, when set, is the root: <root>/<notebook>;
 * - else figuresRoot(profile)/<notebook>: figures/<notebook> for the committed profile (quick), figures/<profile>/<notebook>
 *   for the others, so a smoke run in JupyterLab never replaces the committed results.
 */
export function figuresDir(notebook: string): string {
  const name = checkFileName('figuresDir', 'notebook', typeof notebook === 'string' ? notebook.replace(/\.ipynb$/, '') : notebook);
  const env = process.env.GRADREG_FIGURES_DIR ? path.resolve(process.env.GRADREG_FIGURES_DIR) : undefined;
  const running = process.env.GRADREG_NOTEBOOK?.replace(/\.ipynb$/, '');
  if (env && running) return name === running ? env : path.join(path.dirname(env), name);
  return path.join(env ?? figuresRoot(), name);
}

/** One line saying where this run writes, e.g. "gradreg: profile smoke writes figures and tables to figures/smoke/<notebook>/ ...". */
export function describeOutputs(profile: ProfileName = currentProfile()): string {
  const running = process.env.GRADREG_NOTEBOOK?.replace(/\.ipynb$/, '');
  let repo: string | undefined;
  try { repo = repoRoot(); } catch { /* no repository: absolute paths */ }
  const show = (p: string) => {
    const rel = repo ? path.relative(repo, p) : p;
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
  };
  const dir = running ? figuresDir(running) : process.env.GRADREG_FIGURES_DIR ? path.join(path.resolve(process.env.GRADREG_FIGURES_DIR), '<notebook>')
    : path.join(figuresRoot(profile), '<notebook>');
  const committed = profile === COMMITTED_PROFILE ? ' (the committed results)' : ` (figures/<notebook>/ holds the committed ${COMMITTED_PROFILE} results and is left alone)`;
  return `gradreg: profile ${profile}: figures and tables go to ${show(dir)}/${committed}`;
}

let announced = '';

/** Records the run's profile and prints describeOutputs once per destination (not under GRADREG_QUIET=1). */
export function announceOutputs(profile: ProfileName): void {
  setRunProfile(profile);
  const line = describeOutputs(profile);
  if (line !== announced && process.env.GRADREG_QUIET !== '1') console.log(line);
  announced = line;
}
