// A minimal PNG decoder for tests (8-bit, non-interlaced; what chromium writes), built on node:zlib only.
import * as zlib from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(buf: Buffer): DecodedPng {
  SIGNATURE.forEach((b, i) => { if (buf[i] !== b) throw new Error('not a PNG: bad signature'); });
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colorType = body[9];
      if (depth !== 8 || body[12] !== 0) throw new Error(`unsupported PNG: depth ${depth}, interlace ${body[12]}`);
      channels = CHANNELS[colorType];
      if (!channels) throw new Error(`unsupported PNG color type ${colorType}`);
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      const pred = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      px[y * stride + x] = (src[x] + pred) & 255;
    }
  }
  return { width, height, channels, pixels: px };
}

/** Variance of the luminance-ish mean of the color channels over all pixels (0 for a blank image). */
export function pixelVariance(img: DecodedPng): number {
  const n = img.width * img.height;
  const color = Math.min(3, img.channels);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < color; k++) v += img.pixels[i * img.channels + k];
    v /= color;
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  return s2 / n - mean * mean;
}

/** RGB(A) of pixel (x, y). */
export function pixelAt(img: DecodedPng, x: number, y: number): number[] {
  const o = (y * img.width + x) * img.channels;
  return Array.from(img.pixels.subarray(o, o + img.channels));
}
