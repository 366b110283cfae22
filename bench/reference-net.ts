// The benchmark's reference net, written with plain tf ops so that bench/reference.py can mirror it op for op:
// conv5x5/16 stride 2 'same' -> relu -> conv5x5/32 stride 2 'same' -> relu -> flatten -> fc100 -> relu -> fc10, on 28x28x1.
import * as tf from '@tensorflow/tfjs';

export interface ReferenceNet {
  variables: tf.Variable[];
  logits(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export const INPUT_SHAPE: [number, number, number] = [28, 28, 1];
export const NUM_CLASSES = 10;

/** He-normal weights and zero biases, each from its own seed. */
export function referenceNet(seed: number): ReferenceNet {
  // tidy frees each initial value (a variable keeps its data but the initial Tensor would stay counted) and keeps the variable.
  const he = (shape: number[], fanIn: number, s: number) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed * 16 + s)));
  const zeros = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));
  const w1 = he([5, 5, 1, 16], 25, 1), b1 = zeros(16);
  const w2 = he([5, 5, 16, 32], 400, 2), b2 = zeros(32);
  const w3 = he([7 * 7 * 32, 100], 7 * 7 * 32, 3), b3 = zeros(100);
  const w4 = he([100, NUM_CLASSES], 100, 4), b4 = zeros(NUM_CLASSES);
  const variables = [w1, b1, w2, b2, w3, b3, w4, b4];
  return {
    variables,
    logits: (x) => tf.tidy(() => {
      const h1 = tf.relu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same'), b1));
      const h2 = tf.relu(tf.add(tf.conv2d(h1 as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same'), b2));
      const h3 = tf.relu(tf.add(tf.matMul(tf.reshape(h2, [x.shape[0], -1]) as tf.Tensor2D, w3 as tf.Tensor2D), b3));
      return tf.add(tf.matMul(h3 as tf.Tensor2D, w4 as tf.Tensor2D), b4) as tf.Tensor2D;
    }),
    dispose: () => tf.dispose(variables),
  };
}
