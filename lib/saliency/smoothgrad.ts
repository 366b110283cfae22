// SmoothGrad (Smilkov et al. 2017): the gradient averaged over Gaussian-noised copies of the input. Inputs live in [0,1], so
// sigma is in input units (the paper's "noise level" as a fraction of max - min). Noisy copies are not clipped (as the paper).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { checkNonNegativeNumber, checkPositiveInteger, checkScore, resolveTarget, scoreGradient, type SaliencyOptions } from './score';

export interface SmoothGradOptions extends SaliencyOptions {
  /** Noisy samples averaged (paper: 50; default 25). */
  samples?: number;
  /** Noise standard deviation in input units (paper: 10-20% of the range; default 0.15). */
  sigma?: number;
  /** Average squared gradients instead (SmoothGrad-Squared, Hooker et al. 2019). */
  squared?: boolean;
  seed?: number;
}

/** Mean over noisy copies of d score_target / dx, [B,H,W,C]. The target is fixed from the clean input. */
export function smoothGrad(model: Model, x: tf.Tensor4D, opts: SmoothGradOptions = {}): tf.Tensor4D {
  const score = checkScore('smoothGrad', opts.score);
  const samples = checkPositiveInteger('smoothGrad', 'samples', opts.samples ?? 25);
  const sigma = checkNonNegativeNumber('smoothGrad', 'sigma', opts.sigma ?? 0.15);
  const seed = opts.seed ?? 0;
  const target = resolveTarget('smoothGrad', model, x, opts.target);
  let acc = tf.zerosLike(x) as tf.Tensor4D;
  for (let s = 0; s < samples; s++) {
    const next = tf.tidy(() => {
      const noisy = tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', seed + 7919 * s)) as tf.Tensor4D;
      const g = scoreGradient(model, noisy, target, score);
      return tf.add(acc, opts.squared ? tf.square(g) : g) as tf.Tensor4D;
    });
    acc.dispose();
    acc = next;
  }
  target.dispose();
  const out = tf.div(acc, samples) as tf.Tensor4D;
  acc.dispose();
  return out;
}
