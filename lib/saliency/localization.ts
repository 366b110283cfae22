// Localization: the share of saliency mass that falls on the object. For digits the object is the stroke: pixels above a
// threshold. Random maps score the object's area fraction; a perfectly localized map scores 1.
import * as tf from '@tensorflow/tfjs';
import { heatmapRows } from './heatmap';

/** Object mask [B,H,W,1] (1 on the object): pixels whose channel mean exceeds `threshold` (default 0.5). */
export function strokeMask(x: tf.Tensor4D, threshold = 0.5): tf.Tensor4D {
  if (!Number.isFinite(threshold)) throw new Error(`strokeMask: threshold must be a finite number, got ${threshold}`);
  return tf.tidy(() => tf.greater(tf.mean(x, 3, true), threshold).toFloat() as tf.Tensor4D);
}

/** Per example: sum of |saliency| on the mask / total |saliency| (NaN for an all-zero map). */
export function localization(map: tf.Tensor4D, mask: tf.Tensor4D): number[] {
  const [b, h, w] = map.shape;
  if (mask.rank !== 4 || mask.shape[0] !== b || mask.shape[1] !== h || mask.shape[2] !== w || mask.shape[3] !== 1) {
    throw new Error(`localization: mask must be [${b},${h},${w},1] to match the map, got [${mask.shape}]`);
  }
  const maps = heatmapRows(map);
  const m = mask.dataSync();
  return maps.map((row, i) => {
    let on = 0;
    let all = 0;
    for (let p = 0; p < row.length; p++) {
      all += row[p];
      if (m[i * h * w + p] > 0.5) on += row[p];
    }
    return all > 0 ? on / all : NaN;
  });
}

/** Per example: the object's share of the image (what a random map scores in expectation). */
export function maskArea(mask: tf.Tensor4D): number[] {
  return Array.from(tf.tidy(() => tf.mean(mask, [1, 2, 3]).dataSync()));
}
