import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes a file atomically: a temporary file in the same folder, then rename. Creates folders. Never leaves a partial file. */
export function atomicWrite(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
