// Occlusion (Zeiler & Fergus 2014): slide a patch of the baseline value over the image; a pixel's saliency is the mean drop of
// the target score over the patches that cover it. Forward passes only. The map is [B,H,W,1]: patches cover all channels.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { checkPositiveInteger, checkScore, resolveTarget, targetScore, type SaliencyOptions } from './score';

export interface OcclusionOptions extends SaliencyOptions {
  /** Side of the square patch, pixels (default 4, or the image side if smaller). */
  patch?: number;
  /** Step between patch positions, <= patch (default = patch: no overlap). */
  stride?: number;
  /** Value written into the patch (default 0). */
  baseline?: number;
  /** Occluded copies per forward pass, as a multiple of the batch (default 16). */
  chunk?: number;
}

/** Top-left corners along an axis so that the patches cover every pixel. */
function positions(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + patch < size; p += stride) out.push(p);
  out.push(Math.max(0, size - patch));
  return [...new Set(out)];
}

export function occlusion(model: Model, x: tf.Tensor4D, opts: OcclusionOptions = {}): tf.Tensor4D {
  const score = checkScore('occlusion', opts.score);
  const [b, h, w] = x.shape;
  const patch = checkPositiveInteger('occlusion', 'patch', opts.patch ?? Math.min(4, h, w));
  if (patch > Math.min(h, w)) throw new Error(`occlusion: patch (${patch}) must fit the ${h}x${w} image`);
  const stride = checkPositiveInteger('occlusion', 'stride', opts.stride ?? patch);
  if (stride > patch) throw new Error(`occlusion: stride (${stride}) must be <= patch (${patch}), else some pixels are never occluded`);
  const chunk = checkPositiveInteger('occlusion', 'chunk', opts.chunk ?? 16);
  const base = opts.baseline ?? 0;
  if (!Number.isFinite(base)) throw new Error(`occlusion: baseline must be a finite number, got ${base}`);
  const target = resolveTarget('occlusion', model, x, opts.target);
  const spots = positions(h, patch, stride).flatMap((r) => positions(w, patch, stride).map((q) => [r, q] as const));
  const drop = new Float32Array(b * h * w);
  const cover = new Float32Array(h * w);
  withMode(model, 'eval', () => {
    const clean = tf.tidy(() => targetScore(model, x, target, score).dataSync());
    for (let s0 = 0; s0 < spots.length; s0 += chunk) {
      const part = spots.slice(s0, s0 + chunk);
      const scores = tf.tidy(() => {
        const copies = part.map(([r, q]) => {
          const m = new Float32Array(h * w).fill(1);
          for (let i = r; i < r + patch; i++) for (let j = q; j < q + patch; j++) m[i * w + j] = 0;
          const keep = tf.tensor4d(m, [1, h, w, 1]);
          return tf.add(tf.mul(x, keep), tf.mul(tf.sub(1, keep), base));
        });
        return targetScore(model, tf.concat(copies) as tf.Tensor4D, tf.tile(target, [part.length]) as tf.Tensor1D, score).dataSync();
      });
      part.forEach(([r, q], k) => {
        for (let i = r; i < r + patch; i++) for (let j = q; j < q + patch; j++) {
          cover[i * w + j] += 1;
          for (let e = 0; e < b; e++) drop[e * h * w + i * w + j] += clean[e] - scores[k * b + e];
        }
      });
    }
  });
  target.dispose();
  for (let e = 0; e < b; e++) for (let p = 0; p < h * w; p++) drop[e * h * w + p] /= cover[p];
  return tf.tensor4d(drop, [b, h, w, 1]);
}
