// Maps to per-pixel heatmaps: metrics compare pixels, not channels.
import * as tf from '@tensorflow/tfjs';

/** [B,H,W,C] -> [B,H,W,1]: sum over channels of |map| (default) or of the signed map. */
export function toHeatmap(map: tf.Tensor4D, opts: { abs?: boolean } = {}): tf.Tensor4D {
  if (map.rank !== 4) throw new Error(`toHeatmap: map must be [B,H,W,C], got shape [${map.shape}]`);
  return tf.tidy(() => tf.sum(opts.abs === false ? map : tf.abs(map), 3, true) as tf.Tensor4D);
}

/** Per example, scaled to [0,1] by its own max |value| (for display); an all-zero map stays 0. */
export function normalizeHeatmap(map: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.max(tf.abs(map), [1, 2, 3], true);
    return tf.div(map, tf.where(tf.greater(m, 0), m, tf.onesLike(m))) as tf.Tensor4D;
  });
}

/** Per-example pixel heatmaps as flat arrays (|map| summed over channels). */
export function heatmapRows(map: tf.Tensor4D, abs = true): Float32Array[] {
  const [b, h, w] = map.shape;
  const flat = tf.tidy(() => toHeatmap(map, { abs }).dataSync() as Float32Array);
  return Array.from({ length: b }, (_, i) => flat.slice(i * h * w, (i + 1) * h * w));
}
