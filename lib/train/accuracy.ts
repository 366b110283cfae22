import * as tf from '@tensorflow/tfjs';
import type { DataSet, Model, Split } from '../types';
import { withMode } from '../models/sequential';

/** Top-1 accuracy (eval mode) on the first n examples of a split. */
export function accuracy(model: Model, data: DataSet, split: Split, n = data.size(split), batchSize = 500): number {
  let correct = 0;
  withMode(model, 'eval', () => {
    for (let s = 0; s < n; s += batchSize) {
      const idx = Int32Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
      const b = data.batch(split, idx);
      correct += tf.tidy(() => tf.sum(tf.equal(tf.argMax(model.logits(b.x), 1), b.y)).dataSync()[0]);
      tf.dispose([b.x, b.y]);
    }
  });
  return correct / n;
}
