// Saliency-aware gradient regularization, SAGR (Li, Hu, Lin, Wu, Shen, IEEE TIFS 2023).
//
// From the paper's abstract: a Jacobian penalty with a biased weight distribution on the POSITIVE components of the class
// gradients; the true class keeps the dominant (saliency-critical) role and is penalized less, false classes are treated as
// nuisance and depressed more. The exact formula is unavailable to us: this is OUR RECONSTRUCTION (notes/papers.md):
//   R = mean_b sum_c w_bc ( ||relu(J_bc)||^2 + negWeight ||relu(-J_bc)||^2 ),  J_bc = d f_c(x_b) / dx_b (logit gradients),
//   w_bc = trueWeight if c = y_b else falseWeight (trueWeight < falseWeight is the paper's bias; not enforced, to allow ablations).
// Cost: one vector-Jacobian product per class, run as one pass over the batch tiled C times; in train mode with batch norm
// (examples interact, batch-coupling.ts) one forward pass and one product per class on the un-tiled batch instead, so the class
// gradient is d(sum_e f_c(x_e))/dx, what autograd gives on the batch, not a mixture over the tiled copies.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import type { Regularizer } from './regularizer';
import { examplesInteract } from './batch-coupling';
import { checkKeys, checkWeight } from './validate';
import { withRecipe } from '../train/term-recipe';

export interface SagrConfig {
  /** Weight on the true class's gradient. Default 0.1. */
  trueWeight?: number;
  /** Weight on each false class's gradient. Default 1. */
  falseWeight?: number;
  /** Relative weight of the negative parts (0: positive parts only, 1: the plain class-weighted Jacobian norm). Default 0. */
  negWeight?: number;
  weight?: number;
}

/** All class gradients of the logits, [C, B, D] (row c: d f_c / dx for every example); differentiable w.r.t. the weights. */
export function classGradients(model: Model, x: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const b = x.shape[0], c = model.numClasses;
    if (examplesInteract(model)) {
      const rows: tf.Tensor[] = [];
      for (let k = 0; k < c; k++) {
        const sel = tf.oneHot(tf.fill([b], k, 'int32') as tf.Tensor1D, c);
        rows.push(tf.reshape(tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.logits(xx as tf.Tensor4D), sel)))(x), [b, -1]));
      }
      return tf.stack(rows) as tf.Tensor3D;
    }
    const xs = tf.tile(x, [c, 1, 1, 1]) as tf.Tensor4D;
    // Row k*b + e selects class k for example e.
    const sel = tf.reshape(tf.tile(tf.expandDims(tf.eye(c), 1), [1, b, 1]), [c * b, c]);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.logits(xx as tf.Tensor4D), sel)))(xs);
    return tf.reshape(g, [c, b, -1]) as tf.Tensor3D;
  });
}

export function sagr(config: SagrConfig = {}): Regularizer<Required<SagrConfig>> {
  const where = 'sagr';
  checkKeys(where, config, ['trueWeight', 'falseWeight', 'negWeight', 'weight']);
  const trueWeight = checkWeight(where, config.trueWeight ?? 0.1, 'trueWeight');
  const falseWeight = checkWeight(where, config.falseWeight ?? 1, 'falseWeight');
  const negWeight = checkWeight(where, config.negWeight ?? 0, 'negWeight');
  const weight = checkWeight(where, config.weight ?? 1);
  return withRecipe('sagr', [config], {
    name: 'sagr',
    label: `SAGR (true ${trueWeight}, false ${falseWeight})`,
    weight,
    config: { trueWeight, falseWeight, negWeight, weight },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
      return tf.tidy(() => {
        const g = classGradients(model, x);
        let perClass = tf.sum(tf.square(tf.relu(g)), 2); // [C, B]
        if (negWeight > 0) perClass = tf.add(perClass, tf.mul(negWeight, tf.sum(tf.square(tf.relu(tf.neg(g))), 2)));
        const isTrue = tf.transpose(tf.oneHot(tf.cast(y, 'int32') as tf.Tensor1D, model.numClasses)); // [C, B]
        const w = tf.add(tf.mul(isTrue, trueWeight), tf.mul(tf.sub(1, isTrue), falseWeight));
        return tf.div(tf.sum(tf.mul(w, perClass)), x.shape[0]) as tf.Scalar;
      });
    },
  });
}
