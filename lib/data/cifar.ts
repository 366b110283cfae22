// CIFAR-10 (binary version): downloaded on request into data/cifar10/, md5- and size-checked; kept as uint8, converted per batch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, checksumOf, moveAside, verifyBuffer } from './checksums';
import { InMemoryDataSet, type SplitData } from './dataset';
import { downloadFile, stderrProgress } from './download';
import { maybeGunzip } from './idx';
import { dataDir } from './paths';
import { readFileChecked } from '../util/writable';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
const ARCHIVE = 'cifar-10-binary.tar.gz';
const RECORD = 1 + 3072;

/** Files of a (ustar) tar archive by name. */
export function untar(buf: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let off = 0;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a: number, n: number) => Buffer.from(header.subarray(a, a + n)).toString('latin1').replace(/\0.*$/s, '');
    // The name prefix field exists only in POSIX ustar headers ("ustar\0"); GNU headers ("ustar  ") keep other data there.
    const posix = str(257, 6) === 'ustar' && header[262] === 0;
    const prefix = posix ? str(345, 155) : '';
    const name = (prefix ? prefix + '/' : '') + str(0, 100);
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1);
    if (!Number.isFinite(size)) throw new Error(`not a tar archive: the header at byte ${off} has no valid size field`);
    if (off + 512 + size > buf.length) throw new Error(`tar archive is truncated inside ${name}`);
    if (type === '0' || type === '') files.set(name, buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Decodes CIFAR binary records (label byte + 3072 bytes CHW) into NHWC uint8 + labels. */
export function readCifarBatch(buf: Uint8Array, name = 'CIFAR batch'): SplitData {
  if (buf.length % RECORD !== 0) throw new Error(`${name}: ${buf.length} bytes is not a whole number of ${RECORD}-byte records`);
  const n = buf.length / RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = buf.subarray(i * RECORD, (i + 1) * RECORD);
    if (r[0] > 9) throw new Error(`${name}: record ${i} has label ${r[0]}, expected 0..9`);
    labels[i] = r[0];
    const o = i * 3072;
    for (let p = 0; p < 1024; p++) {
      images[o + 3 * p] = r[1 + p];
      images[o + 3 * p + 1] = r[1 + 1024 + p];
      images[o + 3 * p + 2] = r[1 + 2048 + p];
    }
  }
  return { images, labels };
}

function concat(parts: SplitData[]): SplitData {
  const images = new Uint8Array(parts.reduce((a, p) => a + p.images.length, 0));
  const labels = new Int32Array(parts.reduce((a, p) => a + p.labels.length, 0));
  let io = 0, lo = 0;
  for (const p of parts) { images.set(p.images, io); labels.set(p.labels, lo); io += p.images.length; lo += p.labels.length; }
  return { images, labels };
}

/** Builds the data set from the archive bytes (train = data_batch_1..5, test = test_batch, as published). */
export function cifarFromArchive(archive: Uint8Array): InMemoryDataSet {
  const files = untar(maybeGunzip(archive, 'CIFAR-10 archive'));
  const find = (base: string) => {
    for (const [k, v] of files) if (k.endsWith(`/${base}`) || k === base) return readCifarBatch(v, base);
    throw new Error(`CIFAR-10 archive has no ${base}: is it the binary version (${CIFAR10_URL})?`);
  };
  const train = concat([1, 2, 3, 4, 5].map((i) => find(`data_batch_${i}.bin`)));
  return new InMemoryDataSet('cifar10', [32, 32, 3], CIFAR10_CLASSES, { train, test: find('test_batch.bin') });
}

const cache = new Map<string, InMemoryDataSet>();

export interface Cifar10Options {
  /** Download the archive when it is not there (default false: CIFAR-10 is 170 MB). */
  download?: boolean;
  /** Data root; the archive lives in <dataDir>/cifar10/ (default GRADREG_DATA or <repo>/data). */
  dataDir?: string;
  /** The folder holding the archive itself (overrides dataDir). */
  dir?: string;
  /** Download progress (default: a progress line on stderr). */
  onProgress?: (received: number, total: number) => void;
  /** Tests only: another URL and the archive's expected md5 and size. */
  url?: string;
  expectMd5?: string;
  expectSize?: number;
}

/** The command that downloads CIFAR-10 from a shell. */
export const CIFAR10_FETCH_COMMAND = 'npx tsx lib/data/fetch.ts cifar10';

/**
 * CIFAR-10 from <dataDir>/cifar10/cifar-10-binary.tar.gz, placed by hand or downloaded when `download` is true.
 * The archive is checked by size and md5 before use; a corrupt one is moved aside, never used. Parsed once per process.
 */
export async function loadCifar10(opts: Cifar10Options = {}): Promise<InMemoryDataSet> {
  const dir = opts.dir ?? path.join(opts.dataDir ?? dataDir(), 'cifar10');
  const file = path.join(dir, ARCHIVE);
  const hit = cache.get(file);
  if (hit) return hit;
  const url = opts.url ?? CIFAR10_URL;
  const md5 = opts.expectMd5 ?? checksumOf('cifar10', `${ARCHIVE}:md5`);
  const size = opts.expectSize ?? Number(checksumOf('cifar10', `${ARCHIVE}:size`));
  const manual = `run \`${CIFAR10_FETCH_COMMAND}\` (or call loadCifar10({ download: true })), or download ${CIFAR10_URL} (${size} bytes, md5 ${md5}) yourself and place it at ${file}`;
  if (!fs.existsSync(file)) {
    if (!opts.download) throw new Error(`CIFAR-10 is not downloaded: ${file} does not exist. To get it, ${manual}.`);
    try {
      await downloadFile(url, file, { md5, size, onProgress: opts.onProgress ?? stderrProgress('cifar-10') });
    } catch (e) {
      throw new Error(`CIFAR-10 download failed: ${(e as Error).message}. Nothing was written to ${file}. To get it, ${manual}.`);
    }
  }
  const buf: Uint8Array = readFileChecked(file, 'the CIFAR-10 archive');
  try {
    verifyBuffer(buf, { size, md5 }, file);
  } catch (e) {
    throw new ChecksumError(`${(e as Error).message} The corrupt archive was moved aside to ${moveAside(file, (e as Error).message)}. To get it again, ${manual}.`);
  }
  const ds = cifarFromArchive(buf);
  cache.set(file, ds);
  return ds;
}
