// Deletion and insertion curves (Petsiuk et al. 2018, RISE): remove the most salient pixels first (set them to a baseline) and
// track the target's probability; or start from the baseline and insert the most salient pixels first. A faithful map makes
// deletion fall fast (low AUC) and insertion rise fast (high AUC).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { softmax } from '../tf/safe-ops';
import { heatmapRows } from './heatmap';
import { checkPositiveInteger, resolveTarget } from './score';

export interface CurveOptions {
  /** Class whose probability is tracked [B]; default: the prediction on x. */
  target?: tf.Tensor1D;
  /** Points after the start (default 20): pixels change in `steps` equal groups. */
  steps?: number;
  /** What removed pixels become: a value (default 0) or an image shaped like x (e.g. a blurred copy, as RISE's insertion). */
  baseline?: number | tf.Tensor4D;
}

export interface SaliencyCurve {
  /** Fraction of pixels deleted / inserted at each point, 0..1. */
  fractions: number[];
  /** probs[i][k]: target probability of example i at point k. */
  probs: number[][];
  /** Per example: area under the curve (trapezoid over fractions). */
  auc: number[];
}

export function deletionCurve(model: Model, x: tf.Tensor4D, map: tf.Tensor4D, opts: CurveOptions = {}): SaliencyCurve {
  return curve('deletionCurve', 'deletion', model, x, map, opts);
}

export function insertionCurve(model: Model, x: tf.Tensor4D, map: tf.Tensor4D, opts: CurveOptions = {}): SaliencyCurve {
  return curve('insertionCurve', 'insertion', model, x, map, opts);
}

function curve(where: string, kind: 'deletion' | 'insertion', model: Model, x: tf.Tensor4D, map: tf.Tensor4D, opts: CurveOptions): SaliencyCurve {
  const [b, h, w] = x.shape;
  if (map.rank !== 4 || map.shape[0] !== b || map.shape[1] !== h || map.shape[2] !== w) {
    throw new Error(`${where}: map must be [${b},${h},${w},C or 1] to match x, got [${map.shape}]`);
  }
  const steps = checkPositiveInteger(where, 'steps', opts.steps ?? 20);
  const target = resolveTarget(where, model, x, opts.target);
  const base = typeof opts.baseline === 'object' ? opts.baseline.clone() : tf.fill(x.shape, opts.baseline ?? 0) as tf.Tensor4D;
  if (base.shape.join() !== x.shape.join()) { base.dispose(); target.dispose(); throw new Error(`${where}: baseline must be shaped like x [${x.shape}], got [${base.shape}]`); }
  const n = h * w;
  // Pixel order per example, most salient first (stable: ties keep raster order).
  const order = heatmapRows(map).map((row) => Array.from(row.keys()).sort((p, q) => row[q] - row[p] || p - q));
  const fractions = Array.from({ length: steps + 1 }, (_, k) => k / steps);
  const probs: number[][] = Array.from({ length: b }, () => []);
  withMode(model, 'eval', () => {
    for (let k = 0; k <= steps; k++) {
      const count = Math.round((k / steps) * n);
      // mask = 1 where the pixel shows x, 0 where it shows the baseline.
      const m = new Float32Array(b * n).fill(kind === 'deletion' ? 1 : 0);
      for (let i = 0; i < b; i++) for (let r = 0; r < count; r++) m[i * n + order[i][r]] = kind === 'deletion' ? 0 : 1;
      const p = tf.tidy(() => {
        const mk = tf.tensor4d(m, [b, h, w, 1]);
        const xi = tf.add(tf.mul(x, mk), tf.mul(base, tf.sub(1, mk))) as tf.Tensor4D;
        return tf.sum(tf.mul(softmax(model.logits(xi)), tf.oneHot(target, model.numClasses).toFloat()), 1).dataSync();
      });
      for (let i = 0; i < b; i++) probs[i].push(p[i]);
    }
  });
  tf.dispose([target, base]);
  const auc = probs.map((row) => row.slice(1).reduce((s, v, k) => s + ((v + row[k]) / 2) / steps, 0));
  return { fractions, probs, auc };
}
