// IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed (detected by magic bytes, not by file name).
import * as zlib from 'node:zlib';

export interface Idx {
  /** 0x08 = unsigned byte (the only type these data sets use). */
  dtype: number;
  dims: number[];
  data: Uint8Array;
}

export class CorruptFileError extends Error {
  override name = 'CorruptFileError';
}

/** Gunzips when the buffer starts with the gzip magic 1f 8b; a gzip stream that does not decompress is a CorruptFileError. */
export function maybeGunzip(buf: Uint8Array, name = 'file'): Uint8Array {
  if (!(buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)) return buf;
  try {
    return new Uint8Array(zlib.gunzipSync(buf));
  } catch (e) {
    throw new CorruptFileError(`${name} starts with the gzip magic number but does not decompress (${(e as Error).message}): it is truncated or corrupt`);
  }
}

/** Parses a decompressed IDX buffer; `name` appears in errors. */
export function parseIdx(raw: Uint8Array, name = 'IDX file'): Idx {
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) {
    throw new Error(`${name} is not an IDX file (wrong magic number ${Array.from(raw.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}; expected 00 00 08 0N)`);
  }
  const dtype = raw[2];
  const ndim = raw[3];
  if (dtype !== 0x08) throw new Error(`${name}: IDX data type 0x${dtype.toString(16)} is not supported (only unsigned bytes, 0x08)`);
  if (raw.length < 4 + 4 * ndim) throw new Error(`${name} is truncated: its header needs ${4 + 4 * ndim} bytes for ${ndim} dimensions, the file has ${raw.length}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * ndim;
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== offset + count) {
    throw new Error(`${name} is truncated or padded: header says ${count} bytes of data (${dims.join('x')}), file has ${raw.length - offset}`);
  }
  return { dtype, dims, data: raw.subarray(offset) };
}

/** Reads an IDX buffer, raw or gzip. */
export function readIdx(buf: Uint8Array, name?: string): Idx {
  return parseIdx(maybeGunzip(buf, name), name);
}
