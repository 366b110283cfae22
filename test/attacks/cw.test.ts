import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attack, cw, cwMarginLoss } from '../../lib/attacks';
import { createModel } from '../../lib/models';
import { gradCheck } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel, range, rate, trainedMnistMlp } from './small-models';

const l2 = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => Array.from(tf.sqrt(tf.sum(tf.square(tf.sub(a, b)), [1, 2, 3])).dataSync()));

test('CW-L2 on a linear model finds the analytic minimum distance |margin| / ||w_y - w_other|| (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    // 2 classes on 4 inputs; the closest boundary point lies well inside the box, so the minimum is the plain projection.
    const w = [[1, -1], [0.5, 0.2], [-0.3, 0.4], [0.2, 0.1]];
    const m = linearModel([1, 4, 1], w, [0.1, 0]);
    const x = tf.tensor4d([0.6, 0.3, 0.4, 0.5, 0.4, 0.5, 0.55, 0.5], [2, 1, 4, 1]);
    const xs = [[0.6, 0.3, 0.4, 0.5], [0.4, 0.5, 0.55, 0.5]];
    const dw = w.map((r) => r[0] - r[1]);
    const z = xs.map((v) => v.reduce((s, xi, i) => s + xi * dw[i], 0) + 0.1); // z_0 - z_1
    const y = tf.tensor1d(z.map((v) => (v > 0 ? 0 : 1)), 'int32');
    const expected = z.map((v) => Math.abs(v) / Math.hypot(...dw));
    const xa = cw({ steps: 200, binarySteps: 10, lr: 0.01, c: 1 }).run(m, x, y);
    const got = l2(xa, x);
    assert.equal(rate(m, xa, y), 1, `${backend}: CW must cross the boundary`);
    for (let i = 0; i < 2; i++) {
      assert.ok(got[i] >= expected[i] * (1 - 1e-3), `${backend}: distance ${got[i]} below the analytic minimum ${expected[i]}`);
      assert.ok(got[i] <= expected[i] * 1.05, `${backend}: distance ${got[i]} more than 5% above the minimum ${expected[i]}`);
    }
    tf.dispose([x, y, xa]);
    m.dispose();
  }
});

test('CW margin loss: value and input gradient (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const logits = tf.tensor2d([[2, 1, -1], [0, 3, 1]]);
    const y = tf.tensor1d([0, 0], 'int32');
    const vals = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);
    // z_y - max_{i!=y} z_i, floored at -kappa
    assert.deepEqual(vals(cwMarginLoss(logits, y, 0)), [1, 0]);
    assert.deepEqual(vals(cwMarginLoss(logits, y, 0.5)), [1, -0.5]);
    assert.deepEqual(vals(cwMarginLoss(logits, y, 10)), [1, -3]);
    // targeted at class 2: max_{i!=2} z_i - z_2
    assert.deepEqual(vals(cwMarginLoss(logits, y, 10, tf.tensor1d([2, 2], 'int32'))), [3, 2]);
    const m = createModel({ arch: 'mlp', hidden: [6], activation: 'softplus' }, { inputShape: [2, 2, 1], numClasses: 3, seed: 3 });
    const x = tf.randomUniform([3, 2, 2, 1], 0, 1, 'float32', 4);
    const yy = tf.tensor1d([0, 1, 2], 'int32');
    const r = await gradCheck((xx) => tf.sum(cwMarginLoss(m.logits(xx as tf.Tensor4D), yy, 0)) as tf.Scalar, [x], { h: 1e-3, samples: 12 });
    assert.ok(r.maxAbsGrad > 1e-3 && r.relError < 1e-2, `${backend}: ${JSON.stringify(r)}`);
    m.dispose();
  }
});

test('CW-L2 on a trained MNIST MLP: fools every example, targeted reaches the target, eps budget, [0,1], no leak', async () => {
  await useBackend('wasm');
  const { model, x, y } = await trainedMnistMlp(8);
  const a = cw({ steps: 60, binarySteps: 3, lr: 0.1 });
  const xa = a.run(model, x, y);
  assert.equal(rate(model, xa, y), 1, 'untargeted CW must fool all 8');
  const [lo, hi] = range(xa);
  assert.ok(lo >= 0 && hi <= 1);
  const targets = tf.tensor1d(Array.from(y.dataSync(), (v) => (v + 1) % 10), 'int32');
  const xt = cw({ steps: 60, binarySteps: 3, lr: 0.1, targeted: true }).run(model, x, y, { targets });
  assert.ok(rate(model, xt, y, targets) === 1, 'targeted CW must reach the target on all 8');
  // Targeted needs more distortion than untargeted (the untargeted one picks the nearest class).
  const mean = (v: number[]) => v.reduce((s, q) => s + q, 0) / v.length;
  assert.ok(mean(l2(xt, x)) >= mean(l2(xa, x)));
  // A budget below the minimum distances: the result is scaled onto the ball.
  const eps = 0.5 * Math.min(...l2(xa, x));
  const bounded = attack('cw', { steps: 20, binarySteps: 1, lr: 0.05, eps });
  assert.equal(bounded.threat.eps, eps);
  bounded.run(model, x, y).dispose();
  const before = tf.memory().numTensors;
  const xb = bounded.run(model, x, y);
  assert.ok(Math.max(...l2(xb, x)) <= eps * (1 + 1e-4));
  xb.dispose();
  assert.equal(tf.memory().numTensors, before, 'cw leaks tensors');
  assert.throws(() => cw({ targeted: true }).run(model, x, y), /targeted attack needs opts.targets/);
  assert.throws(() => cw({ c: 0 }), /c must be a finite number > 0, got 0/);
  tf.dispose([x, y, xa, xt, targets]);
  model.dispose();
});
