// Flow gradient regularization, FGR (Xia & Li, Neurocomputing 2021), following the official code
// (github xpf/Flow-Gradient-Regularization, regularizers/fgr.py and train.py):
//   z = warp(x, w) on the identity grid (align_corners=True), w = 0 a [B,H,W,2] flow in grid units,
//   L = batch-MEAN cross-entropy of f(z), reg = mean_b sum_{i,j,k} (dL/dw_bijk)^2 at w = 0, loss = CE + lambda * reg.
//   Random start (later code version): x is first warped by N(0, sigma^2) flow noise (torch grid_sample, zeros padding),
//   clamped to [0,1] and detached; then both CE and reg use that x.
// lambda and the batch size: L is a batch mean, so dL/dw_b = (1/B) dCE_b/dw_b and reg = (1/B^2) mean_b ||dCE_b/dw_b||^2: the
//   per-example strength is lambda/B^2. The paper's lambda in {100, 200, 300} is for B = 128 (2022 code; 256 in 2021): at batch
//   size B use scaleFlowLambda(lambda, 128, B) = lambda * (B/128)^2 for the same per-example strength.
// Closed form at w = 0 (form 'closed', no grid sampling): z depends on w_bij only through pixel (b,i,j), and the sampler's
//   derivative at integer positions is the forward difference, so dL/dw_bij = (W-1)/2 sum_c g_bijc (x_bi(j+1)c - x_bijc) for the
//   x channel (and (H-1)/2 times the row difference for y), g = dL/dx. Past the last column/row the difference uses the padding:
//   'border' (the official training sampler clamps indices) gives 0, 'zeros' gives -x. FGR is IGR weighted by image edges.
//   Tested equal to the warp-based autodiff (form 'warp').
// Ours: the official sampler computes pixel positions from affine_grid in float32, which for W = 28 puts columns 3, 6, 18
//   slightly below the integer (so it takes a backward difference there; none for W = 32); ours uses exact integer positions.
import * as tf from '@tensorflow/tfjs';
import type { LossContext, Model } from '../types';
import { crossEntropy } from '../tf/safe-ops';
import { warp, WARP_PADDINGS, type WarpPadding } from '../tf/warp';
import { deriveSeed } from '../data/rng';
import type { Regularizer } from './regularizer';
import { untaped } from './detached';
import { checkKeys, checkNumber, checkOneOf } from './validate';
import { withRecipe } from '../train/term-recipe';
import { fullBatchSize, shardRows } from '../train/batch-shard';

export type FlowGradientForm = 'closed' | 'warp';
export const FLOW_GRADIENT_FORMS: readonly FlowGradientForm[] = ['closed', 'warp'];

const SALT = 0x4647; // 'FG'

export interface FlowGradientConfig {
  /** The trainer's multiplier (the paper's lambda), >= 0. Tied to the batch size: see scaleFlowLambda. */
  lambda: number;
  /** Std of the random-start flow noise in grid units; 0 disables the random start. Default 0.01 (official runs). */
  randomStartSigma?: number;
  /** 'closed' (input gradient times image differences, default) or 'warp' (autodiff through the bilinear warp). */
  form?: FlowGradientForm;
  /** Sampler padding for the flow derivative at the last row/column. Default 'border' (the official training sampler). */
  padding?: WarpPadding;
}

/** lambda for batch size `toBatch` giving the same per-example strength as `lambda` at `fromBatch` (reg uses the mean loss). */
export function scaleFlowLambda(lambda: number, fromBatch: number, toBatch: number): number {
  checkNumber('scaleFlowLambda', 'fromBatch', fromBatch, { min: 1, integer: true });
  checkNumber('scaleFlowLambda', 'toBatch', toBatch, { min: 1, integer: true });
  return lambda * (toBatch / fromBatch) ** 2;
}

/**
 * x warped by seeded N(0, sigma^2) grid-unit flow noise (zeros padding, as torch's grid_sample), clamped to [0,1]. Untaped.
 * On a shard of a split batch (`shard`), the noise is the shard's rows of the whole batch's noise.
 */
export function flowRandomStart(x: tf.Tensor4D, sigma: number, seed: number, shard?: LossContext['shard']): tf.Tensor4D {
  return untaped(() => tf.tidy(() => {
    const [b, h, w] = x.shape;
    const noise = shardRows(shard, b, (rows) => tf.randomNormal([rows, h, w, 2], 0, sigma, 'float32', seed) as tf.Tensor4D);
    return tf.clipByValue(warp(x, noise, { padding: 'zeros' }), 0, 1) as tf.Tensor4D;
  }));
}

/** Forward differences of x along width and height [B,H,W,C] each, the last column/row per the padding. */
export function forwardDifferences(x: tf.Tensor4D, padding: WarpPadding): { dx: tf.Tensor4D; dy: tf.Tensor4D } {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const edgeX = padding === 'border' ? tf.slice(x, [0, 0, w - 1, 0], [b, h, 1, c]) : tf.zeros([b, h, 1, c]);
    const edgeY = padding === 'border' ? tf.slice(x, [0, h - 1, 0, 0], [b, 1, w, c]) : tf.zeros([b, 1, w, c]);
    const nextX = tf.concat([tf.slice(x, [0, 0, 1, 0], [b, h, w - 1, c]), edgeX], 2);
    const nextY = tf.concat([tf.slice(x, [0, 1, 0, 0], [b, h - 1, w, c]), edgeY], 1);
    return { dx: tf.sub(nextX, x) as tf.Tensor4D, dy: tf.sub(nextY, x) as tf.Tensor4D };
  });
}

/** dL/dw at w = 0 [B,H,W,2] (channel 0 = x, 1 = y), L the batch-mean CE; differentiable w.r.t. the weights. */
export function flowGradientAtZero(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, form: FlowGradientForm, padding: WarpPadding): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    if (form === 'warp') {
      const zero = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
      return tf.grad((flow: tf.Tensor) => crossEntropy(model.logits(warp(x, flow as tf.Tensor4D, { padding })), y))(zero) as tf.Tensor4D;
    }
    const g = tf.grad((xx: tf.Tensor) => crossEntropy(model.logits(xx as tf.Tensor4D), y))(x);
    const { dx, dy } = untaped(() => forwardDifferences(x, padding));
    const fx = tf.mul(tf.sum(tf.mul(g, dx), 3, true), (w - 1) / 2);
    const fy = tf.mul(tf.sum(tf.mul(g, dy), 3, true), (h - 1) / 2);
    return tf.concat([fx, fy], 3) as tf.Tensor4D;
  });
}

export function flowGradient(config: FlowGradientConfig): Regularizer<Required<FlowGradientConfig>> {
  const where = 'flowGradient';
  checkKeys(where, config, ['lambda', 'randomStartSigma', 'form', 'padding']);
  const lambda = checkNumber(where, 'lambda', config.lambda, { min: 0 });
  const randomStartSigma = checkNumber(where, 'randomStartSigma', config.randomStartSigma ?? 0.01, { min: 0 });
  const form = checkOneOf(where, 'form', config.form ?? 'closed', FLOW_GRADIENT_FORMS);
  const padding = checkOneOf(where, 'padding', config.padding ?? 'border', WARP_PADDINGS);
  return withRecipe('flowGradient', [config], {
    name: 'flow-gradient',
    label: `FGR (lambda ${lambda})`,
    weight: lambda,
    config: { lambda, randomStartSigma, form, padding },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): tf.Scalar {
      return tf.tidy(() => {
        // NB: the official code also trains the CE term on the randomly started x; the trainer's CE term sees the clean x.
        const xs = randomStartSigma > 0 ? flowRandomStart(x, randomStartSigma, deriveSeed(ctx.seed, SALT), ctx.shard) : x;
        const gw = flowGradientAtZero(model, xs, y, form, padding);
        // reg ~ 1/B^2 per example (L is the batch mean): on a shard of b rows of B, gw is B/b times the unsplit one, and the
        // trainer weights the value by b/B, so (b/B)^2 here makes the shards sum to the unsplit value.
        const b = x.shape[0], scale = (b / fullBatchSize(ctx, b)) ** 2;
        const reg = tf.div(tf.sum(tf.square(gw)), b) as tf.Scalar;
        return scale === 1 ? reg : tf.mul(reg, scale) as tf.Scalar;
      });
    },
  });
}
