// Turns a function written with tf ops into a tfjs kernel body, without tensor-count leaks inside tf.grad.
import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` on a kernel's inputs and hands its result back as a TensorInfo.
 * Ops inside a kernel are not taped (the engine's kernelDepth is > 0), so gradients stay the kernel's registered ones.
 */
export function runOpsAsKernel(
  backend: tf.KernelBackend, inputs: tf.TensorInfo[], fn: (...ts: tf.Tensor[]) => tf.Tensor,
): tf.TensorInfo {
  // Ops hand their Tensors to runKernel; wrapping a bare TensorInfo and disposing it leaks a count inside tf.grad,
  // so wrap only what is not already a Tensor.
  const wrapped = inputs.map((t) => (t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t)));
  let out: tf.Tensor;
  try {
    out = tf.tidy(() => fn(...wrapped));
  } finally {
    wrapped.forEach((t, i) => { if (t !== inputs[i]) t.dispose(); });
  }
  // Returning the Tensor itself leaks two tensors per call inside tf.grad: return its data as a TensorInfo instead.
  const info: tf.TensorInfo = { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
  (backend as unknown as { incRef(id: object): void }).incRef(out.dataId);
  out.dispose();
  return info;
}
