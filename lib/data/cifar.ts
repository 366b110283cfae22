// CIFAR-10 (binary version): downloaded on request into data/cifar10/, md5- and size-checked; kept as uint8.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';
import { checksums } from './checksums';
import { InMemoryDataSet, type SplitData } from './dataset';
import { downloadFile, stderrProgress } from './download';
import { dataDir } from './paths';

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
    const name = (str(345, 155) ? str(345, 155) + '/' : '') + str(0, 100);
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1);
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
  const files = untar(new Uint8Array(zlib.gunzipSync(archive)));
  const find = (base: string) => {
    for (const [k, v] of files) if (k.endsWith(`/${base}`) || k === base) return readCifarBatch(v, base);
    throw new Error(`CIFAR-10 archive has no ${base}: is it the binary version (${CIFAR10_URL})?`);
  };
  const train = concat([1, 2, 3, 4, 5].map((i) => find(`data_batch_${i}.bin`)));
  return new InMemoryDataSet('cifar10', [32, 32, 3], CIFAR10_CLASSES, { train, test: find('test_batch.bin') });
}

let cached: InMemoryDataSet | undefined;

/**
 * CIFAR-10 from data/cifar10/cifar-10-binary.tar.gz (placed by hand or downloaded when `download` is true).
 * The archive is checked by size and md5 before use; a corrupt one is moved aside.
 */
export async function loadCifar10(opts: { download?: boolean; url?: string; dir?: string; expectMd5?: string; expectSize?: number } = {}): Promise<InMemoryDataSet> {
  if (cached && !opts.url && !opts.dir) return cached;
  const dir = opts.dir ?? path.join(dataDir(), 'cifar10');
  const file = path.join(dir, ARCHIVE);
  const url = opts.url ?? CIFAR10_URL;
  const md5 = opts.expectMd5 ?? checksums().cifar10[`${ARCHIVE}:md5`];
  const size = opts.expectSize ?? Number(checksums().cifar10[`${ARCHIVE}:size`]);
  const manual = `download ${CIFAR10_URL} (${size} bytes) and place it at ${file}, or call loadCifar10({ download: true })`;
  if (!fs.existsSync(file)) {
    if (!opts.download) throw new Error(`CIFAR-10 is not downloaded: ${file} does not exist. To get it, ${manual}.`);
    try {
      await downloadFile(url, file, { md5, size, onProgress: stderrProgress('cifar-10') });
    } catch (e) {
      throw new Error(`CIFAR-10 download from ${url} failed: ${(e as Error).message}. Nothing was written to ${file}. Without network, ${manual}.`);
    }
  }
  const buf = fs.readFileSync(file);
  const got = crypto.createHash('md5').update(buf).digest('hex');
  if (buf.length !== size || got !== md5) {
    const aside = `${file}.corrupt-${Date.now()}`;
    fs.renameSync(file, aside);
    throw new Error(`CIFAR-10 archive ${file} is corrupt (size ${buf.length}, md5 ${got}; expected ${size}, ${md5}); moved aside to ${aside}. ${manual}.`);
  }
  const ds = cifarFromArchive(buf);
  if (!opts.url && !opts.dir) cached = ds;
  return ds;
}
