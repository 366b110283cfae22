import * as fs from 'node:fs';
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

/** Where data sets and checkpoints live: GRADREG_DATA, else <repo>/data. */
export function dataDir(): string {
  return process.env.GRADREG_DATA ? path.resolve(process.env.GRADREG_DATA) : path.join(REPO_ROOT, 'data');
}
