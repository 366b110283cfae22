// matchedBudgets: eps_p * mean ||g||_q equals eps * mean ||g||_1, checked against gradients computed by hand on a linear model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { matchedBudgets } from '../../lib/experiment/matched-budgets';
import { linearModel } from '../attacks/small-models';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

for (const backend of TEST_BACKENDS) {
  test(`matchedBudgets equals the analytic ratio of gradient norms on a linear model (${backend})`, async () => {
    await useBackend(backend);
    // 2x2x1 inputs, 3 classes. For CE on logits Wx + b, dL/dx = W (softmax(z) - onehot(y)).
    const w = [[1, -2, 0.5], [0.3, 0.1, -1], [-0.7, 2, 0.2], [0.4, -0.4, 1.5]];
    const b = [0.1, -0.2, 0.3];
    const model = linearModel([2, 2, 1], w, b);
    const xs = [[0.1, 0.9, 0.4, 0.2], [0.8, 0.3, 0.6, 0.5]];
    const ys = [0, 2];
    const grads = xs.map((x, i) => {
      const z = [0, 1, 2].map((k) => x.reduce((a, v, d) => a + v * w[d][k], b[k]));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, v) => a + v, 0);
      const d = e.map((v, k) => v / s - (k === ys[i] ? 1 : 0));
      return w.map((row) => row.reduce((a, v, k) => a + v * d[k], 0));
    });
    const mean = (f: (g: number[]) => number) => grads.reduce((a, g) => a + f(g), 0) / grads.length;
    const l1 = mean((g) => g.reduce((a, v) => a + Math.abs(v), 0));
    const l2 = mean((g) => Math.sqrt(g.reduce((a, v) => a + v * v, 0)));
    const linf = mean((g) => Math.max(...g.map(Math.abs)));
    const x = tf.tensor4d(xs.flat(), [2, 2, 2, 1]);
    const y = tf.tensor1d(ys, 'int32');
    let out: ReturnType<typeof matchedBudgets> = [];
    const delta = await tensorDelta(() => { out = matchedBudgets(model, x, y, 0.1, ['inf', 2, 1]); });
    assert.equal(delta, 0);
    assert.equal(out[0].eps, 0.1);
    assert.ok(Math.abs(out[1].eps - (0.1 * l1) / l2) < 1e-5, `${out[1].eps} vs ${(0.1 * l1) / l2}`);
    assert.ok(Math.abs(out[2].eps - (0.1 * l1) / linf) < 1e-5, `${out[2].eps} vs ${(0.1 * l1) / linf}`);
    // The matched first-order loss increases are equal.
    for (const m of out) assert.ok(Math.abs(m.eps * m.meanDualNorm - 0.1 * l1) < 1e-5);
    assert.throws(() => matchedBudgets(model, x, y, -1, [2]), /epsInf must be a number > 0/);
    assert.throws(() => matchedBudgets(model, x, y, 0.1, []), /norms is empty/);
    tf.dispose([x, y]);
    model.dispose();
  });
}
