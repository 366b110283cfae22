// Small data fixtures built by the tests themselves: a CIFAR-10-shaped tar.gz, a local HTTP server, a closed port.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const made: string[] = [];
process.on('exit', () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

/** A fresh temporary folder, removed when the test process exits. */
export function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-data-'));
  made.push(d);
  return d;
}

/** One ustar entry (header + data padded to 512). */
export function tarEntry(name: string, data: Uint8Array): Buffer {
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

/** n CIFAR records: label (i + seed) % 10, channel-major pixels (p + i + seed) % 256. */
export function cifarRecords(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    b[i * 3073] = (i + seed) % 10;
    for (let p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (p + i + seed) % 256;
  }
  return b;
}

/** The layout of cifar-10-binary.tar.gz with 3 records per training batch and 4 test records. */
export function fixtureArchive(): Buffer {
  const entries = [1, 2, 3, 4, 5].map((i) => tarEntry(`cifar-10-batches-bin/data_batch_${i}.bin`, cifarRecords(3, i)));
  entries.push(tarEntry('cifar-10-batches-bin/test_batch.bin', cifarRecords(4, 0)));
  return zlib.gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

export interface Server { url: string; close: () => Promise<void> }

/** An HTTP server on 127.0.0.1 (port 0) answering the given paths; others get 404. */
export function serve(routes: Record<string, (res: http.ServerResponse, req: http.IncomingMessage) => void>): Promise<Server> {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const r = routes[req.url ?? ''];
      if (r) r(res, req); else { res.statusCode = 404; res.end(); }
    });
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => { srv.closeAllConnections(); srv.close(() => done()); }),
      });
    });
  });
}

/** A 127.0.0.1 port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Runs fn with GRADREG_DATA set to dir, restoring it afterwards. */
export async function withDataDir<T>(dir: string, fn: () => Promise<T> | T): Promise<T> {
  const old = process.env.GRADREG_DATA;
  process.env.GRADREG_DATA = dir;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env.GRADREG_DATA; else process.env.GRADREG_DATA = old;
  }
}
