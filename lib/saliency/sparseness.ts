// Sparseness of a saliency map: the Gini index of its pixel magnitudes (Hurley & Rickard 2009; Chalasani et al. 2020 use it
// for attributions). 0 = mass spread evenly over all pixels, 1 - 1/n = all mass on one pixel. Sharper maps score higher.
import type * as tf from '@tensorflow/tfjs';
import { heatmapRows } from './heatmap';

/** Gini index of non-negative values; NaN for an all-zero vector (no mass to distribute). */
export function giniIndex(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (v[i] < 0) throw new Error(`giniIndex: values must be >= 0 (magnitudes), got ${v[i]}`);
    total += v[i];
  }
  if (n === 0 || total === 0) return NaN;
  // G = 1 - 2 sum_k (v_(k) / total) (n - k + 1/2) / n, with v sorted ascending and k = 1..n.
  let s = 0;
  for (let k = 0; k < n; k++) s += (v[k] / total) * (n - (k + 1) + 0.5);
  return 1 - (2 * s) / n;
}

/** Gini index per example of the pixel heatmap (|map| summed over channels). */
export function gini(map: tf.Tensor4D): number[] {
  return heatmapRows(map).map(giniIndex);
}
