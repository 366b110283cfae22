// An image data set held in memory as uint8 pixels; float [0,1] tensors are made per batch.
import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchOptions, DataSet, Split } from '../types';
import { makeRng, permutation, shuffleInPlace } from './rng';

export interface SplitData {
  /** N*H*W*C bytes, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
}

/**
 * How to rebuild a data set in another process: load `source` by name (loadDataset) with `options`, then apply each `take`
 * in order. Plain data; lib/jobs sends it with a training job instead of the pixels.
 */
export interface DataRecipe {
  readonly source: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly takes: readonly { n: number; seed: number; nTest: number }[];
}

export class InMemoryDataSet implements DataSet {
  constructor(
    readonly name: string,
    readonly shape: readonly [number, number, number],
    readonly classNames: readonly string[],
    private readonly splits: Record<Split, SplitData>,
    /** Set by loadDataset and kept by take(); undefined for a data set built from arrays. */
    readonly recipe?: DataRecipe,
  ) {
    const per = shape[0] * shape[1] * shape[2];
    for (const s of ['train', 'test'] as const) {
      if (splits[s].images.length !== splits[s].labels.length * per) {
        throw new Error(`${name} ${s}: ${splits[s].images.length} pixel bytes do not match ${splits[s].labels.length} labels of shape ${shape.join('x')}`);
      }
    }
  }

  /** The split's data, with an error naming the valid splits (callers in notebooks are not type-checked). */
  private split(split: Split): SplitData {
    if (split !== 'train' && split !== 'test') throw new Error(`${this.name}: unknown split "${String(split)}", expected "train" or "test"`);
    return this.splits[split];
  }

  /** The same data with a recipe attached (the pixels are shared, not copied). */
  withRecipe(recipe: DataRecipe): InMemoryDataSet {
    return new InMemoryDataSet(this.name, this.shape, this.classNames, this.splits, recipe);
  }

  /** The split's raw bytes and labels (shared, not copied: do not modify). */
  splitData(split: Split): SplitData {
    return this.split(split);
  }

  size(split: Split): number {
    return this.split(split).labels.length;
  }

  labels(split: Split): Int32Array {
    return this.split(split).labels;
  }

  /** Examples per class in a split, indexed by class. */
  classCounts(split: Split): number[] {
    const counts = new Array<number>(this.classNames.length).fill(0);
    for (const l of this.labels(split)) counts[l]++;
    return counts;
  }

  /** Pixels of the given examples as floats in [0,1], NHWC. */
  images(split: Split, indices?: ArrayLike<number>): Float32Array {
    const { images } = this.split(split);
    const per = this.shape[0] * this.shape[1] * this.shape[2];
    const idx = indices ?? permutation(this.size(split));
    const out = new Float32Array(idx.length * per);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!(i >= 0 && i < this.size(split))) throw new Error(`${this.name} ${split}: index ${i} out of range [0, ${this.size(split)})`);
      const src = images.subarray(i * per, (i + 1) * per);
      const o = k * per;
      for (let j = 0; j < per; j++) out[o + j] = src[j] / 255;
    }
    return out;
  }

  batch(split: Split, indices: ArrayLike<number>): Batch {
    if (indices.length === 0) throw new Error(`${this.name} ${split}: batch() needs at least one index`);
    const x = tf.tensor4d(this.images(split, indices), [indices.length, ...this.shape]);
    const labels = this.split(split).labels;
    const y = tf.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32');
    return { x, y };
  }

  *batches(split: Split, opts: BatchOptions): Iterable<Batch> {
    if (!(opts.size >= 1) || !Number.isInteger(opts.size)) throw new Error(`batches: size must be a positive integer, got ${opts.size}`);
    if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new Error(`batches: seed must be an integer, got ${opts.seed}`);
    const n = this.size(split);
    const shuffle = opts.shuffle ?? opts.seed !== undefined;
    const order = shuffle ? permutation(n, opts.seed ?? 0) : permutation(n);
    const keepLast = opts.remainder ?? true;
    for (let s = 0; s < n; s += opts.size) {
      const idx = order.subarray(s, Math.min(n, s + opts.size));
      if (idx.length < opts.size && !keepLast) break;
      yield this.batch(split, idx);
    }
  }

  /** Seeded class-stratified subset: n train examples, nTest test examples (default: the whole test split). */
  take(n: number, opts: { seed?: number; nTest?: number } = {}): InMemoryDataSet {
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new Error(`take: seed must be an integer, got ${opts.seed}`);
    const pick = (split: Split, m: number): SplitData => {
      const total = this.size(split);
      if (!(m >= 1) || !Number.isInteger(m)) throw new Error(`take: the ${split === 'test' ? 'nTest' : 'n'} (${split} subset size) must be a positive integer, got ${m}`);
      if (m > total) throw new Error(`take(${m}): ${this.name} has only ${total} ${split} examples`);
      if (m === total) return this.splits[split];
      const idx = stratified(this.splits[split].labels, this.classNames.length, m, seed + (split === 'test' ? 1 : 0));
      return this.subset(split, idx);
    };
    // The name identifies the subset (it keys the checkpoint cache): size and seed are part of it.
    const nTest = opts.nTest ?? this.size('test');
    const recipe = this.recipe && { ...this.recipe, takes: [...this.recipe.takes, { n, seed, nTest }] };
    return new InMemoryDataSet(`${this.name}[train ${n}, test ${nTest}, seed ${seed}]`, this.shape, this.classNames, {
      train: pick('train', n),
      test: pick('test', nTest),
    }, recipe);
  }

  private subset(split: Split, idx: Int32Array): SplitData {
    const per = this.shape[0] * this.shape[1] * this.shape[2];
    const src = this.splits[split];
    const images = new Uint8Array(idx.length * per);
    const labels = new Int32Array(idx.length);
    idx.forEach((i, k) => {
      images.set(src.images.subarray(i * per, (i + 1) * per), k * per);
      labels[k] = src.labels[i];
    });
    return { images, labels };
  }
}

/** m indices with class proportions kept (largest remainders), sorted, deterministic for a seed. */
export function stratified(labels: Int32Array, numClasses: number, m: number, seed: number): Int32Array {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  const rng = makeRng(seed);
  const quotas = byClass.map((c) => (c.length * m) / labels.length);
  const counts = quotas.map(Math.floor);
  let rest = m - counts.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, c) => [q - Math.floor(q), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of order) { if (rest-- <= 0) break; counts[c]++; }
  const out: number[] = [];
  byClass.forEach((c, k) => {
    const a = Int32Array.from(c);
    shuffleInPlace(a, rng);
    out.push(...a.subarray(0, counts[k]));
  });
  return Int32Array.from(out).sort();
}
