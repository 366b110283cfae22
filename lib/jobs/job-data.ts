// A job's data: a data set from loadDataset travels as its recipe (the worker loads and subsets it itself); one built from
// arrays is written once to a content-addressed file under the data folder (GRADREG_DATA, which workers share) and the
// job names the file. Either way the worker gets the same name, shape, classes and examples: the cache key sees to it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSet } from '../types';
import { InMemoryDataSet } from '../data/dataset';
import { loadDataset, DATASETS, type DataSetName } from '../data/index';
import { dataDir } from '../data/paths';
import { atomicWrite } from '../util/atomic-write';
import type { JobData } from './job';

const MAGIC = 'GRADREG-DATA-1\n';
const written = new WeakMap<InMemoryDataSet, JobData>();

/** The folder of data files written for jobs. */
export function jobDataDir(): string {
  return path.join(dataDir(), 'job-data');
}

function encode(ds: InMemoryDataSet): Buffer {
  const tr = ds.splitData('train');
  const te = ds.splitData('test');
  const header = Buffer.from(JSON.stringify({ name: ds.name, shape: ds.shape, classNames: ds.classNames, train: tr.labels.length, test: te.labels.length }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const bytes = (a: Uint8Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return Buffer.concat([Buffer.from(MAGIC), len, header, bytes(tr.images), bytes(tr.labels), bytes(te.images), bytes(te.labels)]);
}

function decode(buf: Buffer, file: string): InMemoryDataSet {
  const fail = (why: string) => new Error(`job data file ${file} is unreadable (${why}); delete it and rerun the notebook to rewrite it`);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw fail('wrong magic');
  const hlen = buf.readUInt32LE(MAGIC.length);
  const h = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen).toString()) as
    { name: string; shape: [number, number, number]; classNames: string[]; train: number; test: number };
  const per = h.shape[0] * h.shape[1] * h.shape[2];
  let o = MAGIC.length + 4 + hlen;
  // Copies, so the typed arrays are aligned whatever the offset.
  const take = (n: number) => { const b = buf.subarray(o, o + n); if (b.length < n) throw fail('truncated'); o += n; return new Uint8Array(b); };
  const split = (n: number) => ({ images: take(n * per), labels: new Int32Array(take(4 * n).buffer) });
  const train = split(h.train);
  const test = split(h.test);
  return new InMemoryDataSet(h.name, h.shape, h.classNames, { train, test });
}

/** How a job refers to `ds`, or why it cannot (a DataSet that is not held in memory by lib/data). Writes the file if needed. */
export function jobData(ds: DataSet): JobData | { reason: string } {
  if (!(ds instanceof InMemoryDataSet)) return { reason: `the data set "${ds.name}" is not an InMemoryDataSet (lib/data), so it cannot be sent to another process` };
  if (ds.recipe && (DATASETS as readonly string[]).includes(ds.recipe.source)) return { kind: 'recipe', recipe: ds.recipe };
  const known = written.get(ds);
  if (known) return known;
  const buf = encode(ds);
  const sha256 = crypto.createHash('sha256').update(buf).digest('hex');
  const file = `${sha256}.bin`;
  const abs = path.join(jobDataDir(), file);
  if (!fs.existsSync(abs)) atomicWrite(abs, buf, 'the job data file');
  const ref: JobData = { kind: 'file', file, sha256, name: ds.name };
  written.set(ds, ref);
  return ref;
}

// Per process: a worker runs many jobs on the same data.
const loaded = new Map<string, Promise<InMemoryDataSet>>();

/** The data set a job names (loaded once per process). */
export function loadJobData(ref: JobData): Promise<InMemoryDataSet> {
  const id = JSON.stringify(ref);
  let p = loaded.get(id);
  if (!p) {
    p = load(ref);
    loaded.set(id, p);
    p.catch(() => loaded.delete(id));
  }
  return p;
}

async function load(ref: JobData): Promise<InMemoryDataSet> {
  if (ref.kind === 'recipe') {
    const r = ref.recipe;
    if (!(DATASETS as readonly string[]).includes(r.source)) throw new Error(`job data: unknown data set "${r.source}" (known: ${DATASETS.join(', ')})`);
    let ds = await loadDataset(r.source as DataSetName, r.options as { dataDir?: string; download?: boolean });
    for (const t of r.takes) ds = ds.take(t.n, { seed: t.seed, nTest: t.nTest });
    return ds;
  }
  const abs = path.join(jobDataDir(), ref.file);
  if (!fs.existsSync(abs)) throw new Error(`job data file ${abs} is missing: workers must share the submitter's data folder (GRADREG_DATA)`);
  const buf = fs.readFileSync(abs);
  if (crypto.createHash('sha256').update(buf).digest('hex') !== ref.sha256) throw new Error(`job data file ${abs} does not match its sha256 (altered?); delete it and rerun`);
  return decode(buf, abs);
}
