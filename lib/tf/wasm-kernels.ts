// Kernels that tfjs-backend-wasm 4.22 lacks or runs slowly, written with ops that are fast on wasm (XNNPACK conv2d).
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterAsConv, type ConvPad, type DimRoundingMode } from './conv-backprop-filter';
import { conv2dBackpropInputPhases } from './conv-backprop-input';
import { runOpsAsKernel } from './op-kernel';
import { patchWasmBatchMatMul } from './wasm-batch-matmul';

let registered = false;

interface ConvGradAttrs {
  strides: [number, number] | number; pad: ConvPad; dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: DimRoundingMode; dilations?: [number, number] | number;
}

function checkConvGradAttrs(kernel: string, a: ConvGradAttrs): void {
  if (a.dataFormat === 'NCHW') throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got NCHW: transpose the input to NHWC`);
  const d = a.dilations === undefined ? [1, 1] : typeof a.dilations === 'number' ? [a.dilations, a.dilations] : a.dilations;
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`${kernel} on wasm supports dilations 1 only, got [${d}]`);
}

/** Replaces a kernel the wasm backend may already have (the replacement must match the cpu backend: see the tests). */
function override(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
}

/** Registers the missing and faster kernels on the wasm backend (idempotent). Call after importing tfjs-backend-wasm. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  override({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
      checkConvGradAttrs('Conv2DBackpropFilter', a);
      return runOpsAsKernel(backend as tf.KernelBackend, [x, dy], (xt, dyt) =>
        conv2dBackpropFilterAsConv(xt as tf.Tensor4D, dyt as tf.Tensor4D, a.filterShape, a.strides, a.pad, a.dimRoundingMode));
    },
  });
  override({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const a = attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
      checkConvGradAttrs('Conv2DBackpropInput', a);
      return runOpsAsKernel(backend as tf.KernelBackend, [dy, filter], (dyt, ft) =>
        conv2dBackpropInputPhases(dyt as tf.Tensor4D, ft as tf.Tensor4D, a.inputShape, a.strides, a.pad, a.dimRoundingMode));
    },
  });
  patchWasmBatchMatMul();
}
