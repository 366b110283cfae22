// What a saliency map explains: one class score per example (the target's logit, or its log-probability), in eval mode.
// Logits by default: softmax saturates, so probability gradients vanish on confident inputs (Simonyan et al. use class scores).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { logSoftmax } from '../tf/safe-ops';

export type SaliencyScore = 'logit' | 'logprob';
export const SALIENCY_SCORES: readonly SaliencyScore[] = ['logit', 'logprob'];

export interface SaliencyOptions {
  /** Class to explain per example [B] (int32); default: the model's prediction on x. */
  target?: tf.Tensor1D;
  /** Which score of the target class is differentiated (default 'logit'). */
  score?: SaliencyScore;
}

/** Checks x against the model and resolves the target classes ([B] int32, caller disposes). */
export function resolveTarget(where: string, model: Model, x: tf.Tensor4D, target?: tf.Tensor1D): tf.Tensor1D {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw new Error(`${where}: inputs must be [B, ${h}, ${w}, ${c}] for ${model.name}, got [${x.shape}]`);
  }
  if (target === undefined) return withMode(model, 'eval', () => tf.tidy(() => tf.argMax(model.logits(x), 1) as tf.Tensor1D));
  if (target.rank !== 1 || target.shape[0] !== x.shape[0]) {
    throw new Error(`${where}: target must be [${x.shape[0]}] class indices (one per input), got shape [${target.shape}]`);
  }
  const t = target.dataSync();
  for (const v of t) {
    if (!(Number.isInteger(v) && v >= 0 && v < model.numClasses)) {
      throw new Error(`${where}: target classes must be integers in [0, ${model.numClasses - 1}], got ${v}`);
    }
  }
  return tf.cast(target, 'int32') as tf.Tensor1D;
}

export function checkScore(where: string, score: SaliencyScore | undefined): SaliencyScore {
  const s = score ?? 'logit';
  if (!SALIENCY_SCORES.includes(s)) throw new Error(`${where}: unknown score "${s}"; use one of ${SALIENCY_SCORES.join(', ')}`);
  return s;
}

/** Per-example score [B] of the target class. Call inside a tidy or a gradient. */
export function targetScore(model: Model, x: tf.Tensor4D, target: tf.Tensor1D, score: SaliencyScore): tf.Tensor1D {
  const logits = model.logits(x);
  const z = score === 'logprob' ? logSoftmax(logits) : logits;
  return tf.sum(tf.mul(z, tf.oneHot(target, model.numClasses).toFloat()), 1) as tf.Tensor1D;
}

/** d score_target / dx, shaped like x. Examples are independent, so the gradient of the batch sum is per example. */
export function scoreGradient(model: Model, x: tf.Tensor4D, target: tf.Tensor1D, score: SaliencyScore): tf.Tensor4D {
  return withMode(model, 'eval', () => tf.grad((xx: tf.Tensor) => tf.sum(targetScore(model, xx as tf.Tensor4D, target, score)))(x) as tf.Tensor4D);
}

export function checkPositiveInteger(where: string, name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
  return v;
}

export function checkNonNegativeNumber(where: string, name: string, v: number): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`${where}: ${name} must be a finite number >= 0, got ${v}`);
  return v;
}
