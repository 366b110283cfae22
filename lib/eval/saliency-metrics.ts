// Per-example saliency metrics of a model's gradient maps, for comparing models on the SAME inputs (SAGR's claims S2/S4;
// paired tests: claimPairedMean in claims-continuous.ts). The map is the vanilla gradient of the TRUE class's logit (what the
// penalties of those papers shape). Metrics, one number per input (paired across models by input index):
//   localization     share of |map| on the object (pixels above strokeThreshold); higher = more content-shaped
//   sparseness       Gini index of |map|; higher = sharper (mass on fewer pixels)
//   discrimination   1 - Spearman rank correlation between the SIGNED maps of the true class and of the runner-up class
//                    (the highest other logit); higher = the class's evidence differs from its nearest rival's. Signed:
//                    two maps that both outline the digit correlate in |map| whatever evidence they carry.
//   deletionAuc      area under the true-class probability as the most salient pixels are zeroed; lower = more faithful
// Kept in lib/eval (not lib/saliency) because it composes the saliency methods into an evaluation; a file under lib/saliency
// would change the checkpoint cache key of every trained model.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { vanillaGradient } from '../saliency/gradient';
import { normalizeHeatmap, toHeatmap } from '../saliency/heatmap';
import { localization, strokeMask } from '../saliency/localization';
import { gini } from '../saliency/sparseness';
import { saliencySimilarity } from '../saliency/similarity';
import { deletionCurve } from '../saliency/deletion';
import { studentTQuantile } from '../stats/special';
import type { TableRow } from '../report/tables';

export const SALIENCY_METRICS = ['localization', 'sparseness', 'discrimination', 'deletionAuc'] as const;
export type SaliencyMetricName = (typeof SALIENCY_METRICS)[number];

/** Which direction is better for each metric. */
export const SALIENCY_METRIC_BETTER: Record<SaliencyMetricName, 'higher' | 'lower'> = {
  localization: 'higher', sparseness: 'higher', discrimination: 'higher', deletionAuc: 'lower',
};

export interface SaliencyMetricsOptions {
  /** Object (stroke) mask threshold on the input, in (0, 1) (default 0.5). */
  strokeThreshold?: number;
  /** Points of the deletion curve (default 10). */
  deletionSteps?: number;
}

export interface SaliencyMetricsResult {
  n: number;
  /** One value per input, same order as x. */
  values: Record<SaliencyMetricName, number[]>;
}

/** Per input: the most likely class other than the label [B] (int32). */
export function runnerUpClass(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor1D {
  return withMode(model, 'eval', () => tf.tidy(() => {
    const z = model.logits(x);
    const isTrue = tf.oneHot(tf.cast(y, 'int32') as tf.Tensor1D, model.numClasses);
    return tf.argMax(tf.sub(z, tf.mul(isTrue, 1e9)), 1) as tf.Tensor1D;
  }));
}

/** d logit_y / dx, shaped like x. */
export function trueClassGradient(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  const target = tf.cast(y, 'int32') as tf.Tensor1D;
  try {
    return vanillaGradient(model, x, { target });
  } finally {
    target.dispose();
  }
}

/** The true-class gradient as a display heatmap [B,H,W,1]: |map| summed over channels, scaled to [0,1] per input (caller disposes). */
export function trueClassHeatmap(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  const g = trueClassGradient(model, x, y);
  try {
    return tf.tidy(() => normalizeHeatmap(toHeatmap(g)));
  } finally {
    g.dispose();
  }
}

/** The four metrics per input of the true-class gradient map. */
export function saliencyMetrics(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: SaliencyMetricsOptions = {}): SaliencyMetricsResult {
  const where = 'saliencyMetrics';
  if (y.rank !== 1 || y.shape[0] !== x.shape[0]) throw new Error(`${where}: y must be [${x.shape[0]}] labels (one per input), got shape [${y.shape}]`);
  const thr = opts.strokeThreshold ?? 0.5;
  if (!(thr > 0 && thr < 1)) throw new Error(`${where}: strokeThreshold must be in (0, 1), got ${thr}`);
  const steps = opts.deletionSteps ?? 10;
  const yi = tf.cast(y, 'int32') as tf.Tensor1D;
  const rival = runnerUpClass(model, x, yi);
  const map = vanillaGradient(model, x, { target: yi });
  const rivalMap = vanillaGradient(model, x, { target: rival });
  const mask = strokeMask(x, thr);
  try {
    const sim = saliencySimilarity(map, rivalMap, { metric: 'spearman', abs: false });
    return {
      n: x.shape[0],
      values: {
        localization: localization(map, mask),
        sparseness: gini(map),
        discrimination: sim.map((s) => 1 - s),
        deletionAuc: deletionCurve(model, x, map, { target: yi, steps }).auc,
      },
    };
  } finally {
    tf.dispose([yi, rival, map, rivalMap, mask]);
  }
}

/** Mean of the finite values with a Student t interval at `level`. */
export function meanInterval(values: ArrayLike<number>, level = 0.95): { mean: number; lo: number; hi: number; n: number } {
  const v = Array.from(values).filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean, n };
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n };
}

/** One row per model: each metric's mean [95% t-interval]. */
export function saliencyMetricRows(entries: { label: string; metrics: SaliencyMetricsResult }[], digits = 3): TableRow[] {
  if (!Array.isArray(entries) || entries.length === 0) throw new Error('saliencyMetricRows: give at least one { label, metrics } entry');
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  return entries.map((e) => {
    const row: TableRow = { model: e.label, n: e.metrics.n };
    for (const m of SALIENCY_METRICS) {
      const s = meanInterval(e.metrics.values[m]);
      row[`${m} (${SALIENCY_METRIC_BETTER[m]} is better)`] = `${f(s.mean)} [${f(s.lo)}, ${f(s.hi)}]${s.n < e.metrics.n ? ` (${e.metrics.n - s.n} n/a)` : ''}`;
    }
    return row;
  });
}
