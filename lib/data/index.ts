import type { DataSet } from '../types';
import { loadCifar10 } from './cifar';
import { loadFashionMnist, loadMnist } from './mnist';

export * from './rng';
export * from './idx';
export * from './dataset';
export * from './download';
export * from './mnist';
export * from './cifar';
export { dataDir, REPO_ROOT } from './paths';
export { sha256, ChecksumError } from './checksums';

export type DataSetName = 'mnist' | 'fashion-mnist' | 'cifar10';
export const DATASETS: readonly DataSetName[] = ['mnist', 'fashion-mnist', 'cifar10'];

/** Loads a data set by name. CIFAR-10 downloads only when `download` is true. */
export async function loadDataset(name: DataSetName | string, opts: { download?: boolean } = {}): Promise<DataSet> {
  switch (name) {
    case 'mnist': return loadMnist();
    case 'fashion-mnist': return loadFashionMnist({ download: opts.download });
    case 'cifar10': return loadCifar10({ download: opts.download });
    default: throw new Error(`unknown data set "${name}": use one of ${DATASETS.join(', ')}`);
  }
}
