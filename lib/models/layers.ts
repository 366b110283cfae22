// Building blocks with explicit tf.Variables and ops whose second-order gradients are right in tfjs
// (no maxPool/avgPool: they throw at second order; pooling is a reshape + mean, or a strided convolution).
import * as tf from '@tensorflow/tfjs';
import type { Mode } from '../types';
import { sigmoid, tanh } from '../tf/safe-ops';
import { deriveSeed } from '../data/rng';

export interface Layer {
  readonly variables: tf.Variable[];
  readonly state: tf.Variable[];
  apply(x: tf.Tensor, mode: Mode): tf.Tensor;
  /** Folds the batch statistics of the last train-mode forward into the running ones (batch norm). */
  commitStats?(): void;
}

let uid = 0;
const vname = (kind: string) => `${kind}_${uid++}`;

/** He-normal weights (fan-in), seeded. */
function heNormal(shape: number[], fanIn: number, seed: number): tf.Variable {
  // Inside tidy: the variable keeps its own copy, the initial tensor is released.
  return tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed), true, vname('w')));
}

export function dense(inDim: number, outDim: number, seed: number): Layer {
  const w = heNormal([inDim, outDim], inDim, seed);
  const b = tf.tidy(() => tf.variable(tf.zeros([outDim]), true, vname('b')));
  return { variables: [w, b], state: [], apply: (x) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b) };
}

export function conv(k: number, cin: number, cout: number, stride: number, seed: number, bias = true): Layer {
  const w = heNormal([k, k, cin, cout], k * k * cin, seed);
  const b = bias ? tf.tidy(() => tf.variable(tf.zeros([cout]), true, vname('b'))) : undefined;
  return {
    variables: b ? [w, b] : [w],
    state: [],
    apply: (x) => {
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, 'same');
      return b ? tf.add(y, b) : y;
    },
  };
}

export const ACTIVATIONS = ['relu', 'sigmoid', 'tanh', 'softplus'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export function activation(kind: Activation): Layer {
  if (!ACTIVATIONS.includes(kind)) throw new Error(`unknown activation "${String(kind)}": use one of ${ACTIVATIONS.join(', ')}`);
  const f = { relu: tf.relu, sigmoid, tanh, softplus: tf.softplus }[kind];
  return { variables: [], state: [], apply: (x) => f(x) };
}

export function flatten(): Layer {
  return { variables: [], state: [], apply: (x) => tf.reshape(x, [x.shape[0], -1]) };
}

/** Non-overlapping mean pooling by reshape + mean (second-order safe; tf.avgPool's gradient is not differentiable). */
export function meanPool(size: number): Layer {
  return {
    variables: [], state: [],
    apply: (x) => {
      const [b, h, w, c] = x.shape as [number, number, number, number];
      if (h % size || w % size) throw new Error(`meanPool(${size}) needs height and width divisible by ${size}, got ${h}x${w}`);
      return tf.mean(tf.reshape(x, [b, h / size, size, w / size, size, c]), [2, 4]);
    },
  };
}

/** Global mean over height and width: [B,H,W,C] -> [B,C]. */
export function globalMeanPool(): Layer {
  return { variables: [], state: [], apply: (x) => tf.mean(x, [1, 2]) };
}

/**
 * max over the last axis split in groups of `pieces`. tf.max has no second-order gradient (its gradient uses Equal), so the
 * argmax mask is computed inside a customGrad and treated as a constant: the pieces are linear, the mask's derivative is 0.
 */
export const maxoutOp: (x: tf.Tensor, pieces: number) => tf.Tensor = (x, pieces) => {
  const shape = x.shape;
  const units = shape[shape.length - 1] / pieces;
  if (!Number.isInteger(units)) throw new Error(`maxout: ${shape[shape.length - 1]} features do not split into ${pieces} pieces`);
  const grouped = tf.reshape(x, [...shape.slice(0, -1), units, pieces]);
  const mask = maxMask(grouped);
  return tf.sum(tf.mul(grouped, mask), -1);
};

const maxMask: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const idx = tf.argMax(x, -1);
  const value = tf.oneHot(tf.reshape(idx, [-1]), x.shape[x.shape.length - 1]).reshape(x.shape).toFloat();
  return { value, gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => tf.zerosLike(saved[0]) };
}) as never) as never;

export function maxout(pieces: number): Layer {
  return { variables: [], state: [], apply: (x) => maxoutOp(x, pieces) };
}

/** Batch norm over all but the last axis: batch moments in train mode (recorded for commitStats), running ones in eval. */
export function batchNorm(channels: number, momentum = 0.1, eps = 1e-5): Layer {
  const [gamma, beta, runMean, runVar] = tf.tidy(() => [
    tf.variable(tf.ones([channels]), true, vname('gamma')), tf.variable(tf.zeros([channels]), true, vname('beta')),
    tf.variable(tf.zeros([channels]), false, vname('rmean')), tf.variable(tf.ones([channels]), false, vname('rvar'))]);
  let last: { mean: tf.Tensor; variance: tf.Tensor; n: number } | undefined;
  return {
    variables: [gamma, beta],
    state: [runMean, runVar],
    apply: (x, mode) => {
      const axes = x.shape.map((_, i) => i).slice(0, -1);
      if (mode === 'eval') return tf.add(tf.mul(tf.mul(tf.sub(x, runMean), tf.rsqrt(tf.add(runVar, eps))), gamma), beta);
      const mean = tf.mean(x, axes);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), axes);
      if (last) tf.dispose([last.mean, last.variance]);
      last = { mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()), n: x.size / channels };
      return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
    },
    commitStats: () => {
      if (!last) return;
      const l = last;
      tf.tidy(() => {
        runMean.assign(tf.add(tf.mul(runMean, 1 - momentum), tf.mul(l.mean, momentum)));
        // PyTorch keeps the unbiased variance in its running estimate.
        runVar.assign(tf.add(tf.mul(runVar, 1 - momentum), tf.mul(l.variance, (momentum * l.n) / Math.max(1, l.n - 1))));
      });
      tf.dispose([l.mean, l.variance]);
      last = undefined;
    },
  };
}

/** Seeds for the layers of a model, derived from the model seed. */
export function seeder(seed: number): () => number {
  let i = 0;
  return () => deriveSeed(seed, i++);
}
