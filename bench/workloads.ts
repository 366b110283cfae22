// The five benchmark workloads on the reference net. bench/reference.py implements the same ones in PyTorch: same shapes,
// same ops, same losses; change both together.
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, crossEntropyPerExample } from '../lib/tf/safe-ops';
import { INPUT_SHAPE, NUM_CLASSES, referenceNet, type ReferenceNet } from './reference-net';

export const WORKLOADS = ['train', 'double-backprop', 'jacobian', 'pgd10', 'inference'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const WORKLOAD_DESCRIPTIONS: Record<WorkloadName, string> = {
  train: 'plain training step: mean CE, backward, Adam',
  'double-backprop': 'CE + lambda mean_b ||dCE_b/dx_b||^2, backward through the input gradient, Adam',
  jacobian: 'CE + lambda mean_b ||v_b^T J_b||^2, one random unit v_b per example (Hoffman et al.), Adam',
  pgd10: 'PGD-10, Linf eps 0.3, step 0.075, random start, on the batch (eval)',
  inference: 'logits of the batch',
};

/** Constants shared with bench/reference.py. */
export const LAMBDA = 0.1;
export const LEARNING_RATE = 1e-3;
export const PGD = { eps: 0.3, step: 0.075, steps: 10 };

export interface Workload {
  /** One step; returns a tensor whose download marks the end of the step (the caller disposes it). */
  step(): tf.Tensor;
  dispose(): void;
}

/** Mean over examples of the squared L2 norm of each example's slice of g. */
function meanSquaredNorm(g: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sum(tf.square(tf.reshape(g, [g.shape[0], -1])), 1));
}

/** Mean cross-entropy: the plain training loss. */
export function ceLoss(net: ReferenceNet, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
  return crossEntropy(net.logits(x), y);
}

/** CE + LAMBDA mean_b ||dCE_b/dx_b||^2; one forward pass serves both the loss and its input gradient. */
export function doubleBackpropLoss(net: ReferenceNet, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
  const { value, grad } = tf.valueAndGrad((xx: tf.Tensor) => tf.sum(crossEntropyPerExample(net.logits(xx as tf.Tensor4D), y)))(x);
  return tf.add(tf.div(value, x.shape[0]), tf.mul(LAMBDA, meanSquaredNorm(grad))) as tf.Scalar;
}

/** CE + LAMBDA mean_b ||v_b^T J_b||^2, J_b = d logits_b / d x_b, v [B, classes] unit rows. */
export function jacobianLoss(net: ReferenceNet, x: tf.Tensor4D, y: tf.Tensor1D, v: tf.Tensor2D): tf.Scalar {
  const { value: logits, grad } = tf.valueAndGrad((xx: tf.Tensor) => net.logits(xx as tf.Tensor4D) as tf.Tensor)(x, v);
  return tf.add(crossEntropy(logits as tf.Tensor2D, y), tf.mul(LAMBDA, meanSquaredNorm(grad))) as tf.Scalar;
}

/** One random unit vector per example, [batch, NUM_CLASSES]. */
export function randomUnitRows(batch: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const r = tf.randomNormal([batch, NUM_CLASSES], 0, 1, 'float32', seed);
    return tf.div(r, tf.norm(r, 2, 1, true)) as tf.Tensor2D;
  });
}

/** An Adam training step; dispose() frees the net, the inputs and Adam's moment slots. */
function trainer(net: ReferenceNet, loss: () => tf.Scalar, disposeRest: () => void): Workload {
  const opt = tf.train.adam(LEARNING_RATE);
  return { step: () => opt.minimize(loss, true, net.variables) as tf.Scalar, dispose: () => { opt.dispose(); disposeRest(); } };
}

export function createWorkload(name: WorkloadName, batch: number, seed = 1): Workload {
  const net = referenceNet(seed);
  const x = tf.randomUniform([batch, ...INPUT_SHAPE], 0, 1, 'float32', seed + 100) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, NUM_CLASSES, 'float32', seed + 200)), 'int32')) as tf.Tensor1D;
  let stepSeed = seed * 1000;
  const dispose = () => { net.dispose(); tf.dispose([x, y]); };
  switch (name) {
    case 'train':
      return trainer(net, () => ceLoss(net, x, y), dispose);
    case 'double-backprop':
      return trainer(net, () => doubleBackpropLoss(net, x, y), dispose);
    case 'jacobian':
      return trainer(net, () => jacobianLoss(net, x, y, randomUnitRows(batch, stepSeed++)), dispose);
    case 'pgd10': {
      const inputGrad = tf.grad((xx: tf.Tensor) => tf.sum(crossEntropyPerExample(net.logits(xx as tf.Tensor4D), y)));
      return {
        step: () => tf.tidy(() => {
          const lo = tf.clipByValue(tf.sub(x, PGD.eps), 0, 1), hi = tf.clipByValue(tf.add(x, PGD.eps), 0, 1);
          let xa = tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -PGD.eps, PGD.eps, 'float32', stepSeed++)), 0, 1);
          for (let i = 0; i < PGD.steps; i++) {
            const next = tf.minimum(tf.maximum(tf.add(xa, tf.mul(PGD.step, tf.sign(inputGrad(xa)))), lo), hi);
            xa.dispose();
            xa = next;
          }
          return xa;
        }),
        dispose,
      };
    }
    case 'inference':
      return { step: () => net.logits(x), dispose };
    default:
      throw new Error(`unknown workload "${name as string}": use one of ${WORKLOADS.join(', ')}`);
  }
}
