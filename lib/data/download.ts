// Downloads to a temporary file, verifies size and hash, and only then renames into place: nothing half-written is ever used.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumError, verifyFile } from './checksums';
import { assertNotDirectory, describeWriteError, ensureWritableDir } from '../util/writable';

export interface DownloadOptions {
  sha256?: string;
  md5?: string;
  size?: number;
  onProgress?: (received: number, total: number) => void;
  /** Seconds without data before giving up. */
  timeoutS?: number;
  /** Further check of the finished temporary file before it is renamed into place (throw to reject it). */
  verify?: (file: string) => void;
  /** How to point the kit at another folder, for the error when dest's folder is not writable. Default: GRADREG_DATA. */
  alternative?: string;
}

/** A terminal progress line on stderr (in place with \r); silent under GRADREG_QUIET=1 (unit tests). */
export function stderrProgress(label: string): (received: number, total: number) => void {
  if (process.env.GRADREG_QUIET === '1') return () => {};
  const t0 = Date.now();
  let last = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - last < 250 && received !== total) return;
    last = now;
    const mb = (b: number) => (b / 1e6).toFixed(1);
    const rate = received / 1e6 / Math.max(1e-3, (now - t0) / 1000);
    const pct = total > 0 ? ` ${((100 * received) / total).toFixed(1)}%` : '';
    process.stderr.write(`\r${label}:${pct} ${mb(received)}/${total > 0 ? mb(total) : '?'} MB ${rate.toFixed(1)} MB/s`);
    if (received === total) process.stderr.write('\n');
  };
}

const MAX_REDIRECTS = 5;

/** Says why a request failed in words a user can act on (no network, refused, timed out), naming the URL. */
function describe(url: string, e: NodeJS.ErrnoException): Error {
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused (nothing listens there, or no network)',
    ENOTFOUND: 'host not found (no network or no DNS?)',
    EAI_AGAIN: 'host name lookup failed (no network or no DNS?)',
    ENETUNREACH: 'network unreachable (no network?)',
    EHOSTUNREACH: 'host unreachable (no network?)',
    ECONNRESET: 'connection reset',
  };
  return new Error(`cannot download ${url}: ${(e.code && why[e.code]) ?? e.message}`);
}

interface Response { res: http.IncomingMessage; req: http.ClientRequest; stalled: () => boolean }

function get(url: string, timeoutS: number, redirects = 0): Promise<Response> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : url.startsWith('http:') ? http : undefined;
    if (!lib) return reject(new Error(`cannot download ${url}: only http: and https: URLs are supported`));
    const req = lib.get(url, (res) => {
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new Error(`cannot download ${url}: more than ${MAX_REDIRECTS} redirects`));
        get(new URL(res.headers.location, url).toString(), timeoutS, redirects + 1).then(resolve, reject);
      } else if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`cannot download ${url}: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
      } else resolve({ res, req, stalled: () => stalled });
    });
    let stalled = false;
    req.setTimeout(timeoutS * 1000, () => {
      stalled = true;
      req.destroy(Object.assign(new Error(`no data from ${url} for ${timeoutS} s`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (e) => reject(describe(url, e)));
  });
}

/**
 * Downloads url to dest through a temporary file in the same folder, checks size and hashes, and renames it into place only
 * when they match. Throws, leaving dest untouched and no temporary file behind, on network errors, truncation or a hash
 * mismatch. An existing dest is never overwritten: if it matches the expected hashes it is kept (no download), else an error.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const expected = { sha256: opts.sha256, md5: opts.md5, size: opts.size };
  assertNotDirectory(dest, `cannot download ${url}: the target`);
  if (fs.existsSync(dest)) {
    if (opts.sha256 || opts.md5) {
      try {
        verifyFile(dest, expected);
      } catch (e) {
        throw new ChecksumError(`${(e as Error).message} It was there before the download and is not overwritten: move it aside to download ${url} again.`);
      }
      return;
    }
    throw new Error(`${dest} already exists and is not overwritten: move it aside to download ${url} again`);
  }
  // Before the network: a read-only folder is reported now, naming it, not as an EACCES on a temporary file after the download.
  ensureWritableDir(path.dirname(dest), 'the download folder', opts.alternative ?? 'set GRADREG_DATA to a writable folder');
  const tmp = `${dest}.${process.pid}.part`;
  const sha = crypto.createHash('sha256');
  const md5 = crypto.createHash('md5');
  let received = 0;
  let total = 0;
  try {
    const { res, req, stalled } = await get(url, opts.timeoutS ?? 60);
    total = Number(res.headers['content-length'] ?? opts.size ?? 0);
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        sha.update(chunk);
        md5.update(chunk);
        opts.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, count, fs.createWriteStream(tmp, { flags: 'wx' }));
    } catch (e) {
      req.destroy();
      const err = e as NodeJS.ErrnoException;
      if (err.syscall === 'open' || err.syscall === 'write') throw describeWriteError(err, dest, `the download of ${url} to`);
      if (stalled()) throw new Error(`download of ${url} stalled: no data for ${opts.timeoutS ?? 60} s after ${received}${total ? ` of ${total}` : ''} bytes`);
      throw new Error(`download of ${url} was cut off after ${received}${total ? ` of ${total}` : ''} bytes (${err.code ?? err.message})`);
    }
    const want = opts.size ?? (total || undefined);
    if (want !== undefined && received !== want) {
      throw new Error(`download of ${url} is truncated: got ${received} of ${want} bytes`);
    }
    const bad: string[] = [];
    const gotSha = sha.digest('hex');
    const gotMd5 = md5.digest('hex');
    if (opts.sha256 && gotSha !== opts.sha256) bad.push(`expected sha256 ${opts.sha256}, got ${gotSha}`);
    if (opts.md5 && gotMd5 !== opts.md5) bad.push(`expected md5 ${opts.md5}, got ${gotMd5}`);
    if (bad.length) throw new ChecksumError(`download of ${url} is corrupt: ${bad.join('; ')}; it was discarded`);
    try {
      opts.verify?.(tmp);
    } catch (e) {
      const err = e as Error;
      err.message = `download of ${url} is corrupt: ${err.message.split(tmp).join('the downloaded file')}; it was discarded`;
      throw err;
    }
    if (fs.existsSync(dest)) throw new Error(`${dest} appeared during the download (another process?): not overwritten`);
    try {
      fs.renameSync(tmp, dest);
    } catch (e) {
      throw describeWriteError(e, dest, `the download of ${url} to`);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
