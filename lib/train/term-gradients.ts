// The gradient half of a training step: each term's `prepare` (eval mode, outside the tape), then the weight gradient of
// sum_t weight_t * value_t in train mode, with each term's unweighted value. The trainer's step applies it; a data-parallel
// shard (lib/train/data-parallel.ts, in this thread or a worker thread) computes it on its rows of the batch.
import * as tf from '@tensorflow/tfjs';
import type { LossContext, LossTerm, Model } from '../types';

export interface TermGradients {
  /** Each term's unweighted value, in the order of `terms` (the caller disposes them). */
  values: tf.Scalar[];
  /** Gradient per weight, by variable name, one for each of model.variables (the caller disposes them). */
  grads: tf.NamedTensorMap;
}

/** Throws, naming the weights, when a weight gets no gradient (every weight must take part in the loss). */
export function termGradients(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, terms: LossTerm[], ctx: LossContext): TermGradients {
  const prepared: (tf.Tensor4D | undefined)[] = [];
  const kept: tf.Scalar[] = [];
  let grads: tf.NamedTensorMap = {};
  try {
    for (const t of terms) {
      if (!t.prepare) { prepared.push(undefined); continue; }
      const prev = model.mode;
      model.mode = 'eval';
      try { prepared.push(t.prepare(model, x, y, ctx)); } finally { model.mode = prev; }
    }
    model.mode = 'train';
    const res = tf.variableGrads(() => {
      let total = tf.scalar(0);
      terms.forEach((t, i) => {
        const v = t.value(model, x, y, { ...ctx, prepared: prepared[i] });
        kept.push(tf.keep(v.clone()));
        total = tf.add(total, tf.mul(v, t.weight));
      });
      return total;
    }, model.variables);
    res.value.dispose();
    grads = res.grads;
    const missing = model.variables.filter((v) => !grads[v.name]).map((v) => v.name);
    if (missing.length) throw new Error(`train step: no gradient reaches ${missing.length} of ${model.name}'s weights (${missing.slice(0, 3).join(', ')}); every weight must take part in the loss`);
    return { values: kept, grads };
  } catch (e) {
    tf.dispose([...kept, ...Object.values(grads)]);
    throw e;
  } finally {
    tf.dispose(prepared.filter((p): p is tf.Tensor4D => p !== undefined));
  }
}
