// One atomic file write for the whole kit (figures, tables, checkpoints, result cards).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertNotDirectory, describeWriteError } from './writable';

export type WriteData = string | Uint8Array | Iterable<string | Uint8Array>;

/**
 * Writes via a temporary file in the same folder, fsync, then rename: readers see the old file or the new one, never a part.
 * Creates missing folders. On any failure the temporary file is removed and the old file is untouched; the error names
 * `file` and its folder (never the temporary name) and says what to do (read-only folder, full disk, a folder in the way).
 * `what` names the file's role in messages ("the checkpoint", "the figure"; default "the file").
 */
export function atomicWrite(file: string, data: WriteData, what = 'the file'): void {
  const dir = path.dirname(path.resolve(file));
  assertNotDirectory(file, `cannot write ${what}:`);
  let tmp: string | undefined;
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    fd = fs.openSync(tmp, 'wx');
    const chunks: Iterable<string | Uint8Array> = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const c of chunks) {
      if (typeof c === 'string') fs.writeSync(fd, c, null, 'utf8');
      else fs.writeSync(fd, c);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* already closed */ }
    if (tmp !== undefined) try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
    // Errors thrown by the data iterable itself (not the file system) pass through unchanged.
    if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw describeWriteError(e, file, what);
    throw e;
  }
}
