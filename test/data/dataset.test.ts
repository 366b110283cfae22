import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { FASHION_SYSTEM_DIR, loadDataset, loadFashionMnist, loadMnist, makeRng, permutation, shuffle } from '../../lib/data';
import type { Split } from '../../lib/types';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';
import { serve, tmp } from './fixtures';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

test('take: stratified, deterministic per seed, test examples only from the test split, named by size and seed', () => {
  const m = loadMnist();
  const sub = m.take(500, { seed: 11, nTest: 100 });
  const full = m.classCounts('train');
  sub.classCounts('train').forEach((c, k) => assert.ok(Math.abs(c - (full[k] * 500) / 60000) < 1, `class ${k}: ${c}`));
  const fullTest = m.classCounts('test');
  sub.classCounts('test').forEach((c, k) => assert.ok(Math.abs(c - (fullTest[k] * 100) / 10000) < 1, `test class ${k}: ${c}`));
  assert.equal(sub.classCounts('train').reduce((a, b) => a + b), 500);

  const hashes = (ds: { images(s: Split): Float32Array; size(s: Split): number }, split: Split) => {
    const x = ds.images(split);
    const per = 28 * 28;
    return Array.from({ length: ds.size(split) }, (_, i) => crypto.createHash('sha1').update(x.subarray(i * per, (i + 1) * per)).digest('hex'));
  };
  const testSet = new Set(hashes(m, 'test'));
  const trainSet = new Set(hashes(m, 'train'));
  assert.ok(hashes(sub, 'test').every((h) => testSet.has(h)), 'every subset test image is a published test image');
  assert.ok(hashes(sub, 'train').every((h) => trainSet.has(h)), 'every subset train image is a published train image');
  assert.ok(hashes(sub, 'test').some((h) => !trainSet.has(h)));

  assert.deepEqual(hashes(m.take(500, { seed: 11, nTest: 100 }), 'train'), hashes(sub, 'train'));
  assert.notDeepEqual(hashes(m.take(500, { seed: 12, nTest: 100 }), 'train'), hashes(sub, 'train'));
  assert.notEqual(m.take(500, { seed: 12, nTest: 100 }).name, sub.name, 'the name keys the checkpoint cache: it must tell subsets apart');
  assert.equal(m.take(500).size('test'), 10000, 'nTest defaults to the whole test split');

  assert.throws(() => m.take(0), /take: the n \(train subset size\) must be a positive integer, got 0/);
  assert.throws(() => m.take(10, { nTest: 2.5 }), /nTest \(test subset size\) must be a positive integer, got 2\.5/);
  assert.throws(() => m.take(10, { nTest: 20000 }), /has only 10000 test examples/);
  assert.throws(() => m.take(10, { seed: 0.5 }), /seed must be an integer/);
});

test('batches: every example once per epoch, seeded order, remainder option, clear errors for bad arguments', () => {
  const sub = loadMnist().take(100, { seed: 1, nTest: 30 });
  const order = (opts: { size: number; seed?: number; shuffle?: boolean; remainder?: boolean }, split: Split = 'train') => {
    const out: number[][] = [];
    for (const b of sub.batches(split, opts)) { out.push(Array.from(b.y.dataSync())); tf.dispose([b.x, b.y]); }
    return out;
  };
  const plain = order({ size: 32 });
  assert.deepEqual(plain.map((b) => b.length), [32, 32, 32, 4]);
  assert.deepEqual(plain.flat(), Array.from(sub.labels('train')), 'no shuffle: published order');
  const s5 = order({ size: 32, seed: 5 });
  assert.deepEqual(s5.flat().sort(), Array.from(sub.labels('train')).sort(), 'a shuffled epoch is a permutation');
  assert.notDeepEqual(s5.flat(), plain.flat());
  assert.deepEqual(order({ size: 32, seed: 5 }), s5);
  assert.deepEqual(order({ size: 32, remainder: false }).map((b) => b.length), [32, 32, 32]);
  assert.deepEqual(order({ size: 32, shuffle: true }), order({ size: 32, shuffle: true }), 'shuffle without a seed is still deterministic');
  assert.deepEqual(order({ size: 64 }, 'test').map((b) => b.length), [30]);

  assert.throws(() => order({ size: 0 }), /size must be a positive integer, got 0/);
  assert.throws(() => order({ size: 8, seed: 1.5 }), /seed must be an integer, got 1\.5/);
  assert.throws(() => sub.size('valid' as Split), /unknown split "valid", expected "train" or "test"/);
  assert.throws(() => sub.batch('train', [100]), /index 100 out of range \[0, 100\)/);
  assert.throws(() => sub.batch('train', []), /needs at least one index/);
});

test('batches: tensors are the only allocation, and the caller frees them (cpu and wasm)', async () => {
  const sub = loadMnist().take(200, { seed: 2, nTest: 50 });
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const delta = await tensorDelta(() => {
      for (const b of sub.batches('train', { size: 64, seed: 3 })) {
        assert.deepEqual(b.x.shape.slice(1), [28, 28, 1]);
        tf.dispose([b.x, b.y]);
      }
    });
    assert.equal(delta, 0, `${backend}: tensors left after a disposed epoch`);
  }
});

test('rng: mulberry32 is seeded and uniform enough; shuffle and permutation are deterministic permutations', () => {
  const a = makeRng(42);
  const b = makeRng(42);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.notEqual(makeRng(1)(), makeRng(2)());
  const items = ['a', 'b', 'c', 'd', 'e', 'f'];
  assert.deepEqual(shuffle(items, 3), shuffle(items, 3));
  assert.deepEqual([...shuffle(items, 3)].sort(), items);
  assert.deepEqual(Array.from(permutation(5)), [0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(permutation(1000, 9)).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
});

test('Fashion-MNIST missing: the error names the file, every place looked, and the commands that fetch it', async () => {
  const root = tmp();
  const sys = tmp();
  await assert.rejects(loadFashionMnist({ dataDir: root, systemDir: sys, download: false }), (e: Error) =>
    e.message.includes('train-images-idx3-ubyte not found') &&
    e.message.includes(path.join(root, 'fashion-mnist', 'train-images-idx3-ubyte.gz')) &&
    e.message.includes(path.join(sys, 'train-images-idx3-ubyte.gz')) &&
    e.message.includes('apt-get install dataset-fashion-mnist') && e.message.includes('npx tsx lib/data/fetch.ts fashion-mnist'));
  assert.deepEqual(fs.readdirSync(root), []);
  await assert.rejects(loadDataset('svhn' as 'mnist'), /unknown data set "svhn": use one of mnist, fashion-mnist, cifar10/);
});

test('Fashion-MNIST download: verified files land in the data folder; a corrupt one never does', async (t) => {
  if (!fs.existsSync(path.join(FASHION_SYSTEM_DIR, FILES[0] + '.gz'))) return t.skip('dataset-fashion-mnist is not installed');
  const served = Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(FASHION_SYSTEM_DIR, `${f}.gz`))]));
  const srv = await serve(Object.fromEntries(FILES.flatMap((f) => [
    [`/good/${f}.gz`, (res: http.ServerResponse) => res.end(served[f])],
    // the right gzip container around the wrong bytes: only the decompressed checksum can tell
    [`/bad/${f}.gz`, (res: http.ServerResponse) => res.end(f.startsWith('t10k-labels') ? zlib.gzipSync(Buffer.alloc(10008)) : served[f])],
  ])));
  try {
    const root = tmp();
    const sys = tmp();
    let last = 0;
    const own = await loadFashionMnist({ dataDir: root, systemDir: sys, baseUrl: `${srv.url}/good/`, onProgress: (r) => { last = r; } });
    assert.equal(own.size('train'), 60000);
    assert.deepEqual(Array.from(own.labels('test').slice(0, 3)), [9, 2, 1]);
    assert.deepEqual(fs.readdirSync(path.join(root, 'fashion-mnist')).sort(), FILES.map((f) => `${f}.gz`).sort());
    assert.ok(last > 0, 'progress was reported');

    const root2 = tmp();
    await assert.rejects(loadFashionMnist({ dataDir: root2, systemDir: sys, baseUrl: `${srv.url}/bad/`, onProgress: () => {} }), (e: Error) =>
      e.message.includes('t10k-labels-idx1-ubyte') && e.message.includes('expected sha256 0402a96d') && e.message.includes('discarded'));
    assert.ok(!fs.readdirSync(path.join(root2, 'fashion-mnist')).some((f) => f.startsWith('t10k-labels')), 'the corrupt file landed');
  } finally {
    await srv.close();
  }
});
