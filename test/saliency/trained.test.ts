import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { completenessGap, deletionCurve, gradientTimesInput, insertionCurve, integratedGradients, scoreGradient, smoothGrad, targetScore, vanillaGradient } from '../../lib/saliency';
import { createModel } from '../../lib/models';
import { gradCheck } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { trainedMnistMlp } from '../attacks/small-models';

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, q) => s + q, 0) / v.length;

test('score gradients of a nonlinear net match finite differences, logit and logprob (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = createModel({ arch: 'mlp', hidden: [8], activation: 'softplus' }, { inputShape: [3, 3, 2], numClasses: 4, seed: 5 });
    const x = tf.randomUniform([2, 3, 3, 2], 0, 1, 'float32', 2);
    const target = tf.tensor1d([3, 1], 'int32');
    for (const score of ['logit', 'logprob'] as const) {
      const r = await gradCheck((xx) => tf.sum(targetScore(m, xx as tf.Tensor4D, target, score)) as tf.Scalar, [x], { h: 1e-3, samples: 18 });
      const g = scoreGradient(m, x as tf.Tensor4D, target, score);
      const v = vanillaGradient(m, x as tf.Tensor4D, { target, score });
      assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(g, v))).dataSync()[0]), 0);
      assert.ok(r.maxAbsGrad > 1e-3 && r.relError < 1e-2, `${backend} ${score}: ${JSON.stringify(r)}`);
      tf.dispose([g, v]);
    }
    // SmoothGrad with no noise is the gradient; the same seed gives the same map, another seed another one.
    const sg0 = smoothGrad(m, x as tf.Tensor4D, { target, sigma: 0, samples: 2 });
    const vg = vanillaGradient(m, x as tf.Tensor4D, { target });
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(sg0, vg))).dataSync()[0]) < 1e-6);
    const [a, b, c] = [1, 1, 2].map((seed) => smoothGrad(m, x as tf.Tensor4D, { target, sigma: 0.2, samples: 3, seed }));
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]) > 1e-4);
    tf.dispose([x, target, sg0, vg, a, b, c]);
    m.dispose();
  }
});

test('on a trained MNIST MLP: gradient x input and IG beat a random map on deletion and insertion; IG is complete', async () => {
  await useBackend('wasm');
  const { model, x, y } = await trainedMnistMlp(8);
  const random = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const gxi = gradientTimesInput(model, x, { target: y });
  const ig = integratedGradients(model, x, { target: y, steps: 64 });
  const opts = { target: y, steps: 10 };
  const del = (map: tf.Tensor4D) => mean(deletionCurve(model, x, map, opts).auc);
  const ins = (map: tf.Tensor4D) => mean(insertionCurve(model, x, map, opts).auc);
  for (const [name, map] of [['gradient x input', gxi], ['integrated gradients', ig]] as const) {
    assert.ok(del(map) < del(random), `${name}: deletion AUC ${del(map)} not below a random map's ${del(random)}`);
    assert.ok(ins(map) > ins(random), `${name}: insertion AUC ${ins(map)} not above a random map's ${ins(random)}`);
  }
  // Completeness: relu kinks make the path integral piecewise, so allow 5% of the score change.
  const gap = completenessGap(model, x, ig, { target: y });
  const delta = tf.tidy(() => {
    const z = (t: tf.Tensor4D) => tf.sum(tf.mul(model.logits(t), tf.oneHot(y, 10).toFloat()), 1);
    return Array.from(tf.sub(z(x), z(tf.zerosLike(x) as tf.Tensor4D)).dataSync());
  });
  gap.forEach((g, i) => assert.ok(Math.abs(g) <= 0.05 * Math.abs(delta[i]) + 1e-3, `IG gap ${g} vs score change ${delta[i]}`));
  tf.dispose([random, gxi, ig, x, y]);
  model.dispose();
});
