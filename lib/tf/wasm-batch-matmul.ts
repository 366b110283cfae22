// The wasm backend's BatchMatMul is fast only without transposes: with transposeA or transposeB (every matMul gradient)
// it is 10-40x slower than transposing the operand first and multiplying plainly (measured here, tfjs 4.22:
// [128,100] x [1568,100]^T 51 ms vs transpose 0.5 ms + 1.4 ms). This wraps the original kernel to do exactly that.
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Replaces wasm's BatchMatMul by one that materializes transposed operands (idempotent). Returns false if absent. */
export function patchWasmBatchMatMul(): boolean {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) return false;
  if ((original as { gradregPatched?: boolean }).gradregPatched) return true;
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!transposeKernel) return false;
  const swapLastTwo = (t: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeKernel.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } } as never) as tf.TensorInfo;
  };
  const kernelFunc = (args: KernelArgs) => {
    const backend = args.backend as tf.KernelBackend;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const at = attrs.transposeA ? swapLastTwo(a, backend) : a;
    const bt = attrs.transposeB ? swapLastTwo(b, backend) : b;
    try {
      return original.kernelFunc({ ...args, inputs: { a: at, b: bt }, attrs: { ...attrs, transposeA: false, transposeB: false } } as KernelArgs);
    } finally {
      if (at !== a) backend.disposeData(at.dataId);
      if (bt !== b) backend.disposeData(bt.dataId);
    }
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...original, kernelFunc, gradregPatched: true } as tf.KernelConfig);
  return true;
}
