// Seeded data augmentation on tensors: random crop after zero padding, and horizontal flips (CIFAR).
import * as tf from '@tensorflow/tfjs';

export interface AugmentConfig {
  /** Zero padding before a random crop back to the original size (4 for CIFAR). */
  crop?: number;
  flip?: boolean;
}

export function augmentBatch(x: tf.Tensor4D, cfg: AugmentConfig, rng: () => number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    const pad = cfg.crop ?? 0;
    const padded = pad ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    const rows: tf.Tensor4D[] = [];
    for (let i = 0; i < b; i++) {
      const dy = pad ? Math.floor(rng() * (2 * pad + 1)) : 0;
      const dx = pad ? Math.floor(rng() * (2 * pad + 1)) : 0;
      let img = tf.slice(padded, [i, dy, dx, 0], [1, h, w, -1]) as tf.Tensor4D;
      if (cfg.flip && rng() < 0.5) img = tf.reverse(img, 2);
      rows.push(img);
    }
    return tf.concat(rows, 0);
  });
}
