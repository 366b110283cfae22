// conv2d's filter gradient as one forward conv2d, so that it runs on the backend's fast conv path (XNNPACK on wasm).
import * as tf from '@tensorflow/tfjs';

export type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
export type DimRoundingMode = 'floor' | 'round' | 'ceil';

/**
 * dW[kh,kw,ci,co] = sum_{n,i,j} xpad[n, i*sh+kh, j*sw+kw, ci] dy[n,i,j,co] is a correlation of x with dy over (i, j) at
 * dilation = stride, with the batch as the contracted channel axis: conv2d(x^T[ci,H,W,n], dy^T[oh,ow,n,co], dilation s).
 * NHWC, forward dilation 1 (tfjs has no conv gradient for dilation > 1). Checked against the cpu backend in
 * test/tf/wasm-kernels.test.ts.
 */
export function conv2dBackpropFilterAsConv(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  strides: [number, number] | number, pad: ConvPad, dimRoundingMode?: DimRoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, 1, pad as never, dimRoundingMode, false, 'channelsLast');
    const { top, bottom, left, right } = info.padInfo;
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    if (dy.shape[1] !== oh || dy.shape[2] !== ow) {
      throw new Error(`conv2dBackpropFilter: dy is [${dy.shape}], expected [${x.shape[0]},${oh},${ow},${filterShape[3]}] for x [${x.shape}]`);
    }
    // Rows/columns past the last window never meet a filter tap: crop them so the conv's output is exactly kh x kw.
    const needH = (oh - 1) * sh + kh, needW = (ow - 1) * sw + kw;
    let xp: tf.Tensor4D = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    if (xp.shape[1] > needH || xp.shape[2] > needW) xp = tf.slice(xp, [0, 0, 0, 0], [-1, needH, needW, -1]);
    // Transposes as rank 3 (same permutations, fewer strides: faster on wasm).
    const [b, hp, wp, ci] = xp.shape;
    const co = dy.shape[3];
    const xT = tf.reshape(tf.transpose(tf.reshape(xp, [b, hp * wp, ci]), [2, 1, 0]), [ci, hp, wp, b]) as tf.Tensor4D;
    const dyT = tf.reshape(tf.transpose(tf.reshape(dy, [b, oh * ow, co]), [1, 0, 2]), [oh, ow, b, co]) as tf.Tensor4D;
    const g = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [ci, kh, kw, co]
    return tf.reshape(tf.transpose(tf.reshape(g, [ci, kh * kw, co]), [1, 0, 2]), [kh, kw, ci, co]) as tf.Tensor4D;
  });
}
