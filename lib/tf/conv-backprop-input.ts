// conv2d's input gradient (a transposed convolution) as stride-1 forward conv2ds, so that it runs on the backend's fast conv
// path (XNNPACK on wasm) instead of a loop.
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
 * dx for y = conv2d(x, w, strides, pad), NHWC, dilation 1. Polyphase: the outputs of each phase (i mod sh, j mod sw) see only
 * the taps kh = r (mod sh), so each phase is a stride-1 correlation of dy with that sub-filter, flipped and with in/out
 * channels swapped; the phases are then interleaved. No multiply-by-zero work, unlike a conv over a zero-dilated dy.
 * Checked against the cpu backend in test/tf/wasm-kernels.test.ts.
 */
export function conv2dBackpropInputPolyphase(
  dy: tf.Tensor4D, filter: tf.Tensor4D, inShape: [number, number, number, number],
  strides: [number, number] | number, pad: ConvPad, dimRoundingMode?: DimRoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, ci] = inShape;
    const [kh, kw, , co] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      inShape, filter.shape, strides, 1, pad as never, dimRoundingMode, false, 'channelsLast');
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== co) {
      throw new Error(`conv2dBackpropInput: dy is [${dy.shape}], expected [${n},${oh},${ow},${co}] for input [${inShape}] and filter [${filter.shape}]`);
    }
    const wT = tf.transpose(filter, [0, 1, 3, 2]) as tf.Tensor4D; // [kh, kw, co, ci]
    const ah = Math.ceil(h / sh), aw = Math.ceil(w / sw);
    // One axis of one phase p: first tap r, tap count m, output count a, and dy's padding before/after.
    const axis = (p: number, s: number, k: number, size: number, pad0: number, outSize: number) => {
      const r = (((p + pad0) % s) + s) % s;
      const m = r < k ? Math.ceil((k - r) / s) : 0;
      const q = (p + pad0 - r) / s;
      const a = Math.ceil((size - p) / s);
      return { r, m, a, before: m - 1 - q, after: a + q - outSize };
    };
    const phases: tf.Tensor4D[] = [];
    for (let ph = 0; ph < sh; ph++) {
      for (let pw = 0; pw < sw; pw++) {
        const ax = axis(ph, sh, kh, h, top, oh), ay = axis(pw, sw, kw, w, left, ow);
        let out: tf.Tensor4D;
        if (ax.m === 0 || ay.m === 0 || ax.a <= 0 || ay.a <= 0) {
          out = tf.zeros([n, Math.max(ax.a, 0), Math.max(ay.a, 0), ci]);
        } else {
          const sub = tf.reverse(tf.stridedSlice(wT, [ax.r, ay.r, 0, 0], [kh, kw, co, ci], [sh, sw, 1, 1]), [0, 1]) as tf.Tensor4D;
          out = tf.conv2d(padOrCrop(dy, ax.before, ax.after, ay.before, ay.after), sub, 1, 'valid');
        }
        // Phases with fewer rows/columns (odd sizes) are padded to the common grid and cropped after interleaving.
        phases.push(out.shape[1] === ah && out.shape[2] === aw ? out : tf.pad(out, [[0, 0], [0, ah - out.shape[1]], [0, aw - out.shape[2]], [0, 0]]));
      }
    }
    if (phases.length === 1) return phases[0];
    // Interleave with two low-rank transposes (wasm's rank-6 transpose is 40x slower): [sh*sw, n*ah*aw, ci] ->
    // [n*ah*aw, sh*sw, ci] = [n*ah, aw, sh, sw*ci] -> [n*ah, sh, aw, sw*ci] = [n, ah*sh, aw*sw, ci].
    const t = tf.transpose(tf.reshape(tf.stack(phases), [sh * sw, n * ah * aw, ci]), [1, 0, 2]);
    const dx = tf.reshape(tf.transpose(tf.reshape(t, [n * ah, aw, sh, sw * ci]), [0, 2, 1, 3]), [n, ah * sh, aw * sw, ci]) as tf.Tensor4D;
    return dx.shape[1] === h && dx.shape[2] === w ? dx : tf.slice(dx, [0, 0, 0, 0], [n, h, w, ci]);
  });
}
