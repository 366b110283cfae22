// Checks that two loss terms are the same objective on a batch: equal values and equal weight gradients. Used to test a claim
// such as "FGSM adversarial training is the p = inf member of Lyu et al.'s family" by computation rather than by prose.
import * as tf from '@tensorflow/tfjs';
import type { LossContext, LossTerm, Model } from '../types';
import { withMode } from '../models/sequential';

export interface TermComparison {
  valueA: number;
  valueB: number;
  /** |valueA - valueB|. */
  valueDiff: number;
  /** max over weights of |dA/dw - dB/dw|, and max |dA/dw| for scale. */
  gradDiff: number;
  gradScale: number;
}

function valueAndGrads(model: Model, term: LossTerm, x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): { value: number; grads: tf.Tensor[] } {
  const prepared = term.prepare?.(model, x, y, ctx);
  try {
    const { value, grads } = tf.variableGrads(() => term.value(model, x, y, { ...ctx, prepared }), model.variables);
    const v = value.dataSync()[0];
    value.dispose();
    return { value: v, grads: model.variables.map((w) => grads[w.name]) };
  } finally {
    prepared?.dispose();
  }
}

/** Both terms' unweighted values and weight gradients on (x, y), in the given mode (default eval: no batch-statistics updates). */
export function compareTerms(model: Model, a: LossTerm, b: LossTerm, x: tf.Tensor4D, y: tf.Tensor1D, opts: { mode?: 'train' | 'eval'; seed?: number } = {}): TermComparison {
  const ctx: LossContext = { epoch: 0, step: 0, seed: opts.seed ?? 0 };
  return withMode(model, opts.mode ?? 'eval', () => {
    const ra = valueAndGrads(model, a, x, y, ctx);
    const rb = valueAndGrads(model, b, x, y, ctx);
    try {
      const [gradDiff, gradScale] = tf.tidy(() => [
        Math.max(...ra.grads.map((g, i) => tf.max(tf.abs(tf.sub(g, rb.grads[i]))).dataSync()[0])),
        Math.max(...ra.grads.map((g) => tf.max(tf.abs(g)).dataSync()[0])),
      ]);
      return { valueA: ra.value, valueB: rb.value, valueDiff: Math.abs(ra.value - rb.value), gradDiff, gradScale };
    } finally {
      tf.dispose([...ra.grads, ...rb.grads]);
    }
  });
}
