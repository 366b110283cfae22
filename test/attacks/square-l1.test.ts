// Square-L1, the gradient-free L1 attack of the masking check: stays in its threat model, beats random L1 noise of the same
// budget on a trained MLP without gradients, is reproducible per seed, and finds a flip on a linear model a bit above the
// analytic L1 distance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomStartL1, squareL1 } from '../../lib/attacks';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel, rate, trainedMnistMlp } from './small-models';

const l1Dist = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.tidy(() => tf.max(tf.sum(tf.abs(tf.reshape(tf.sub(a, b), [a.shape[0], -1])), 1)).dataSync()[0]);

test('Square-L1 on a trained MNIST MLP: in the L1 ball and the box, beats random L1 noise, same seed same result (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model, x, y } = await trainedMnistMlp(16);
    const eps = 8;
    const noise = randomStartL1(x, eps, 3);
    const a = squareL1({ eps, queries: 300 });
    assert.equal(a.name, 'square-l1');
    assert.deepEqual(a.threat, { norm: 'l1', eps, targeted: false });
    const before = tf.memory().numTensors;
    const xa = a.run(model, x, y, { seed: 5 });
    assert.equal(tf.memory().numTensors, before + 1, `Square-L1 leaks tensors (${backend})`);
    const [lo, hi] = tf.tidy(() => [xa.min().dataSync()[0], xa.max().dataSync()[0]]);
    assert.ok(l1Dist(xa, x) <= eps * (1 + 1e-6) && lo >= 0 && hi <= 1, `${backend}: L1 ${l1Dist(xa, x)}, range [${lo}, ${hi}]`);
    const r = rate(model, xa, y);
    const rn = rate(model, noise, y);
    assert.ok(r >= rn + 0.2, `${backend}: Square-L1 fools ${r}, random L1 noise ${rn}`);
    const again = a.run(model, x, y, { seed: 5 });
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(again, xa))).dataSync()[0]), 0, 'same seed, same adversarial examples');
    tf.dispose([xa, again, noise, x, y]);
    model.dispose();
    assert.throws(() => squareL1({ eps: 1, queries: 0 }), /square-l1: queries must be a positive integer/);
    assert.throws(() => squareL1({ eps: 1, pInit: 2 }), /square-l1: pInit must be in \(0, 1\]/);
  }
});

test('Square-L1 on a linear model: flips at 1.3 x the analytic L1 distance, never below it (cpu)', async () => {
  await useBackend('cpu');
  // 2 classes on a 6x6 image; w1 - w0 is largest (3) on one pixel: the L1 distance is margin / 3.
  const d = 36;
  const dw = Array.from({ length: d }, (_, i) => (i === 14 ? 3 : ((i * 7) % 5 - 2) * 0.3));
  const w = dw.map((t) => [0, t]);
  const x = tf.fill([1, 6, 6, 1], 0.5) as tf.Tensor4D;
  const y = tf.tensor1d([0], 'int32');
  const m = linearModel([6, 6, 1], w, [0.5 * dw.reduce((s, t) => s + t, 0) + 0.6, 0]);
  const dist = 0.6 / 3;
  const above = squareL1({ eps: dist * 1.3, queries: 500 }).run(m, x, y, { seed: 1 });
  assert.equal(rate(m, above, y), 1, 'a search with 500 queries finds the flip 30% above the L1 distance');
  const below = squareL1({ eps: dist * 0.95, queries: 200 }).run(m, x, y, { seed: 1 });
  assert.equal(rate(m, below, y), 0);
  tf.dispose([above, below, x, y]);
  m.dispose();
});
