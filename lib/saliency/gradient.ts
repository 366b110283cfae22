// Vanilla gradient (Simonyan et al. 2014) and gradient x input (Shrikumar et al. 2016). Maps are signed and shaped like the input.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { checkScore, resolveTarget, scoreGradient, type SaliencyOptions } from './score';

/** d score_target / dx, [B,H,W,C]. */
export function vanillaGradient(model: Model, x: tf.Tensor4D, opts: SaliencyOptions = {}): tf.Tensor4D {
  const score = checkScore('vanillaGradient', opts.score);
  const target = resolveTarget('vanillaGradient', model, x, opts.target);
  const g = scoreGradient(model, x, target, score);
  target.dispose();
  return g;
}

/** x * d score_target / dx, [B,H,W,C]. */
export function gradientTimesInput(model: Model, x: tf.Tensor4D, opts: SaliencyOptions = {}): tf.Tensor4D {
  const score = checkScore('gradientTimesInput', opts.score);
  const target = resolveTarget('gradientTimesInput', model, x, opts.target);
  const out = tf.tidy(() => tf.mul(x, scoreGradient(model, x, target, score)) as tf.Tensor4D);
  target.dispose();
  return out;
}
