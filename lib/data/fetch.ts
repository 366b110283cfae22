// `npx tsx lib/data/fetch.ts [mnist|fashion-mnist|cifar10 ...]`: downloads (where needed) and verifies data sets from a shell,
// the command the loaders' error messages name. Exits 1 with the loader's message on failure.
import { DATASETS, loadDataset, type DataSetName } from './index';
import { dataDir } from './paths';

export async function fetchDatasets(names: string[], log: (line: string) => void = console.log): Promise<void> {
  for (const n of names) {
    if (!(DATASETS as readonly string[]).includes(n)) throw new Error(`unknown data set "${n}": use one or more of ${DATASETS.join(', ')}`);
  }
  for (const name of names as DataSetName[]) {
    const t0 = Date.now();
    const ds = await loadDataset(name, { download: true });
    log(`${name}: ${ds.size('train')} train + ${ds.size('test')} test images ${ds.shape.join('x')}, checksums ok (${Date.now() - t0} ms; data folder ${dataDir()})`);
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: npx tsx lib/data/fetch.ts [${DATASETS.join('|')} ...]   (default: all)\n  data folder: GRADREG_DATA, else <repo>/data (now ${dataDir()})`);
  } else {
    fetchDatasets(args.length ? args : [...DATASETS]).catch((e: Error) => {
      console.error(e.message);
      process.exit(1);
    });
  }
}
