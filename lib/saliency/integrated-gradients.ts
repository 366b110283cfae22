// Integrated Gradients (Sundararajan et al. 2017): (x - x0) * the average gradient on the straight path from a baseline x0 to x,
// by the trapezoid rule. Completeness: the map sums to score(x) - score(x0) up to the quadrature error (completenessGap checks it).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { checkPositiveInteger, checkScore, resolveTarget, scoreGradient, targetScore, type SaliencyOptions } from './score';

export interface IntegratedGradientsOptions extends SaliencyOptions {
  /** Path intervals (paper: 20-300; default 32); the gradient is taken at steps + 1 points. */
  steps?: number;
  /** Baseline: a value for every pixel (default 0, black) or a tensor shaped like x. */
  baseline?: number | tf.Tensor4D;
  /** Path points per gradient call (memory vs speed; default 8). */
  chunk?: number;
}

function baselineOf(x: tf.Tensor4D, b: number | tf.Tensor4D | undefined): tf.Tensor4D {
  if (b === undefined || typeof b === 'number') {
    const v = typeof b === 'number' ? b : 0;
    if (!Number.isFinite(v)) throw new Error(`integratedGradients: baseline must be a finite number or a tensor, got ${v}`);
    return tf.fill(x.shape, v) as tf.Tensor4D;
  }
  if (b.shape.join() !== x.shape.join()) throw new Error(`integratedGradients: baseline must be shaped like x [${x.shape}], got [${b.shape}]`);
  return b.clone();
}

/** IG attributions [B,H,W,C]. */
export function integratedGradients(model: Model, x: tf.Tensor4D, opts: IntegratedGradientsOptions = {}): tf.Tensor4D {
  const score = checkScore('integratedGradients', opts.score);
  const steps = checkPositiveInteger('integratedGradients', 'steps', opts.steps ?? 32);
  const chunk = checkPositiveInteger('integratedGradients', 'chunk', opts.chunk ?? 8);
  const target = resolveTarget('integratedGradients', model, x, opts.target);
  const x0 = baselineOf(x, opts.baseline);
  const b = x.shape[0];
  const diff = tf.sub(x, x0) as tf.Tensor4D;
  let acc = tf.zerosLike(x) as tf.Tensor4D;
  // Trapezoid weights: 1/2 at both ends, 1 inside, over `steps` intervals.
  for (let k0 = 0; k0 <= steps; k0 += chunk) {
    const ks = Array.from({ length: Math.min(chunk, steps + 1 - k0) }, (_, i) => k0 + i);
    const next = tf.tidy(() => {
      const pts = tf.concat(ks.map((k) => tf.add(x0, tf.mul(diff, k / steps)))) as tf.Tensor4D;
      const tg = tf.tile(target, [ks.length]) as tf.Tensor1D;
      const g = scoreGradient(model, pts, tg, score);
      let sum: tf.Tensor = acc;
      ks.forEach((k, i) => {
        const wgt = (k === 0 || k === steps ? 0.5 : 1) / steps;
        sum = tf.add(sum, tf.mul(tf.slice(g, [i * b, 0, 0, 0], [b, -1, -1, -1]), wgt));
      });
      return sum as tf.Tensor4D;
    });
    acc.dispose();
    acc = next;
  }
  const out = tf.mul(diff, acc) as tf.Tensor4D;
  tf.dispose([acc, diff, x0, target]);
  return out;
}

/** Per example: sum(IG map) - (score(x) - score(baseline)); near 0 when the path integral is resolved. */
export function completenessGap(model: Model, x: tf.Tensor4D, map: tf.Tensor4D, opts: IntegratedGradientsOptions = {}): Float32Array {
  const score = checkScore('completenessGap', opts.score);
  const target = resolveTarget('completenessGap', model, x, opts.target);
  const x0 = baselineOf(x, opts.baseline);
  const gap = withMode(model, 'eval', () => tf.tidy(() => {
    const delta = tf.sub(targetScore(model, x, target, score), targetScore(model, x0, target, score));
    return Float32Array.from(tf.sub(tf.sum(map, [1, 2, 3]), delta).dataSync());
  }));
  tf.dispose([target, x0]);
  return gap;
}
