import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as S from '../../lib/tf/safe-ops';
import { gradCheck } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, useBackend } from '../helpers';

// Weight gradient of ||dCE/dx||^2 through an MLP: the case tfjs's own ops get silently wrong.
function penaltyFn(act: (x: tf.Tensor) => tf.Tensor, ce: (l: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar) {
  const x = tf.tensor2d([[0.1, 0.9, 0.3, 0.5], [0.7, 0.2, 0.8, 0.4], [0.3, 0.3, 0.6, 0.9]]);
  const y = tf.tensor1d([0, 2, 1], 'int32');
  return (w1: tf.Tensor, w2: tf.Tensor): tf.Scalar => {
    const gx = tf.grad((xx: tf.Tensor) => ce(tf.matMul(act(tf.matMul(xx as tf.Tensor2D, w1 as tf.Tensor2D)) as tf.Tensor2D, w2 as tf.Tensor2D), y))(x);
    return tf.sum(tf.square(gx)) as tf.Scalar;
  };
}

for (const backend of TEST_BACKENDS) {
  test(`safe ops: second-order weight gradients match finite differences (${backend})`, async () => {
    await useBackend(backend);
    const w1 = tf.randomNormal([4, 5], 0, 0.8, 'float32', 11);
    const w2 = tf.randomNormal([5, 3], 0, 0.8, 'float32', 12);
    for (const [name, act] of [['sigmoid', S.sigmoid], ['tanh', S.tanh], ['exp', (t: tf.Tensor) => S.exp(tf.mul(t, 0.3))]] as const) {
      const r = await gradCheck(penaltyFn(act, S.crossEntropy), [w1, w2], { h: 1e-2, samples: 8 });
      assert.ok(r.maxAbsGrad > 1e-4, `${name}: gradient vanished`);
      assert.ok(r.relError < 2e-3, `${name}: relative error ${r.relError}`);
    }
  });

  test(`tfjs's own sigmoid + softmaxCrossEntropy ARE wrong at second order (documents why safe ops exist) (${backend})`, async () => {
    await useBackend(backend);
    const w1 = tf.randomNormal([4, 5], 0, 0.8, 'float32', 11);
    const w2 = tf.randomNormal([5, 3], 0, 0.8, 'float32', 12);
    const tfCe = (l: tf.Tensor2D, y: tf.Tensor1D) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), l) as tf.Scalar;
    const r = await gradCheck(penaltyFn(tf.sigmoid, tfCe), [w1, w2], { h: 1e-2, samples: 8 });
    assert.ok(r.relError > 0.05, `tfjs fixed issue #3252? relative error only ${r.relError}: the safe ops may be unnecessary now`);
  });

  test(`safe cross-entropy equals tfjs's value and is stable for large logits (${backend})`, async () => {
    await useBackend(backend);
    const l = tf.tensor2d([[1000, 0, -1000], [0.5, 0.1, -0.3]]);
    const y = tf.tensor1d([0, 2], 'int32');
    const ours = await S.crossEntropyPerExample(l, y).data();
    assert.ok(Math.abs(ours[0]) < 1e-4 && Number.isFinite(ours[1]));
    const ref = await tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), l, undefined, 0, tf.Reduction.NONE).data();
    assert.ok(Math.abs(ours[1] - ref[1]) < 1e-5);
    const sm = await S.softmax(l).sum(1).data();
    for (const s of sm) assert.ok(Math.abs(s - 1) < 1e-5);
  });
}
