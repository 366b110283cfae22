// Gradient-based saliency consensus training, Adv-GSCT (Li, Shen et al., IEEE TDSC 2024).
//
// From the paper's abstract: the model's gradient-based saliency is trained to agree with a target saliency used as a label,
// the target approximated "in the most offending case"; a pseudo-input coupled with feature importance keeps the target
// discriminative; no multi-step adversarial example generation. The formulas are OUR RECONSTRUCTION (notes/papers.md):
//   value = lambdaSal * mean_b D(S(x_b), S*_b) + lambdaPseudo * CE(f(x~), y)
//   S(x)  = d f_y(x) / dx, the true-class logit gradient (differentiable: double backprop);
//   S*    = S at the single-step worst case x_adv = clip(x + eps sign(dCE/dx), 0, 1) (FGSM), detached;
//   D     = 'cosine': 1 - cos(S, S*); 'l2': ||S - S*||_2^2 (unnormalized: also pulls the gradient's size to the target's);
//   x~    = x * M, M = 1 on the top-k fraction of pixels by |S*| summed over channels (the target's feature importance), detached.
// The clean CE is a separate term: a method is [crossEntropy, saliencyConsensus(..)].
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { crossEntropyPerExample } from '../tf/safe-ops';
import type { Regularizer } from './regularizer';
import { untaped } from './detached';
import { lossInputGradient } from './input-gradient';
import { topKMask } from './saliency-mask';
import { checkKeys, checkNumber, checkOneOf, checkWeight } from './validate';
import { withRecipe } from '../train/term-recipe';

export type SaliencyDistance = 'cosine' | 'l2';
export const SALIENCY_DISTANCES: readonly SaliencyDistance[] = ['cosine', 'l2'];

export interface SaliencyConsensusConfig {
  /** Default 'cosine'. */
  distance?: SaliencyDistance;
  /** FGSM step for the worst-case input, in [0,1] pixel units. Default 0.1. */
  eps?: number;
  /** Weight of the saliency distance inside the term. Default 1. */
  lambdaSal?: number;
  /** Weight of the pseudo-input cross-entropy inside the term. Default 1. */
  lambdaPseudo?: number;
  /** Fraction of pixels the pseudo-input keeps, in (0, 1]. Default 0.3. */
  topK?: number;
  weight?: number;
}

/** True-class logit gradient d f_y / dx per example, [B,H,W,C]; differentiable w.r.t. the weights. */
export function trueClassSaliency(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const sel = tf.oneHot(tf.cast(y, 'int32') as tf.Tensor1D, model.numClasses);
    return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.logits(xx as tf.Tensor4D), sel)))(x) as tf.Tensor4D;
  });
}

/** The detached target S*: the true-class saliency at the FGSM point clip(x + eps sign(dCE/dx), 0, 1). Untaped. */
export function consensusTarget(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, eps: number): tf.Tensor4D {
  return untaped(() => tf.tidy(() => {
    const xAdv = tf.clipByValue(tf.add(x, tf.mul(tf.sign(lossInputGradient(model, x, y)), eps)), 0, 1) as tf.Tensor4D;
    return trueClassSaliency(model, xAdv, y);
  }));
}

export interface ConsensusWeights { distance: SaliencyDistance; lambdaSal: number; lambdaPseudo: number; topK: number }

/**
 * lambdaSal * mean_b D(S(x_b), target_b) + lambdaPseudo * CE(f(x * topK-mask(|target|)), y), the target held constant
 * (its dependence on the weights is deliberately not differentiated: it is a label).
 */
export function consensusLoss(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, target: tf.Tensor4D, w: ConsensusWeights): tf.Scalar {
  return tf.tidy(() => {
    const b = x.shape[0];
    let total: tf.Scalar = tf.scalar(0);
    if (w.lambdaSal > 0) {
      const s = tf.reshape(trueClassSaliency(model, x, y), [b, -1]);
      const t = tf.reshape(target, [b, -1]);
      let d: tf.Tensor;
      if (w.distance === 'cosine') {
        const dot = tf.sum(tf.mul(s, t), 1);
        const ns = tf.sqrt(tf.add(tf.sum(tf.square(s), 1), 1e-12));
        const nt = tf.sqrt(tf.add(tf.sum(tf.square(t), 1), 1e-12));
        d = tf.sub(1, tf.div(dot, tf.mul(ns, nt)));
      } else {
        d = tf.sum(tf.square(tf.sub(s, t)), 1);
      }
      total = tf.add(total, tf.mul(w.lambdaSal, tf.mean(d)));
    }
    if (w.lambdaPseudo > 0) {
      const mask = untaped(() => topKMask(tf.sum(tf.abs(target), 3) as tf.Tensor3D, w.topK));
      const pseudo = tf.mul(x, mask) as tf.Tensor4D;
      total = tf.add(total, tf.mul(w.lambdaPseudo, tf.mean(crossEntropyPerExample(model.logits(pseudo), y))));
    }
    return total;
  });
}

export function saliencyConsensus(config: SaliencyConsensusConfig = {}): Regularizer<Required<SaliencyConsensusConfig>> {
  const where = 'saliencyConsensus';
  checkKeys(where, config, ['distance', 'eps', 'lambdaSal', 'lambdaPseudo', 'topK', 'weight']);
  const distance = checkOneOf(where, 'distance', config.distance ?? 'cosine', SALIENCY_DISTANCES);
  const eps = checkNumber(where, 'eps', config.eps ?? 0.1, { min: 0 });
  const lambdaSal = checkWeight(where, config.lambdaSal ?? 1, 'lambdaSal');
  const lambdaPseudo = checkWeight(where, config.lambdaPseudo ?? 1, 'lambdaPseudo');
  const topK = checkNumber(where, 'topK', config.topK ?? 0.3, { min: 0, minExclusive: true, max: 1 });
  const weight = checkWeight(where, config.weight ?? 1);
  return withRecipe('saliencyConsensus', [config], {
    name: 'saliency-consensus',
    label: `Saliency consensus (${distance})`,
    weight,
    config: { distance, eps, lambdaSal, lambdaPseudo, topK, weight },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
      return tf.tidy(() => consensusLoss(model, x, y, consensusTarget(model, x, y, eps), { distance, lambdaSal, lambdaPseudo, topK }));
    },
  });
}
