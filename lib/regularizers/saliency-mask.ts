// Perturbation-based saliency masks for selective input gradient regularization (our reconstruction, see selective.ts).
// Importance of a pixel = increase of the example's cross-entropy when the patch holding it is occluded (set to 0) or blurred
// (replaced by a Gaussian-blurred copy of the image), the model in eval mode; mask = the top-k fraction of pixels by importance.
// Forward passes only, untaped: the mask is a constant to the training gradient.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { crossEntropyPerExample } from '../tf/safe-ops';
import { untaped, withMode } from './detached';

export type SaliencyMaskKind = 'occlusion' | 'blur';
export const SALIENCY_MASK_KINDS: readonly SaliencyMaskKind[] = ['occlusion', 'blur'];

export interface PerturbationMaskOptions {
  mask: SaliencyMaskKind;
  /** Side of the square patches perturbed one at a time, in pixels (the last row/column of patches may be smaller). */
  patch: number;
  /** Fraction of pixels marked salient, in (0, 1]. */
  topK: number;
  /** Standard deviation of the blur, in pixels ('blur' only). */
  blurSigma: number;
}

/** x blurred per channel by a normalized Gaussian (weights renormalized at the borders so edges do not darken). */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const r = Math.max(1, Math.ceil(3 * sigma));
    const k1 = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
    const c = x.shape[3];
    const row = tf.tile(tf.reshape(tf.tensor1d(k1), [1, 2 * r + 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const col = tf.tile(tf.reshape(tf.tensor1d(k1), [2 * r + 1, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const blur = (t: tf.Tensor4D) => tf.depthwiseConv2d(tf.depthwiseConv2d(t, row, 1, 'same'), col, 1, 'same');
    return tf.div(blur(x), blur(tf.onesLike(x))) as tf.Tensor4D;
  });
}

/** Per-pixel importance [B, H, W]: CE increase when the pixel's patch is occluded or blurred. Untaped. */
export function perturbationImportance(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: Omit<PerturbationMaskOptions, 'topK'>): tf.Tensor3D {
  return untaped(() => withMode(model, 'eval', () => tf.tidy(() => {
    const [b, h, w] = x.shape;
    const base = opts.mask === 'blur' ? gaussianBlur(x, opts.blurSigma) : tf.zerosLike(x);
    const clean = crossEntropyPerExample(model.logits(x), y);
    const imp = new Float32Array(b * h * w);
    for (let r0 = 0; r0 < h; r0 += opts.patch) {
      for (let c0 = 0; c0 < w; c0 += opts.patch) {
        const ph = Math.min(opts.patch, h - r0), pw = Math.min(opts.patch, w - c0);
        const delta = tf.tidy(() => {
          const inPatch = tf.pad(tf.ones([1, ph, pw, 1]), [[0, 0], [r0, h - r0 - ph], [c0, w - c0 - pw], [0, 0]]);
          const xp = tf.add(tf.mul(x, tf.sub(1, inPatch)), tf.mul(base, inPatch)) as tf.Tensor4D;
          return tf.sub(crossEntropyPerExample(model.logits(xp), y), clean).dataSync() as Float32Array;
        });
        for (let e = 0; e < b; e++) {
          for (let i = r0; i < r0 + ph; i++) for (let j = c0; j < c0 + pw; j++) imp[(e * h + i) * w + j] = delta[e];
        }
      }
    }
    return tf.tensor3d(imp, [b, h, w]);
  })));
}

/** 1 on the round(topK * H * W) most important pixels of each example, else 0; [B, H, W, 1]. Ties: lower index first. */
export function topKMask(importance: tf.Tensor3D, topK: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = importance.shape;
    const k = Math.max(1, Math.round(topK * h * w));
    const { indices } = tf.topk(tf.reshape(importance, [b, h * w]), k);
    const flat = tf.add(indices, tf.mul(tf.range(0, b, 1, 'int32'), h * w).reshape([b, 1]));
    const hits = tf.scatterND(tf.cast(tf.reshape(flat, [-1, 1]), 'int32'), tf.ones([b * k]), [b * h * w]);
    return tf.reshape(hits, [b, h, w, 1]) as tf.Tensor4D;
  });
}

/** The selective mask M [B, H, W, 1]: salient pixels (where input gradients may stay large) are 1. */
export function perturbationSaliencyMask(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbationMaskOptions): tf.Tensor4D {
  return tf.tidy(() => topKMask(perturbationImportance(model, x, y, opts), opts.topK));
}
