import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MARKER = path.join('data', 'checksums.json');

/**
 * The repository root, found from this file's real location (notebooks run with cwd notebooks/ and reach lib/ through the
 * symlink notebooks/lib, where tslab reports __dirname as notebooks/lib/data: neither cwd nor __dirname is a guide as is).
 * Falls back to GRADREG_REPO (set by the project's kernelspec).
 */
export function findRepoRoot(fromDir: string = __dirname): string {
  const tried: string[] = [];
  const candidates: string[] = [];
  try { candidates.push(path.resolve(fs.realpathSync(fromDir), '..', '..')); } catch { /* a virtual path: try the others */ }
  candidates.push(path.resolve(fromDir, '..', '..'));
  if (process.env.GRADREG_REPO) candidates.push(path.resolve(process.env.GRADREG_REPO));
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, MARKER))) return c;
    tried.push(c);
  }
  throw new Error(`cannot find the gradreg repository (no ${MARKER} in ${tried.join(', ')}): set GRADREG_REPO to the repository root`);
}

/** The repository root (see findRepoRoot); importing lib never throws here, the first read of data/checksums.json does. */
export const REPO_ROOT = (() => {
  try { return findRepoRoot(); } catch { return path.resolve(__dirname, '..', '..'); }
})();

const announced = new Set<string>();

/**
 * Where data sets and checkpoints live: GRADREG_DATA, else <repo>/data. A relative GRADREG_DATA is relative to the repository
 * root, never to the process's cwd (which is notebooks/ in a kernel and the repository in scripts: the same setting used to
 * name two folders); a leading ~/ is the home folder (kernelspec env values are not shell-expanded). The first time each
 * setting is resolved it is printed (unless GRADREG_QUIET=1), so a surprising folder is seen before anything is written there.
 */
export function dataDir(): string {
  const raw = process.env.GRADREG_DATA;
  if (!raw) return path.join(REPO_ROOT, 'data');
  const dir = raw === '~' || raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(1)) : path.resolve(REPO_ROOT, raw);
  if (!announced.has(`${raw}\0${dir}`)) {
    announced.add(`${raw}\0${dir}`);
    if (process.env.GRADREG_QUIET !== '1') {
      const how = path.isAbsolute(raw) ? '' : raw.startsWith('~') ? ', relative to the home folder' : `, relative to the repository root ${REPO_ROOT}`;
      console.log(`gradreg: data folder ${dir} (GRADREG_DATA=${raw}${how})`);
    }
  }
  return dir;
}
