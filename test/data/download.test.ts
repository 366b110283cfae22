import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ChecksumError, downloadFile, verifyFile } from '../../lib/data';
import { closedPort, serve, tmp } from './fixtures';

const payload = crypto.randomBytes(200_000);
const sha = crypto.createHash('sha256').update(payload).digest('hex');
const md5 = crypto.createHash('md5').update(payload).digest('hex');
const only = (dir: string, names: string[]) => assert.deepEqual(fs.readdirSync(dir).sort(), names.sort(), `files left in ${dir}`);

test('downloader: a good file lands, hashed, with progress up to the full size', async () => {
  const srv = await serve({ '/f': (res) => { res.setHeader('content-length', payload.length); res.write(payload.subarray(0, 50_000)); setTimeout(() => res.end(payload.subarray(50_000)), 20); } });
  try {
    const dir = tmp();
    const dest = path.join(dir, 'sub', 'f.bin');
    const seen: [number, number][] = [];
    await downloadFile(`${srv.url}/f`, dest, { sha256: sha, md5, size: payload.length, onProgress: (r, t) => seen.push([r, t]) });
    assert.ok(fs.readFileSync(dest).equals(payload));
    only(path.dirname(dest), ['f.bin']);
    assert.ok(seen.length >= 2, 'progress was reported per chunk');
    assert.deepEqual(seen[seen.length - 1], [payload.length, payload.length]);
    assert.ok(seen.every(([r], i) => i === 0 || r > seen[i - 1][0]), 'progress is monotone');
    // Already there and matching: kept, no second request needed (the server is closed first).
    await srv.close();
    await downloadFile(`${srv.url}/f`, dest, { sha256: sha });
    assert.ok(fs.readFileSync(dest).equals(payload));
  } finally {
    await srv.close();
  }
});

test('downloader: sha256 mismatch names expected and actual, nothing lands; an existing file is never overwritten', async () => {
  const bad = Buffer.from(payload);
  bad[7] ^= 1;
  const srv = await serve({ '/bad': (res) => res.end(bad), '/good': (res) => res.end(payload) });
  try {
    const dir = tmp();
    const dest = path.join(dir, 'f.bin');
    const gotSha = crypto.createHash('sha256').update(bad).digest('hex');
    await assert.rejects(downloadFile(`${srv.url}/bad`, dest, { sha256: sha }), (e: Error) =>
      e instanceof ChecksumError && e.message.includes(`expected sha256 ${sha}, got ${gotSha}`) && e.message.includes(`${srv.url}/bad`));
    only(dir, []);
    // A different file already at dest: neither replaced by a verified download nor silently accepted.
    fs.writeFileSync(dest, 'mine');
    await assert.rejects(downloadFile(`${srv.url}/good`, dest), /already exists and is not overwritten/);
    await assert.rejects(downloadFile(`${srv.url}/good`, dest, { sha256: sha }), (e: Error) => e instanceof ChecksumError && e.message.includes(dest) && e.message.includes('is not overwritten'));
    assert.equal(fs.readFileSync(dest, 'utf8'), 'mine');
    only(dir, ['f.bin']);
  } finally {
    await srv.close();
  }
});

test('downloader: truncated (short body, cut connection), stalled, HTTP errors and no network are clear errors naming the URL', async () => {
  const srv = await serve({
    '/short': (res) => { res.setHeader('content-length', payload.length); res.write(payload.subarray(0, 1000)); setTimeout(() => res.destroy(), 50); },
    '/reset': (res) => res.destroy(),
    // No content-length: only the expected size can tell the file is short.
    '/unsized': (res) => res.end(payload.subarray(0, 1000)),
    '/stall': (res) => { res.setHeader('content-length', payload.length); res.write(payload.subarray(0, 1000)); },
    '/missing': (res) => { res.statusCode = 404; res.end(); },
    '/moved': (res) => { res.statusCode = 302; res.setHeader('location', '/unsized'); res.end(); },
  });
  try {
    const dir = tmp();
    const dest = path.join(dir, 'f.bin');
    await assert.rejects(downloadFile(`${srv.url}/short`, dest), /download of http:\/\/127\.0\.0\.1:\d+\/short was cut off after 1000 of 200000 bytes/);
    await assert.rejects(downloadFile(`${srv.url}/reset`, dest), /cannot download http:\/\/127\.0\.0\.1:\d+\/reset: (connection reset|socket hang up)/);
    await assert.rejects(downloadFile(`${srv.url}/unsized`, dest, { size: payload.length }), /is truncated: got 1000 of 200000 bytes/);
    await assert.rejects(downloadFile(`${srv.url}/moved`, dest, { size: payload.length }), /unsized is truncated|moved.*truncated/);
    await assert.rejects(downloadFile(`${srv.url}/stall`, dest, { timeoutS: 0.5 }), /\/stall stalled: no data for 0.5 s after 1000 of 200000 bytes/);
    await assert.rejects(downloadFile(`${srv.url}/missing`, dest), /cannot download http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404/);
    const closed = `http://127.0.0.1:${await closedPort()}/x.tar.gz`;
    await assert.rejects(downloadFile(closed, dest), (e: Error) => e.message.includes(closed) && /connection refused/.test(e.message));
    await assert.rejects(downloadFile('ftp://example.org/x', dest), /only http: and https:/);
    only(dir, []);
  } finally {
    await srv.close();
  }
});

test('verifyFile: size, md5 and sha256 (of decompressed bytes with gunzip); every mismatch listed', () => {
  const dir = tmp();
  const f = path.join(dir, 'a.bin');
  fs.writeFileSync(f, payload);
  assert.ok(Buffer.from(verifyFile(f, { sha256: sha, md5, size: payload.length })).equals(payload));
  const gz = path.join(dir, 'a.bin.gz');
  fs.writeFileSync(gz, zlib.gzipSync(payload));
  assert.ok(Buffer.from(verifyFile(gz, { sha256: sha, gunzip: true })).equals(payload));
  assert.throws(() => verifyFile(gz, { sha256: sha }), /expected sha256/);
  assert.throws(() => verifyFile(f, { size: 1, md5: '0'.repeat(32) }), (e: Error) =>
    e instanceof ChecksumError && e.message.includes(`expected size 1 bytes, got ${payload.length}`) && e.message.includes(`got ${md5}`));
  assert.throws(() => verifyFile(path.join(dir, 'nope'), { sha256: sha }), /nope: it does not exist/);
  fs.writeFileSync(gz, fs.readFileSync(gz).subarray(0, 100));
  assert.throws(() => verifyFile(gz, { sha256: sha, gunzip: true }), /does not decompress.*truncated or corrupt/);
});
