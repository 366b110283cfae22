import * as path from 'node:path';

/** The repository root, found from this file (notebooks run with cwd notebooks/, so cwd is no guide). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Where data sets and checkpoints live: GRADREG_DATA, else <repo>/data. */
export function dataDir(): string {
  return process.env.GRADREG_DATA ? path.resolve(process.env.GRADREG_DATA) : path.join(REPO_ROOT, 'data');
}
