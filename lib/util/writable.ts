// File-system preconditions with errors a user can act on. A bare "EACCES: permission denied, open '.x.123.tmp'" after an epoch
// of training names neither the folder nor the fix (and hides the temporary file's purpose); these checks run up front and
// name the folder, what it is for, and what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An Error carrying the original error's code (EACCES, EISDIR, ...) so callers can still branch on it. */
export type FsError = Error & { code?: string; path?: string };

function fsError(message: string, cause: unknown, file: string): FsError {
  const e = new Error(message, { cause }) as FsError;
  e.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  e.path = file;
  return e;
}

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/** "not writable (EACCES: permission denied)", "on a read-only file system (EROFS)", ... for an fs error code. */
function reason(code: string | undefined): string {
  switch (code) {
    case 'EACCES': case 'EPERM': return `not writable by this user (${code}: permission denied)`;
    case 'EROFS': return 'on a read-only file system (EROFS)';
    case 'ENOSPC': return 'on a full disk (ENOSPC)';
    case 'EDQUOT': return 'over the disk quota (EDQUOT)';
    default: return `not usable (${code ?? 'unknown error'})`;
  }
}

/** The nearest existing ancestor of p (p itself if it exists). */
function existingAncestor(p: string): string {
  let q = path.resolve(p);
  while (!fs.existsSync(q) && path.dirname(q) !== q) q = path.dirname(q);
  return q;
}

/**
 * Makes sure `dir` exists (created if missing) and that this process can create files in it, by creating and removing a
 * probe file (the only check that also catches read-only mounts and ACLs). `what` names the folder's purpose ("the data
 * folder", "the checkpoint folder"); `alternative` says how to point the kit elsewhere (e.g. "set GRADREG_DATA to a writable
 * folder"). Throws an error naming the folder, the reason and the fix. Returns the absolute path.
 */
export function ensureWritableDir(dir: string, what: string, alternative?: string): string {
  const abs = path.resolve(dir);
  const fix = (target: string) => `make it writable (\`chmod u+w ${target}\`, or run as its owner)${alternative ? `, or ${alternative}` : ''}`;
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw fsError(`${what} ${abs} is a file, not a folder: move the file away${alternative ? `, or ${alternative}` : ''}`, undefined, abs);
  }
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const anc = existingAncestor(abs);
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw fsError(`cannot create ${what} ${abs}: ${anc} is a file, not a folder: move it away${alternative ? `, or ${alternative}` : ''}`, e, abs);
    }
    throw fsError(`cannot create ${what} ${abs}: ${anc} is ${reason(code)}; ${fix(anc)}`, e, abs);
  }
  const probe = path.join(abs, `.gradreg-write-check-${process.pid}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'w' });
  } catch (e) {
    throw fsError(`${what} ${abs} is ${reason((e as NodeJS.ErrnoException).code)}: nothing can be saved there; ${fix(abs)}`, e, abs);
  } finally {
    try { fs.rmSync(probe, { force: true }); } catch { /* not created */ }
  }
  return abs;
}

/** Throws a clear error when a folder sits where the file `file` (`what`: "the checkpoint", "the data file") should be. */
export function assertNotDirectory(file: string, what: string): void {
  let st: fs.Stats;
  try { st = fs.statSync(file); } catch { return; }
  if (st.isDirectory()) {
    throw fsError(`${what} ${path.resolve(file)} is a folder, not a file: move or delete the folder (a file of that name goes there)`, undefined, file);
  }
}

/** fs.readFileSync with errors that name the file and its role (a folder in its place, no permission to read it). */
export function readFileChecked(file: string, what: string): Buffer {
  assertNotDirectory(file, what);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fsError(`${what} ${path.resolve(file)} does not exist`, e, file);
    if (DENIED.has(code ?? '')) throw fsError(`cannot read ${what} ${path.resolve(file)}: permission denied (${code}); make it readable (\`chmod u+r ${file}\`)`, e, file);
    throw fsError(`cannot read ${what} ${path.resolve(file)}: ${(e as Error).message}`, e, file);
  }
}

/** Rewrites a write error on `file` so it names the file, the folder and the fix, not a temporary name. */
export function describeWriteError(e: unknown, file: string, what = 'the file'): FsError {
  const code = (e as NodeJS.ErrnoException).code;
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const folderInTheWay = fs.existsSync(abs) && fs.statSync(abs).isDirectory();
  if (code === 'EISDIR' || ((code === 'ENOTEMPTY' || code === 'EEXIST') && folderInTheWay)) {
    return fsError(`cannot write ${what} ${abs}: a folder of that name is in the way; move or delete it`, e, abs);
  }
  if (DENIED.has(code ?? '') || code === 'ENOSPC' || code === 'EDQUOT') {
    return fsError(`cannot write ${what} ${abs}: its folder ${dir} is ${reason(code)}; ` +
      (code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space or choose another folder' : `make it writable (\`chmod u+w ${dir}\`) or choose another folder`), e, abs);
  }
  const blocker = existingAncestor(dir);
  if ((code === 'ENOTDIR' || code === 'EEXIST') && !fs.statSync(blocker).isDirectory()) {
    return fsError(`cannot write ${what} ${abs}: ${blocker} is a file, not a folder; move it away`, e, abs);
  }
  return fsError(`cannot write ${what} ${abs}: ${(e as Error).message}`, e, abs);
}
