import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CIFAR10_URL, ChecksumError, cifarFromArchive, loadCifar10, loadDataset, readCifarBatch } from '../../lib/data';
import { useBackend } from '../helpers';
import { cifarRecords, fixtureArchive, tmp } from './fixtures';

const md5 = (b: Uint8Array) => crypto.createHash('md5').update(b).digest('hex');

test('CIFAR reader: archives written by GNU tar in gnu, ustar and pax formats', (t) => {
  if (spawnSync('tar', ['--version']).status !== 0) return t.skip('no tar on this machine');
  for (const format of ['gnu', 'ustar', 'posix']) {
    const dir = tmp();
    const src = path.join(dir, 'cifar-10-batches-bin');
    fs.mkdirSync(src);
    for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(src, `data_batch_${i}.bin`), cifarRecords(2, i));
    fs.writeFileSync(path.join(src, 'test_batch.bin'), cifarRecords(3, 7));
    fs.writeFileSync(path.join(src, 'batches.meta.txt'), 'airplane\n');
    const out = path.join(dir, 'a.tar.gz');
    const r = spawnSync('tar', [`--format=${format}`, '-czf', out, '-C', dir, 'cifar-10-batches-bin']);
    assert.equal(r.status, 0, r.stderr.toString());
    const ds = cifarFromArchive(fs.readFileSync(out));
    assert.equal(ds.size('train'), 10, format);
    assert.equal(ds.size('test'), 3, format);
    // train = batches 1..5 in order, test = test_batch: labels (i + seed) % 10
    assert.deepEqual(Array.from(ds.labels('train')), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6], format);
    assert.deepEqual(Array.from(ds.labels('test')), [7, 8, 9], format);
  }
});

test('CIFAR reader: bad record length and bad labels are errors naming the batch', () => {
  assert.throws(() => readCifarBatch(new Uint8Array(3074), 'data_batch_1.bin'), /data_batch_1\.bin: 3074 bytes is not a whole number of 3073-byte records/);
  const bad = cifarRecords(2, 0);
  bad[3073] = 10;
  assert.throws(() => readCifarBatch(bad, 'test_batch.bin'), /test_batch\.bin: record 1 has label 10, expected 0\.\.9/);
  assert.throws(() => cifarFromArchive(Buffer.from('not an archive at all')), /archive has no data_batch_1\.bin|not a tar archive/);
});

test('CIFAR batches: uint8 kept, converted per batch to NHWC floats in [0,1] on cpu and wasm', async () => {
  const ds = cifarFromArchive(fixtureArchive());
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const { x, y } = ds.batch('test', [2, 0]);
    assert.deepEqual(x.shape, [2, 32, 32, 3]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(Array.from(y.dataSync()), [2, 0]);
    const v = x.dataSync();
    // example 0 of the batch is record 2 of test_batch (seed 0): channel c of pixel p is byte c*1024 + p, value (c*1024 + p + 2) % 256
    for (const [p, c] of [[0, 0], [5, 1], [1023, 2]]) assert.equal(v[p * 3 + c], Math.fround(((c * 1024 + p + 2) % 256) / 255));
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, before);
  }
});

test('CIFAR-10 on disk: a manually placed archive is used without any download; a corrupt one is moved aside', async () => {
  const archive = fixtureArchive();
  const dir = tmp();
  const file = path.join(dir, 'cifar-10-binary.tar.gz');
  fs.writeFileSync(file, archive);
  const ds = await loadCifar10({ dir, url: 'http://127.0.0.1:1/never-used', expectMd5: md5(archive), expectSize: archive.length });
  assert.equal(ds.size('train'), 15);
  assert.ok(fs.existsSync(file));

  // Checked against the real table: the fixture is not CIFAR-10, so it must be refused and moved aside, not parsed.
  const root = tmp();
  fs.mkdirSync(path.join(root, 'cifar10'));
  const placed = path.join(root, 'cifar10', 'cifar-10-binary.tar.gz');
  fs.writeFileSync(placed, archive);
  await assert.rejects(loadDataset('cifar10', { dataDir: root }), (e: Error) =>
    e instanceof ChecksumError &&
    e.message.includes(`expected size 170052171 bytes, got ${archive.length}`) &&
    e.message.includes(`expected md5 c32a1d4ab5d03f1284b67883e8d87530, got ${md5(archive)}`) &&
    e.message.includes('moved aside to') && e.message.includes(placed));
  assert.ok(!fs.existsSync(placed));
  assert.equal(fs.readdirSync(path.join(root, 'cifar10')).filter((f) => f.includes('.corrupt-')).length, 1);
});

test('CIFAR-10 offline: the error names the canonical URL, the manual placement path and the fetch command', async () => {
  const root = tmp();
  const where = path.join(root, 'cifar10', 'cifar-10-binary.tar.gz');
  await assert.rejects(loadDataset('cifar10', { dataDir: root }), (e: Error) =>
    e.message.includes(CIFAR10_URL) && e.message.includes(where) && e.message.includes('npx tsx lib/data/fetch.ts cifar10'));
  assert.ok(!fs.existsSync(where));
});
