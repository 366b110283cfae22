// What the SAGR penalty (lib/regularizers/sagr.ts) is made of on a batch: every class gradient, its positive part, the weight
// the penalty puts on it and its share of the penalty. For the notebook's "SAGR on one batch" step; the sum of the
// contributions, divided by the batch size, is exactly sagr(cfg).value (tested).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { classGradients } from '../regularizers/sagr';

export interface SagrBreakdownConfig {
  trueWeight: number;
  falseWeight: number;
  negWeight?: number;
}

export interface SagrBreakdown {
  /** [C][B]: ||relu(J_bc)||^2, ||relu(-J_bc)||^2, the weight w_bc and its contribution w_bc (pos + negWeight neg). */
  posSq: number[][];
  negSq: number[][];
  weight: number[][];
  contribution: number[][];
  /** The penalty's value on the batch: sum of contributions / B. */
  value: number;
  /** Share of the penalty on the true classes (the rest is on the false classes). */
  trueShare: number;
}

function checkConfig(where: string, cfg: SagrBreakdownConfig): Required<SagrBreakdownConfig> {
  const negWeight = cfg?.negWeight ?? 0;
  for (const [k, v] of [['trueWeight', cfg?.trueWeight], ['falseWeight', cfg?.falseWeight], ['negWeight', negWeight]] as const) {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new Error(`${where}: ${k} must be a finite number >= 0, got ${String(v)}`);
  }
  return { trueWeight: cfg.trueWeight, falseWeight: cfg.falseWeight, negWeight };
}

/** The penalty's parts on (x, y), in eval mode (no dropout / batch-norm updates). */
export function sagrBreakdown(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, cfg: SagrBreakdownConfig): SagrBreakdown {
  const where = 'sagrBreakdown';
  const { trueWeight, falseWeight, negWeight } = checkConfig(where, cfg);
  const b = x.shape[0];
  if (y.rank !== 1 || y.shape[0] !== b) throw new Error(`${where}: y must be [${b}] labels, got shape [${y.shape}]`);
  const labels = Array.from(y.dataSync());
  const [pos, neg] = withMode(model, 'eval', () => tf.tidy(() => {
    const g = classGradients(model, x);
    return [tf.sum(tf.square(tf.relu(g)), 2).arraySync() as number[][], tf.sum(tf.square(tf.relu(tf.neg(g))), 2).arraySync() as number[][]];
  }));
  const weight = pos.map((_, c) => labels.map((l) => (l === c ? trueWeight : falseWeight)));
  const contribution = pos.map((row, c) => row.map((p, e) => weight[c][e] * (p + negWeight * neg[c][e])));
  const total = contribution.flat().reduce((s, v) => s + v, 0);
  const onTrue = labels.reduce((s, l, e) => s + contribution[l][e], 0);
  return { posSq: pos, negSq: neg, weight, contribution, value: total / b, trueShare: total > 0 ? onTrue / total : NaN };
}

/** Example e's class gradients [C,H,W,Ch] (signed) and their positive parts, for an image grid (caller disposes). */
export function sagrClassMaps(model: Model, x: tf.Tensor4D, e: number): { maps: tf.Tensor4D; positive: tf.Tensor4D } {
  const [b, h, w, ch] = x.shape;
  if (!(Number.isInteger(e) && e >= 0 && e < b)) throw new Error(`sagrClassMaps: example index must be an integer in [0, ${b - 1}], got ${e}`);
  return withMode(model, 'eval', () => tf.tidy(() => {
    const one = tf.slice(x, [e, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const maps = tf.reshape(classGradients(model, one), [model.numClasses, h, w, ch]) as tf.Tensor4D;
    return { maps, positive: tf.relu(maps) as tf.Tensor4D };
  }));
}
