// Selective input gradient regularization (SIGR) and J-SIGR (Liu, Wu et al., Pattern Recognition 2024).
//
// From the paper's abstract: Jacobian normalization for linearized robustness plus a regularization of perturbation-based
// saliency maps so the model imitates interpretable predictions. The full text and code are unavailable to us, so the
// formulas are OUR RECONSTRUCTION (notes/papers.md), every choice an option:
//   SIGR   = mean_b ||(1 - M_b) * dCE_b/dx_b||_2^2, M the top-k perturbation-saliency mask (saliency-mask.ts): input gradients
//            are penalized only outside the salient region (as in Xing et al.'s DIGR).
//   J-SIGR = jacobianWeight * ||J||_F^2 (random projections, jacobian-norm.ts) + sigrWeight * SIGR.
// jsigr() is one term for convenience; [jacobianNorm(..), sigr(..)] as two terms is the same objective and logs each part.
import * as tf from '@tensorflow/tfjs';
import type { LossContext, Model } from '../types';
import { deriveSeed } from '../data/rng';
import type { Regularizer } from './regularizer';
import { lossInputGradient } from './input-gradient';
import { projectedJacobianNormSq, projectionFrames } from './jacobian-norm';
import { perturbationSaliencyMask, SALIENCY_MASK_KINDS, type SaliencyMaskKind } from './saliency-mask';
import { checkKeys, checkNumber, checkOneOf, checkWeight } from './validate';
import { withRecipe } from '../train/term-recipe';

export interface SigrConfig {
  /** How pixel importance is measured: 'occlusion' (patch set to 0) or 'blur' (patch blurred). Default 'occlusion'. */
  mask?: SaliencyMaskKind;
  /** Fraction of pixels kept salient (not penalized), in (0, 1]. Default 0.2. */
  topK?: number;
  /** Patch side in pixels. Default 4. Cost: one forward pass per patch, ceil(H/patch) * ceil(W/patch) in all. */
  patch?: number;
  /** Blur standard deviation in pixels ('blur' only). Default 2. */
  blurSigma?: number;
  weight?: number;
}

interface ResolvedSigr { mask: SaliencyMaskKind; topK: number; patch: number; blurSigma: number }

function resolveSigr(where: string, config: SigrConfig): ResolvedSigr {
  return {
    mask: checkOneOf(where, 'mask', config.mask ?? 'occlusion', SALIENCY_MASK_KINDS),
    topK: checkNumber(where, 'topK', config.topK ?? 0.2, { min: 0, minExclusive: true, max: 1 }),
    patch: checkNumber(where, 'patch', config.patch ?? 4, { min: 1, integer: true }),
    blurSigma: checkNumber(where, 'blurSigma', config.blurSigma ?? 2, { min: 0, minExclusive: true }),
  };
}

/** mean_b ||(1 - M_b) g_b||^2 with the perturbation mask M (constant) and g the per-example CE input gradient. */
export function selectiveGradientPenalty(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: ResolvedSigr): tf.Scalar {
  return tf.tidy(() => {
    const m = perturbationSaliencyMask(model, x, y, opts);
    const g = tf.mul(lossInputGradient(model, x, y), tf.sub(1, m));
    return tf.mean(tf.sum(tf.square(tf.reshape(g, [x.shape[0], -1])), 1)) as tf.Scalar;
  });
}

export function sigr(config: SigrConfig = {}): Regularizer<ResolvedSigr & { weight: number }> {
  const where = 'sigr';
  checkKeys(where, config, ['mask', 'topK', 'patch', 'blurSigma', 'weight']);
  const opts = resolveSigr(where, config);
  const weight = checkWeight(where, config.weight ?? 1);
  return withRecipe('sigr', [config], {
    name: 'sigr',
    label: `SIGR (${opts.mask}, top ${opts.topK})`,
    weight,
    config: { ...opts, weight },
    replacesCrossEntropy: false,
    value: (model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar => selectiveGradientPenalty(model, x, y, opts),
  });
}

export interface JsigrConfig extends SigrConfig {
  /** Weight of ||J||_F^2 inside the term. Default 1. */
  jacobianWeight?: number;
  /** Weight of the SIGR penalty inside the term. Default 1. */
  sigrWeight?: number;
  /** Random projections for the Jacobian norm, 1..numClasses. Default 1. */
  projections?: number;
  seed?: number;
}

const SALT = 0x4a53; // 'JS'

export function jsigr(config: JsigrConfig = {}): Regularizer<ResolvedSigr & Required<Pick<JsigrConfig, 'jacobianWeight' | 'sigrWeight' | 'projections' | 'seed' | 'weight'>>> {
  const where = 'jsigr';
  checkKeys(where, config, ['mask', 'topK', 'patch', 'blurSigma', 'weight', 'jacobianWeight', 'sigrWeight', 'projections', 'seed']);
  const opts = resolveSigr(where, config);
  const weight = checkWeight(where, config.weight ?? 1);
  const jacobianWeight = checkWeight(where, config.jacobianWeight ?? 1, 'jacobianWeight');
  const sigrWeight = checkWeight(where, config.sigrWeight ?? 1, 'sigrWeight');
  const projections = checkNumber(where, 'projections', config.projections ?? 1, { min: 1, integer: true });
  const seed = checkNumber(where, 'seed', config.seed ?? 0, { integer: true });
  return withRecipe('jsigr', [config], {
    name: 'jsigr',
    label: `J-SIGR (${opts.mask}, top ${opts.topK})`,
    weight,
    config: { ...opts, weight, jacobianWeight, sigrWeight, projections, seed },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): tf.Scalar {
      if (projections > model.numClasses) {
        throw new Error(`${where}: projections must be <= the model's number of classes (${model.numClasses}), got ${projections}`);
      }
      return tf.tidy(() => {
        // Parts with zero weight are skipped: no cost, and exactly zero.
        let total: tf.Scalar = tf.scalar(0);
        if (jacobianWeight > 0) {
          const frames = projectionFrames(model, x.shape[0], projections, deriveSeed(ctx.seed, SALT, seed), ctx.shard);
          total = tf.add(total, tf.mul(jacobianWeight, tf.mean(projectedJacobianNormSq(model, x, frames))));
        }
        if (sigrWeight > 0) total = tf.add(total, tf.mul(sigrWeight, selectiveGradientPenalty(model, x, y, opts)));
        return total;
      });
    },
  });
}
