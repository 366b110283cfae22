// Models shared by the CW / stAdv / ADef tests: an analytic linear model, and a small MLP trained for a few seconds on MNIST
// with test examples it classifies correctly (so a success rate measures the attack, not the model's errors).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel } from '../../lib/models';
import { crossEntropyTerm, train } from '../../lib/train';

/** logits = flatten(x) W + b, W given as [d][k]. */
export function linearModel(shape: [number, number, number], w: number[][], b: number[]): Model {
  const W = tf.variable(tf.tensor2d(w));
  const B = tf.variable(tf.tensor1d(b));
  const d = shape[0] * shape[1] * shape[2];
  return {
    name: 'linear', inputShape: shape, numClasses: b.length, mode: 'eval', variables: [W, B], state: [],
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]) as tf.Tensor2D, W as tf.Tensor2D), B) as tf.Tensor2D),
    paramCount: () => d * b.length + b.length, dispose: () => tf.dispose([W, B]),
  };
}

/** A relu MLP (32 hidden) trained 3 epochs on 2000 MNIST images (~80% test accuracy), and n test images it gets right. */
export async function trainedMnistMlp(n: number): Promise<{ model: Model; x: tf.Tensor4D; y: tf.Tensor1D }> {
  const data = loadMnist().take(2000, { seed: 1, nTest: 4 * n });
  const spec = { arch: 'mlp' as const, hidden: [32], activation: 'relu' as const };
  const model = createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await train(model, data, { epochs: 3, batchSize: 64, optimizer: { kind: 'adam', lr: 3e-3 }, seed: 1 },
    { terms: [crossEntropyTerm()], modelKey: spec, cache: false, quiet: true });
  model.mode = 'eval';
  const all = data.batch('test', Int32Array.from({ length: 4 * n }, (_, i) => i));
  const right = tf.tidy(() => tf.equal(tf.argMax(model.logits(all.x), 1), all.y).dataSync());
  const idx = Array.from(right.keys()).filter((i) => right[i]).slice(0, n);
  if (idx.length < n) throw new Error(`trainedMnistMlp: only ${idx.length} of ${4 * n} test images classified correctly`);
  const x = tf.gather(all.x, idx) as tf.Tensor4D;
  const y = tf.gather(all.y, idx) as tf.Tensor1D;
  tf.dispose([all.x, all.y]);
  return { model, x, y };
}

/** Share of examples classified as `cls` (or, without cls, not as y). */
export function rate(model: Model, xa: tf.Tensor4D, y: tf.Tensor1D, cls?: tf.Tensor1D): number {
  return tf.tidy(() => {
    const pred = tf.argMax(model.logits(xa), 1);
    return tf.mean((cls ? tf.equal(pred, cls) : tf.notEqual(pred, y)).toFloat()).dataSync()[0];
  });
}

export function range(t: tf.Tensor): [number, number] {
  return tf.tidy(() => [tf.min(t).dataSync()[0], tf.max(t).dataSync()[0]]);
}
