// Kernels that tfjs-backend-wasm 4.22 lacks, written with ops the wasm backend has.
import * as tf from '@tensorflow/tfjs';

let registered = false;

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/**
 * Filter gradient of conv2d as one im2col matMul: patches[N, KH*KW*Ci]^T x dy[N, Co].
 * Checked against the cpu backend in test/tf/wasm-kernels.test.ts.
 */
export function conv2dBackpropFilterIm2col(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  strides: [number, number] | number, pad: Pad, dilations: [number, number] | number = 1,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, dilations, pad as never, dimRoundingMode, false, 'channelsLast');
    const { top, bottom, left, right } = info.padInfo;
    const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const b = x.shape[0];
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const taps: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r0 = i * dh, c0 = j * dw;
        taps.push(tf.stridedSlice(xp, [0, r0, c0, 0], [b, r0 + sh * (oh - 1) + 1, c0 + sw * (ow - 1) + 1, ci], [1, sh, sw, 1]) as tf.Tensor4D);
      }
    }
    const n = b * oh * ow;
    const patches = (taps.length === 1 ? taps[0] : tf.concat(taps, 3)).reshape([n, kh * kw * ci]);
    const g = tf.matMul(patches, dy.reshape([n, co]), true, false);
    return g.reshape([kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/** Registers the missing kernels on the wasm backend (idempotent). Call after importing tfjs-backend-wasm. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as {
        strides: [number, number] | number; pad: Pad; dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
      };
      if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
      // Ops hand their Tensors to runKernel; wrapping a bare TensorInfo and disposing it leaks a count inside tf.grad.
      const wrap = (t: tf.TensorInfo) => (t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t));
      const xt = wrap(x) as tf.Tensor4D;
      const dyt = wrap(dy) as tf.Tensor4D;
      const out = conv2dBackpropFilterIm2col(xt, dyt, a.filterShape, a.strides, a.pad, 1, a.dimRoundingMode);
      if (xt !== x) xt.dispose();
      if (dyt !== dy) dyt.dispose();
      // Hand the data over as a TensorInfo: returning the Tensor itself leaks two tensors per call inside tf.grad.
      const info: tf.TensorInfo = { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
      (backend as unknown as { incRef(id: object): void }).incRef(out.dataId);
      out.dispose();
      return info;
    },
  });
}
