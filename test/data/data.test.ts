import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { cifarFromArchive, downloadFile, loadCifar10, loadFashionMnist, loadMnist, readIdx, stratified, untar } from '../../lib/data';
import { useBackend } from '../helpers';
import { closedPort, fixtureArchive, serve, tmp } from './fixtures';

function meanStd(x: Float32Array): [number, number] {
  let s = 0, s2 = 0;
  for (const v of x) { s += v; s2 += v * v; }
  const mean = s / x.length;
  return [mean, Math.sqrt(s2 / x.length - mean * mean)];
}

test('MNIST: full published split, labels, statistics, load time', () => {
  const t0 = Date.now();
  const m = loadMnist();
  const ms = Date.now() - t0;
  assert.equal(m.size('train'), 60000);
  assert.equal(m.size('test'), 10000);
  assert.deepEqual(m.shape, [28, 28, 1]);
  assert.deepEqual(Array.from(m.labels('train').slice(0, 8)), [5, 0, 4, 1, 9, 2, 1, 3]);
  assert.deepEqual(Array.from(m.labels('test').slice(0, 8)), [7, 2, 1, 0, 4, 1, 4, 9]);
  const hist = new Array(10).fill(0);
  for (const l of m.labels('train')) hist[l]++;
  assert.deepEqual(hist, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  const x = m.images('test');
  let s = 0, s2 = 0;
  for (const v of x) { s += v; s2 += v * v; }
  const mean = s / x.length;
  assert.ok(Math.abs(mean - 0.1325) < 1e-3, `test mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(s2 / x.length - mean * mean) - 0.3105) < 1e-3);
  // the published normalization constants of MNIST train (0.1307, 0.3081)
  const [trMean, trStd] = meanStd(m.images('train'));
  assert.ok(Math.abs(trMean - 0.1307) < 1e-3 && Math.abs(trStd - 0.3081) < 1e-3, `train mean ${trMean}, std ${trStd}`);
  assert.ok(ms < 3000, `loading MNIST took ${ms} ms`);
});

test('Fashion-MNIST: full split from the Debian package, labels', async () => {
  const f = await loadFashionMnist({ download: false });
  assert.equal(f.size('train'), 60000);
  assert.equal(f.size('test'), 10000);
  assert.deepEqual(Array.from(f.labels('train').slice(0, 6)), [9, 0, 0, 3, 0, 2]);
  const hist = new Array(10).fill(0);
  for (const l of f.labels('test')) hist[l]++;
  assert.ok(hist.every((h) => h === 1000));
  assert.equal(f.classNames[9], 'Ankle boot');
  assert.deepEqual(Array.from(f.labels('test').slice(0, 6)), [9, 2, 1, 1, 6, 1]);
  assert.deepEqual(f.classCounts('train'), new Array(10).fill(6000));
  assert.deepEqual(f.shape, [28, 28, 1]);
  // published statistics of Fashion-MNIST: train 0.2860 / 0.3530, test 0.2868 / 0.3524
  const [trMean, trStd] = meanStd(f.images('train'));
  const [teMean, teStd] = meanStd(f.images('test'));
  assert.ok(Math.abs(trMean - 0.2860) < 1e-3 && Math.abs(trStd - 0.3530) < 1e-3, `train mean ${trMean}, std ${trStd}`);
  assert.ok(Math.abs(teMean - 0.2868) < 1e-3 && Math.abs(teStd - 0.3524) < 1e-3, `test mean ${teMean}, std ${teStd}`);
});

test('batches: [0,1] float tensors, seeded shuffling, stratified subsets', async () => {
  await useBackend('cpu');
  const m = loadMnist();
  const sub = m.take(1000, { seed: 3, nTest: 200 });
  assert.equal(sub.size('train'), 1000);
  assert.equal(sub.size('test'), 200);
  const hist = new Array(10).fill(0);
  for (const l of sub.labels('train')) hist[l]++;
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(hist[c] - m.labels('train').filter((l) => l === c).length / 60) <= 1);
  assert.deepEqual(m.take(1000, { seed: 3, nTest: 200 }).labels('train'), sub.labels('train'));
  assert.notDeepEqual(m.take(1000, { seed: 4, nTest: 200 }).labels('train'), sub.labels('train'));
  const firstLabels = (seed: number) => {
    const it = sub.batches('train', { size: 64, seed })[Symbol.iterator]();
    const b = it.next().value as { x: tf.Tensor4D; y: tf.Tensor1D };
    const out = Array.from(b.y.dataSync());
    assert.deepEqual(b.x.shape, [64, 28, 28, 1]);
    const [lo, hi] = [b.x.min().dataSync()[0], b.x.max().dataSync()[0]];
    assert.ok(lo >= 0 && hi <= 1 && hi > 0.9);
    tf.dispose([b.x, b.y]);
    return out;
  };
  assert.deepEqual(firstLabels(1), firstLabels(1));
  assert.notDeepEqual(firstLabels(1), firstLabels(2));
  let n = 0;
  for (const b of sub.batches('test', { size: 64 })) { n += b.y.shape[0]; tf.dispose([b.x, b.y]); }
  assert.equal(n, 200);
  assert.throws(() => m.take(70000), /has only 60000 train examples/);
  const st = stratified(Int32Array.from([0, 0, 0, 1, 1, 1]), 2, 4, 1);
  assert.equal(st.length, 4);
});

test('IDX reader: gzip detected by magic bytes; wrong magic and truncation are clear errors', () => {
  const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]);
  assert.deepEqual(Array.from(readIdx(raw).data), [7, 8, 9]);
  assert.deepEqual(Array.from(readIdx(zlib.gzipSync(raw)).data), [7, 8, 9]);
  assert.throws(() => readIdx(new Uint8Array([1, 2, 3, 4, 5])), /not an IDX file \(wrong magic number/);
  assert.throws(() => readIdx(raw.subarray(0, 10)), /truncated/);
});

test('a corrupt data file is moved aside, named with expected and actual checksums, never used', async () => {
  const dir = tmp();
  const old = process.env.GRADREG_DATA;
  process.env.GRADREG_DATA = dir;
  try {
    fs.mkdirSync(path.join(dir, 'fashion-mnist'));
    const bad = path.join(dir, 'fashion-mnist', 'train-images-idx3-ubyte.gz');
    fs.writeFileSync(bad, zlib.gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 5])));
    await assert.rejects(loadFashionMnist({ download: false }), (e: Error) => /checksum mismatch .*expected sha256 c59f468a.*got [0-9a-f]{64}.*moved aside/s.test(e.message));
    assert.ok(!fs.existsSync(bad));
    assert.ok(fs.readdirSync(path.join(dir, 'fashion-mnist')).some((f) => f.includes('.corrupt-')));
  } finally {
    if (old === undefined) delete process.env.GRADREG_DATA; else process.env.GRADREG_DATA = old;
  }
});

test('CIFAR-10 reader: tar.gz fixture, CHW records to NHWC, published split', () => {
  const archive = fixtureArchive();
  assert.equal(untar(zlib.gunzipSync(archive)).size, 6);
  const ds = cifarFromArchive(archive);
  assert.equal(ds.size('train'), 15);
  assert.equal(ds.size('test'), 4);
  assert.deepEqual(Array.from(ds.labels('train').slice(0, 4)), [1, 2, 3, 2]);
  const x = ds.images('test', [1]);
  // pixel 0 of record 1: R = byte 1, G = byte 1025, B = byte 2049 of the record (minus the label byte)
  assert.deepEqual(Array.from(x.slice(0, 3), (v) => Math.round(v * 255)), [1, (1024 + 1) % 256, (2048 + 1) % 256]);
});

test('downloader: good file lands, corrupt and truncated ones never do; offline CIFAR names the URL and the manual path', async () => {
  const archive = fixtureArchive();
  const md5 = crypto.createHash('md5').update(archive).digest('hex');
  const srv = await serve({
    '/good': (res) => { res.setHeader('content-length', archive.length); res.end(archive); },
    '/corrupt': (res) => { const b = Buffer.from(archive); b[100] ^= 0xff; res.setHeader('content-length', b.length); res.end(b); },
    '/truncated': (res) => { res.setHeader('content-length', archive.length); res.write(archive.subarray(0, 1000)); res.destroy(); },
  });
  try {
    const dir = tmp();
    const ds = await loadCifar10({ download: true, url: `${srv.url}/good`, dir, expectMd5: md5, expectSize: archive.length });
    assert.equal(ds.size('train'), 15);
    const dest = path.join(tmp(), 'x.bin');
    await assert.rejects(downloadFile(`${srv.url}/corrupt`, dest, { md5 }), new RegExp(`corrupt: expected md5 ${md5}, got [0-9a-f]{32}`));
    assert.ok(!fs.existsSync(dest) && fs.readdirSync(path.dirname(dest)).length === 0, 'a corrupt download left a file behind');
    await assert.rejects(downloadFile(`${srv.url}/truncated`, dest, { md5 }), /truncated|cut off|aborted|socket hang up/);
    assert.ok(!fs.existsSync(dest) && fs.readdirSync(path.dirname(dest)).length === 0, 'a truncated download left a file behind');
    const empty = tmp();
    await assert.rejects(loadCifar10({ dir: empty }), (e: Error) => e.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz') && e.message.includes(path.join(empty, 'cifar-10-binary.tar.gz')));
    const closed = `http://127.0.0.1:${await closedPort()}/cifar.tgz`;
    await assert.rejects(loadCifar10({ dir: empty, download: true, url: closed }), (e: Error) =>
      e.message.includes(closed) && e.message.includes('place it at') && !fs.existsSync(path.join(empty, 'cifar-10-binary.tar.gz')));
  } finally {
    await srv.close();
  }
});
