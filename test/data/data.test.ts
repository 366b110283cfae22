import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { cifarFromArchive, downloadFile, loadCifar10, loadFashionMnist, loadMnist, readIdx, stratified, untar } from '../../lib/data';
import { useBackend } from '../helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-data-'));

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

function tarEntry(name: string, data: Uint8Array): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return Buffer.concat([h, Buffer.from(data), Buffer.alloc(Math.ceil(data.length / 512) * 512 - data.length)]);
}

function fixtureArchive(): Buffer {
  const batch = (n: number, seed: number) => {
    const b = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      b[i * 3073] = (i + seed) % 10;
      for (let p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (p + i + seed) % 256;
    }
    return b;
  };
  const entries = [1, 2, 3, 4, 5].map((i) => tarEntry(`cifar-10-batches-bin/data_batch_${i}.bin`, batch(3, i)));
  entries.push(tarEntry('cifar-10-batches-bin/test_batch.bin', batch(4, 0)));
  return zlib.gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

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

function serve(routes: Record<string, (res: http.ServerResponse) => void>): Promise<{ url: string; close: () => void }> {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const r = routes[req.url ?? ''];
      if (r) r(res); else { res.statusCode = 404; res.end(); }
    });
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close: () => { srv.closeAllConnections(); srv.close(); } });
    });
  });
}

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
    await assert.rejects(downloadFile(`${srv.url}/corrupt`, dest, { md5 }), /corrupt: md5/);
    assert.ok(!fs.existsSync(dest) && fs.readdirSync(path.dirname(dest)).length === 0, 'a corrupt download left a file behind');
    await assert.rejects(downloadFile(`${srv.url}/truncated`, dest, { md5 }), /truncated|cut off|aborted|socket hang up/);
    assert.ok(!fs.existsSync(dest) && fs.readdirSync(path.dirname(dest)).length === 0, 'a truncated download left a file behind');
    const empty = tmp();
    await assert.rejects(loadCifar10({ dir: empty }), (e: Error) => e.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz') && e.message.includes(path.join(empty, 'cifar-10-binary.tar.gz')));
    await assert.rejects(loadCifar10({ dir: empty, download: true, url: 'http://127.0.0.1:9/cifar.tgz' }), (e: Error) =>
      e.message.includes('http://127.0.0.1:9/cifar.tgz') && e.message.includes('place it at') && !fs.existsSync(path.join(empty, 'cifar-10-binary.tar.gz')));
  } finally {
    srv.close();
  }
});
