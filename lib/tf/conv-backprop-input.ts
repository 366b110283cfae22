// conv2d's input gradient (a transposed convolution) as ONE stride-1 forward conv2d, so that it runs on the backend's fast
// conv path (XNNPACK on wasm) instead of a loop.
import * as tf from '@tensorflow/tfjs';
import type { ConvPad, DimRoundingMode } from './conv-backprop-filter';

/** Pads (before/after >= 0) or crops (< 0) axis 1 and 2 of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const crop = [Math.max(-top, 0), Math.max(-bottom, 0), Math.max(-left, 0), Math.max(-right, 0)];
  if (crop.some((c) => c > 0)) {
    t = tf.slice(t, [0, crop[0], crop[2], 0], [-1, t.shape[1] - crop[0] - crop[1], t.shape[2] - crop[2] - crop[3], -1]);
  }
  const p = [Math.max(top, 0), Math.max(bottom, 0), Math.max(left, 0), Math.max(right, 0)];
  return p.some((v) => v > 0) ? tf.pad(t, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]) : t;
}

/**
 * Along one axis, output phase p (rows i = a*s + p) sees only the taps k = r (mod s): dx[a*s+p] = sum_m dy[a + q - m] w[r + s*m].
 * Returns, per phase, the dy offset (relative to a) that each tap reads, or -1 where no tap does, over the union window
 * [lo, hi] of all phases, so that every phase is one slice of a single stride-1 correlation.
 */
function phaseTaps(s: number, k: number, pad0: number): { lo: number; hi: number; taps: number[][] } {
  const perPhase: { q: number; r: number; m: number }[] = [];
  for (let p = 0; p < s; p++) {
    const r = (((p + pad0) % s) + s) % s;
    perPhase.push({ r, m: r < k ? Math.ceil((k - r) / s) : 0, q: (p + pad0 - r) / s });
  }
  const used = perPhase.filter((v) => v.m > 0);
  const lo = Math.min(...used.map((v) => v.q - v.m + 1)), hi = Math.max(...used.map((v) => v.q));
  const taps = perPhase.map(({ q, r, m }) => {
    const row = new Array<number>(hi - lo + 1).fill(-1);
    for (let j = 0; j < m; j++) row[q - j - lo] = r + s * j;
    return row;
  });
  return { lo, hi, taps };
}

/**
 * dx for y = conv2d(x, w, strides, pad), NHWC, dilation 1. All sh*sw output phases come from one stride-1 conv2d of dy whose
 * output channels are (phase, ci): the filter holds each phase's taps (flipped, in/out channels swapped, zeros where a phase
 * has no tap, so a non-finite weight makes NaNs there too); a depth-to-space transpose then interleaves the phases. Checked against the cpu backend in
 * test/tf/wasm-kernels.test.ts.
 */
export function conv2dBackpropInputPhases(
  dy: tf.Tensor4D, filter: tf.Tensor4D, inShape: [number, number, number, number],
  strides: [number, number] | number, pad: ConvPad, dimRoundingMode?: DimRoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, ci] = inShape;
    const [kh, kw, , co] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      inShape, filter.shape, strides, 1, pad as never, dimRoundingMode, false, 'channelsLast');
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== co) {
      throw new Error(`conv2dBackpropInput: dy is [${dy.shape}], expected [${n},${oh},${ow},${co}] for input [${inShape}] and filter [${filter.shape}]`);
    }
    const rows = phaseTaps(sh, kh, info.padInfo.top), cols = phaseTaps(sw, kw, info.padInfo.left);
    const lh = rows.hi - rows.lo + 1, lw = cols.hi - cols.lo + 1;
    // Filter [lh, lw, co, (ph, pw, ci)] picked from w's taps by a 0/1 selection matMul (wasm's Gather is ~10x slower).
    const select = new Float32Array(lh * lw * sh * sw * kh * kw);
    let row = 0;
    for (let u = 0; u < lh; u++) {
      for (let v = 0; v < lw; v++) {
        for (let ph = 0; ph < sh; ph++) {
          for (let pw = 0; pw < sw; pw++, row++) {
            const a = rows.taps[ph][u], b = cols.taps[pw][v];
            if (a >= 0 && b >= 0) select[row * kh * kw + a * kw + b] = 1;
          }
        }
      }
    }
    const taps = tf.reshape(tf.transpose(filter, [0, 1, 3, 2]), [kh * kw, co * ci]);
    const picked = tf.reshape(tf.matMul(tf.tensor2d(select, [row, kh * kw]), taps), [lh * lw, sh * sw, co, ci]);
    const wc = tf.reshape(tf.transpose(picked, [0, 2, 1, 3]), [lh, lw, co, sh * sw * ci]) as tf.Tensor4D;
    // Output a = 0..ah-1 of every phase reads dy[a + lo .. a + hi].
    const ah = Math.ceil(h / sh), aw = Math.ceil(w / sw);
    const dyp = padOrCrop(dy, -rows.lo, ah + rows.hi - oh, -cols.lo, aw + cols.hi - ow);
    const phases = tf.conv2d(dyp, wc, 1, 'valid'); // [n, ah, aw, (ph, pw, ci)]
    if (sh === 1 && sw === 1) return phases.shape[1] === h && phases.shape[2] === w ? phases : tf.slice(phases, 0, [n, h, w, ci]);
    // Depth to space with one rank-4 transpose (wasm's rank-6 transpose is ~40x slower): [n*ah, aw, sh, sw*ci] -> [n*ah, sh, aw, sw*ci].
    const dx = tf.reshape(tf.transpose(tf.reshape(phases, [n * ah, aw, sh, sw * ci]), [0, 2, 1, 3]), [n, ah * sh, aw * sw, ci]) as tf.Tensor4D;
    return dx.shape[1] === h && dx.shape[2] === w ? dx : tf.slice(dx, [0, 0, 0, 0], [n, h, w, ci]);
  });
}
