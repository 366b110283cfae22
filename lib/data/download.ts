// Downloads to a temporary file, verifies size and hash, and only then renames into place: nothing half-written is ever used.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

export interface DownloadOptions {
  sha256?: string;
  md5?: string;
  size?: number;
  onProgress?: (received: number, total: number) => void;
  /** Seconds without data before giving up. */
  timeoutS?: number;
}

/** A terminal progress line on stderr (in place with \r). */
export function stderrProgress(label: string): (received: number, total: number) => void {
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

function get(url: string, timeoutS: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, (res) => {
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        res.resume();
        resolve(get(new URL(res.headers.location, url).toString(), timeoutS));
      } else if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`HTTP ${res.statusCode} for ${url}`));
      } else resolve(res);
    });
    req.setTimeout(timeoutS * 1000, () => req.destroy(new Error(`no data from ${url} for ${timeoutS} s`)));
    req.on('error', reject);
  });
}

/** Downloads url to dest. Throws (leaving dest untouched) on network errors, truncation or hash mismatch. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.part`;
  const sha = crypto.createHash('sha256');
  const md5 = crypto.createHash('md5');
  try {
    const res = await get(url, opts.timeoutS ?? 60);
    const total = Number(res.headers['content-length'] ?? opts.size ?? 0);
    let received = 0;
    const out = fs.createWriteStream(tmp);
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        sha.update(chunk);
        md5.update(chunk);
        opts.onProgress?.(received, total);
      });
      res.on('aborted', () => reject(new Error(`download of ${url} was cut off after ${received} bytes`)));
      res.on('error', reject);
      out.on('error', reject);
      out.on('finish', () => resolve());
      res.pipe(out);
    });
    const expected = opts.size ?? (total || undefined);
    if (expected !== undefined && received !== expected) {
      throw new Error(`download of ${url} is truncated: got ${received} of ${expected} bytes`);
    }
    if (opts.sha256 && sha.digest('hex') !== opts.sha256) throw new Error(`download of ${url} is corrupt: sha256 does not match ${opts.sha256}`);
    if (opts.md5) {
      const got = md5.digest('hex');
      if (got !== opts.md5) throw new Error(`download of ${url} is corrupt: md5 ${got}, expected ${opts.md5}`);
    }
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
