// Jacobian (Frobenius) norm of the logits w.r.t. the input, by random projections (Hoffman, Roberts, Yaida 2019).
//
// Follows the paper: ||J||_F^2 = C * E_v ||v^T J||^2 for v uniform on the unit sphere of R^C, each v^T J one vector-Jacobian
// product (one extra backward pass), per example, fresh v each step.
// Our choices: the n projections of an example are an orthonormal frame (Gram-Schmidt of seeded Gaussians), so the estimate
// (C/n) sum_k ||v_k^T J||^2 is unbiased for any n and EXACT when n = C; value = mean over the batch of that estimate (Hoffman's
// objective adds lambda_JR/2 times it: weight = lambda_JR / 2). The n projections run as one pass over the batch tiled n times.
// Train-mode batch norm (batch-coupling.ts): the examples interact, so each projection is one forward pass and one
// vector-Jacobian product on the un-tiled batch (as Hoffman's PyTorch code does), and the frame is shared by the batch: the
// n = C value is then frame-independent (sum_k u_k u_k^T = I; with a frame per example the cross-example terms
// u_k(e)^T u_k(e') would not cancel), and equals Hoffman's exact mode (one-hot projections), which the n < C mean matches.
import * as tf from '@tensorflow/tfjs';
import type { LossContext, Model } from '../types';
import { deriveSeed } from '../data/rng';
import type { Regularizer } from './regularizer';
import { examplesInteract } from './batch-coupling';
import { untaped } from './detached';
import { checkKeys, checkNumber, checkWeight } from './validate';
import { withRecipe } from '../train/term-recipe';
import { shardRows } from '../train/batch-shard';

const SALT = 0x4a4e; // 'JN': keeps this term's random stream apart from other terms seeded from the same ctx.seed

/** [B, n, C] random orthonormal projection frames, one per example (n <= C). */
export function randomOrthonormalFrames(b: number, n: number, c: number, seed: number): tf.Tensor3D {
  if (n > c) throw new Error(`randomOrthonormalFrames: n (${n}) must be <= the number of classes (${c})`);
  const g = tf.tidy(() => tf.randomNormal([b, n, c], 0, 1, 'float32', seed).dataSync() as Float32Array);
  const out = new Float32Array(b * n * c);
  for (let e = 0; e < b; e++) {
    for (let k = 0; k < n; k++) {
      const v = Array.from(g.subarray((e * n + k) * c, (e * n + k + 1) * c));
      for (let j = 0; j < k; j++) {
        const u = out.subarray((e * n + j) * c, (e * n + j + 1) * c);
        const dot = v.reduce((a, vi, i) => a + vi * u[i], 0);
        for (let i = 0; i < c; i++) v[i] -= dot * u[i];
      }
      const norm = Math.sqrt(v.reduce((a, vi) => a + vi * vi, 0));
      for (let i = 0; i < c; i++) out[(e * n + k) * c + i] = v[i] / norm;
    }
  }
  return tf.tensor3d(out, [b, n, c]);
}

/**
 * The frames a Jacobian penalty uses on `model` now, [B, n, C]: one per example, or, when the examples interact (train-mode
 * batch norm), one frame shared by the whole batch (see the header). Untaped constants. On a shard of a split batch
 * (ctx.shard) the per-example frames are the shard's rows of the whole batch's frames, so the split step equals the unsplit one.
 */
export function projectionFrames(model: Model, b: number, n: number, seed: number, shard?: LossContext['shard']): tf.Tensor3D {
  return untaped(() => {
    if (!examplesInteract(model)) return shardRows(shard, b, (rows) => randomOrthonormalFrames(rows, n, model.numClasses, seed));
    return tf.tidy(() => tf.tile(randomOrthonormalFrames(1, n, model.numClasses, seed), [b, 1, 1]) as tf.Tensor3D);
  });
}

/**
 * Per-example estimate of ||J_b||_F^2 [B] with the given frames [B, n, C]: (C/n) sum_k ||v_k^T J||^2 restricted to example b;
 * differentiable w.r.t. the weights. One pass over the batch tiled n times when examples are independent, else (train-mode
 * batch norm) one forward pass and one vector-Jacobian product per projection on the un-tiled batch.
 */
export function projectedJacobianNormSq(model: Model, x: tf.Tensor4D, frames: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, n, c] = frames.shape;
    if (examplesInteract(model)) {
      const parts: tf.Tensor1D[] = [];
      for (let k = 0; k < n; k++) {
        const v = tf.reshape(tf.slice(frames, [0, k, 0], [b, 1, c]), [b, c]);
        const vjp = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.logits(xx as tf.Tensor4D), v)))(x);
        parts.push(tf.sum(tf.square(tf.reshape(vjp, [b, -1])), 1) as tf.Tensor1D);
      }
      return tf.mul(tf.addN(parts), c / n) as tf.Tensor1D;
    }
    // Row k*b + e of the tiled batch is example e with projection k.
    const xs = tf.tile(x, [n, 1, 1, 1]) as tf.Tensor4D;
    const v = tf.reshape(tf.transpose(frames, [1, 0, 2]), [n * b, c]);
    const vjp = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.logits(xx as tf.Tensor4D), v)))(xs);
    const sq = tf.reshape(tf.sum(tf.square(tf.reshape(vjp, [n * b, -1])), 1), [n, b]);
    return tf.mul(tf.sum(sq, 0), c / n) as tf.Tensor1D;
  });
}

export interface JacobianNormConfig {
  /** Number of random projections n, 1..numClasses (n = numClasses is exact). Default 1. */
  projections?: number;
  weight?: number;
  /** Extra seed mixed with ctx.seed (to decorrelate two Jacobian terms). Default 0. */
  seed?: number;
}

export function jacobianNorm(config: JacobianNormConfig = {}): Regularizer<Required<JacobianNormConfig>> {
  const where = 'jacobianNorm';
  checkKeys(where, config, ['projections', 'weight', 'seed']);
  const projections = checkNumber(where, 'projections', config.projections ?? 1, { min: 1, integer: true });
  const weight = checkWeight(where, config.weight ?? 1);
  const seed = checkNumber(where, 'seed', config.seed ?? 0, { integer: true });
  return withRecipe('jacobianNorm', [config], {
    name: 'jacobian-norm',
    label: `Jacobian norm (${projections} proj.)`,
    weight,
    config: { projections, weight, seed },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, _y: tf.Tensor1D, ctx: LossContext): tf.Scalar {
      if (projections > model.numClasses) {
        throw new Error(`${where}: projections must be <= the model's number of classes (${model.numClasses}), got ${projections}`);
      }
      return tf.tidy(() => {
        const frames = projectionFrames(model, x.shape[0], projections, deriveSeed(ctx.seed, SALT, seed), ctx.shard);
        return tf.mean(projectedJacobianNormSq(model, x, frames)) as tf.Scalar;
      });
    },
  });
}
