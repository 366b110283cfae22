// One atomic file write for the whole kit (figures, tables, checkpoints, result cards).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type WriteData = string | Uint8Array | Iterable<string | Uint8Array>;

/**
 * Writes via a temporary file in the same folder, fsync, then rename: readers see the old file or the new one, never a part.
 * Creates missing folders. On any failure the temporary file is removed and the old file is untouched.
 */
export function atomicWrite(file: string, data: WriteData): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
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
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
    throw e;
  }
}
