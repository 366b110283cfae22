// Every data file is verified against data/checksums.json before use (IDX files by the sha256 of their DECOMPRESSED bytes,
// since Debian's .gz headers differ from upstream's; archives by size and md5).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { maybeGunzip } from './idx';
import { REPO_ROOT } from './paths';
import { readFileChecked } from '../util/writable';

type Table = Record<string, Record<string, string>>;
let table: Table | undefined;

/** The checksum table data/checksums.json: { dataSet: { fileName: sha256, "archive:md5": ..., "archive:size": ... } }. */
export function checksums(): Table {
  if (!table) {
    const file = path.join(REPO_ROOT, 'data', 'checksums.json');
    if (!fs.existsSync(file)) {
      throw new Error(`the checksum table ${file} is missing: it is part of the repository (restore it with \`git checkout -- data/checksums.json\`)`);
    }
    table = JSON.parse(fs.readFileSync(file, 'utf8')) as Table;
  }
  return table;
}

/** One entry of the checksum table, with an error naming the table when it is absent. */
export function checksumOf(set: string, key: string): string {
  const v = checksums()[set]?.[key];
  if (v === undefined) throw new Error(`data/checksums.json has no entry ${set} / ${key}`);
  return v;
}

export function sha256(buf: Uint8Array): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export function md5(buf: Uint8Array): string {
  return crypto.createHash('md5').update(buf).digest('hex');
}

export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

export interface ExpectedChecksums {
  sha256?: string;
  md5?: string;
  size?: number;
}

/** Throws a ChecksumError naming the file and, for each check that failed, expected vs got; `fix` says what to do. */
export function verifyBuffer(buf: Uint8Array, expected: ExpectedChecksums, file: string, fix = ''): void {
  const bad: string[] = [];
  if (expected.size !== undefined && buf.length !== expected.size) bad.push(`expected size ${expected.size} bytes, got ${buf.length}`);
  if (expected.md5 !== undefined) {
    const got = md5(buf);
    if (got !== expected.md5) bad.push(`expected md5 ${expected.md5}, got ${got}`);
  }
  if (expected.sha256 !== undefined) {
    const got = sha256(buf);
    if (got !== expected.sha256) bad.push(`expected sha256 ${expected.sha256}, got ${got}`);
  }
  if (bad.length) throw new ChecksumError(`checksum mismatch for ${file}: ${bad.join('; ')}.${fix ? ` ${fix}` : ''}`);
}

/**
 * Verifies a file on disk (with `gunzip`, the checks apply to its decompressed bytes when it is gzip) and returns its bytes
 * (decompressed when `gunzip`). Throws if it is missing or does not match; it never moves or changes the file.
 */
export function verifyFile(file: string, expected: ExpectedChecksums & { gunzip?: boolean }): Uint8Array {
  if (!fs.existsSync(file)) throw new Error(`cannot verify ${file}: it does not exist`);
  const raw: Uint8Array = readFileChecked(file, 'the data file');
  const buf = expected.gunzip ? maybeGunzip(raw, file) : raw;
  verifyBuffer(buf, expected, file);
  return buf;
}

/**
 * Moves a bad file aside (never deletes data, never uses it) and returns the new name. When it cannot be moved (a read-only
 * data folder) the error is still a ChecksumError that says the file is bad: `diagnosis` (what the check found; default: a
 * generic "failed its integrity check"), then why it stayed in place and what to do, never a bare EACCES from the rename.
 */
export function moveAside(file: string, diagnosis?: string): string {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const dir = path.dirname(path.resolve(file));
    const what = diagnosis ?? `${file} failed its integrity check (checksum or format): it is corrupt or not the expected file.`;
    throw new ChecksumError(`${what.trimEnd()} It could not be moved aside (its folder ${dir} is not writable: ${code}), so it is still there ` +
      `and will fail again: delete or replace it yourself (e.g. \`rm ${file}\`, then get the file again), or make the folder writable ` +
      `(\`chmod u+w ${dir}\`) so the kit can move it aside.`, { cause: e });
  }
  return aside;
}
