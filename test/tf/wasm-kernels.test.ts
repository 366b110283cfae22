import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers';

async function filterGrad(backend: 'cpu' | 'wasm', xShape: [number, number, number, number], wShape: [number, number, number, number], stride: number, pad: 'same' | 'valid') {
  await useBackend(backend);
  const x = tf.randomUniform(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(wShape, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const r = tf.randomNormal([1], 0, 1, 'float32', 3);
  const g = tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, stride, pad).mul(tf.conv2d(x, w, stride, pad).add(r)).sum())(w);
  const out = await g.data();
  tf.dispose([x, w, r, g]);
  return out;
}

for (const [xs, ws, s, p] of [
  [[4, 28, 28, 1], [5, 5, 1, 16], 2, 'same'],
  [[3, 14, 14, 16], [5, 5, 16, 32], 2, 'same'],
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'valid'],
  [[2, 8, 8, 3], [3, 3, 3, 4], 2, 'valid'],
] as const) {
  test(`wasm Conv2DBackpropFilter matches cpu: x ${xs} w ${ws} stride ${s} ${p}`, async () => {
    const ref = await filterGrad('cpu', [xs[0], xs[1], xs[2], xs[3]], [ws[0], ws[1], ws[2], ws[3]], s, p);
    const got = await filterGrad('wasm', [xs[0], xs[1], xs[2], xs[3]], [ws[0], ws[1], ws[2], ws[3]], s, p);
    let err = 0, mag = 0;
    for (let i = 0; i < ref.length; i++) { err = Math.max(err, Math.abs(ref[i] - got[i])); mag = Math.max(mag, Math.abs(ref[i])); }
    assert.ok(err / mag < 1e-4, `relative error ${err / mag}`);
  });
}

test('wasm Conv2DBackpropFilter leaks no tensors inside tf.grad', async () => {
  await useBackend('wasm');
  const x = tf.randomUniform([2, 10, 10, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const step = () => tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, 2, 'same').square().sum())(w).dispose();
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before);
});
