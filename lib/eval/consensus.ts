// Saliency consensus as a measurement (Adv-GSCT, lib/regularizers/saliency-consensus.ts): how well a model's true-class saliency
// S(x) = d f_y / dx agrees with the target S* (the same saliency at the single-step worst case), and the pictures behind it.
// The regularizer trains 1 - cos(S, S*) down; here the cosine is measured on any model (standard, adversarially trained, GSCT),
// so the "consensus over training" curve and the saliency grids compare methods on one scale. Eval mode, untaped, no leaks.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { consensusTarget, trueClassSaliency } from '../regularizers/saliency-consensus';
import { topKMask } from '../regularizers/saliency-mask';

function checkInputs(where: string, x: tf.Tensor4D, y: tf.Tensor1D, eps: number): void {
  if (!x || x.rank !== 4) throw new Error(`${where}: x must be a [B,H,W,C] batch, got shape [${x?.shape}]`);
  if (!y || y.rank !== 1 || y.shape[0] !== x.shape[0]) throw new Error(`${where}: y must hold one label per example of x (${x.shape[0]}), got shape [${y?.shape}]`);
  if (!(typeof eps === 'number' && Number.isFinite(eps) && eps >= 0)) throw new Error(`${where}: eps must be a finite number >= 0 (the FGSM step of the target, [0,1] pixel units), got ${eps}`);
}

/** Per example: cos(S(x), S*(x)) over all pixels and channels (1 = full consensus; NaN when either map is all zero). */
export function consensusAgreement(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, eps: number): number[] {
  checkInputs('consensusAgreement', x, y, eps);
  const b = x.shape[0];
  const [dot, ns, nt] = withMode(model, 'eval', () => tf.tidy(() => {
    const s = tf.reshape(trueClassSaliency(model, x, y), [b, -1]);
    const t = tf.reshape(consensusTarget(model, x, y, eps), [b, -1]);
    return [tf.sum(tf.mul(s, t), 1), tf.sqrt(tf.sum(tf.square(s), 1)), tf.sqrt(tf.sum(tf.square(t), 1))];
  }));
  const [d, a, c] = [dot, ns, nt].map((v) => v.dataSync() as Float32Array);
  tf.dispose([dot, ns, nt]);
  return Array.from(d, (v, i) => (a[i] > 0 && c[i] > 0 ? v / (a[i] * c[i]) : NaN));
}

export interface ConsensusViews {
  /** S(x), the model's true-class saliency [B,H,W,C]. */
  saliency: tf.Tensor4D;
  /** S*, the target: the saliency at the FGSM point [B,H,W,C]. */
  target: tf.Tensor4D;
  /** The pseudo-input x * M, M the top-k pixels of |S*| (what the pseudo-input term classifies) [B,H,W,C]. */
  pseudo: tf.Tensor4D;
}

/** The pieces of the consensus loss for a few examples (figures). The caller disposes the three tensors. */
export function consensusViews(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: { eps: number; topK: number }): ConsensusViews {
  checkInputs('consensusViews', x, y, opts?.eps);
  if (!(opts.topK > 0 && opts.topK <= 1)) throw new Error(`consensusViews: topK must be a fraction of pixels in (0, 1], got ${opts.topK}`);
  return withMode(model, 'eval', () => {
    const saliency = trueClassSaliency(model, x, y);
    const target = consensusTarget(model, x, y, opts.eps);
    const pseudo = tf.tidy(() => tf.mul(x, topKMask(tf.sum(tf.abs(target), 3) as tf.Tensor3D, opts.topK)) as tf.Tensor4D);
    return { saliency, target, pseudo };
  });
}
