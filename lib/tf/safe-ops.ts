// Ops whose second-order gradients are right in tfjs 4.22.
// tfjs's own exp/sigmoid/tanh/logSoftmax/softmaxCrossEntropy compute gradients from their saved OUTPUT, which is not
// connected on the tape, so the weight gradient of a gradient penalty comes out silently wrong (tfjs issue #3252 family).
// Each op here recomputes its derivative from its input with ops that are themselves differentiable.
import * as tf from '@tensorflow/tfjs';

/** Identity in the forward pass, zero gradient: a stop-gradient (tfjs has none). */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  void save;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as never) as never;

/** exp(x) with a gradient recomputed from x. */
export const exp: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return { value: tf.exp(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, exp(saved[0])) };
}) as never) as never;

/** sigmoid(x) with a gradient recomputed from x. */
export const sigmoid: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.sigmoid(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const s = sigmoid(saved[0]);
      return tf.mul(dy, tf.mul(s, tf.sub(1, s)));
    },
  };
}) as never) as never;

/** tanh(x) with a gradient recomputed from x. */
export const tanh: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.tanh(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const t = tanh(saved[0]);
      return tf.mul(dy, tf.sub(1, tf.square(t)));
    },
  };
}) as never) as never;

/**
 * Row-wise max [B, 1] with zero gradient, for shifts that cancel out. The max is taken inside the customGrad so that
 * tf.max's own gradient (which uses Equal, itself not differentiable) never lands on the tape.
 */
const rowMaxDetached: (x: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x]);
  return { value: tf.max(x, 1, true), gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => tf.zerosLike(saved[0]) };
}) as never) as never;

/** log(sum(exp(l))) over the last axis of [B, C] logits, keepDims, stable and second-order safe. */
export function logSumExp(logits: tf.Tensor2D): tf.Tensor2D {
  const m = rowMaxDetached(logits);
  return tf.add(m, tf.log(tf.sum(exp(tf.sub(logits, m)), 1, true))) as tf.Tensor2D;
}

export function logSoftmax(logits: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(logits, logSumExp(logits)) as tf.Tensor2D;
}

export function softmax(logits: tf.Tensor2D): tf.Tensor2D {
  return exp(logSoftmax(logits)) as tf.Tensor2D;
}

/** Labels as int32 class indices [B] or one-hot/probabilities [B, C] -> float [B, C]. */
export function toTargets(labels: tf.Tensor, numClasses: number): tf.Tensor2D {
  if (labels.rank === 1) return tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, numClasses).toFloat() as tf.Tensor2D;
  if (labels.rank === 2 && labels.shape[1] === numClasses) return labels.toFloat() as tf.Tensor2D;
  throw new Error(`labels must be class indices [B] or one-hot [B, ${numClasses}], got shape [${labels.shape}]`);
}

/** Per-example cross-entropy [B] = logsumexp(l) - <y, l>. */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor): tf.Tensor1D {
  const y = toTargets(labels, logits.shape[1]);
  return tf.sub(tf.squeeze(logSumExp(logits), [1]), tf.sum(tf.mul(y, logits), 1)) as tf.Tensor1D;
}

/** Mean cross-entropy over the batch, second-order safe. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.mean(crossEntropyPerExample(logits, labels));
}
