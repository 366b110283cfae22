// Every data file is verified by the sha256 of its DECOMPRESSED bytes against data/checksums.json before use.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

type Table = Record<string, Record<string, string>>;
let table: Table | undefined;

export function checksums(): Table {
  if (!table) table = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'data', 'checksums.json'), 'utf8')) as Table;
  return table;
}

export function sha256(buf: Uint8Array): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export class ChecksumError extends Error {}

/** Throws a ChecksumError naming the file, expected and actual hash, and what to do. */
export function verifySha256(buf: Uint8Array, expected: string, file: string, fix: string): void {
  const got = sha256(buf);
  if (got !== expected) {
    throw new ChecksumError(`checksum mismatch for ${file}: expected sha256 ${expected}, got ${got}. ${fix}`);
  }
}
