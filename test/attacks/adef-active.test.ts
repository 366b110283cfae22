// ADef works only on the examples it has not fooled yet. Since a kit model's logits are per example in eval mode, that must
// change no result: a batch gives exactly what each example gives alone (which the old full-batch loop also did: checked
// equal to the bit on cpu and wasm when the change was made), with exactly the per-example work, fewer than the old loop's
// (every iteration: the whole batch through 1 forward + `candidates` gradients).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adef } from '../../lib/attacks';
import { createModel } from '../../lib/models';
import type { Model } from '../../lib/types';
import { useBackend, TEST_BACKENDS } from '../helpers';

/** The model with a counter of examples through logits (a forward pass or one gradient evaluation each). */
function counting(m: Model): { model: Model; rows: () => number } {
  let rows = 0;
  const model = Object.create(m) as Model;
  Object.defineProperty(model, 'mode', { get: () => m.mode, set: (v) => { m.mode = v; } });
  model.logits = (x) => { rows += x.shape[0]; return m.logits(x); };
  return { model, rows: () => rows };
}

for (const backend of TEST_BACKENDS) {
  test(`ADef on ${backend}: a batch equals its examples run alone (x and flow exactly), with their work, less than the full-batch loop`, async () => {
    await useBackend(backend);
    const net = createModel({ arch: 'small-cnn', width: 4, hidden: 16 }, { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const b = 6;
    const x = tf.randomUniform([b, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const targets = tf.tensor1d([1, 2, 0, 2, 0, 1], 'int32');
    const configs = [
      { maxIter: 8, eps: 0.05, candidates: 2 }, // bounded: projection + line search on the open examples
      { maxIter: 8, targeted: true },
      { maxIter: 8, sigma: 0 },
    ];
    for (const cfg of configs) {
      const before = tf.memory().numTensors;
      const whole = counting(net);
      let iterations = 0;
      const r = adef(cfg).runWithFlow(whole.model, x, y, { targets, onProgress: (i) => { iterations = i; } });
      const alone = counting(net);
      for (let i = 0; i < b; i++) {
        const [xi, yi, ti] = tf.tidy(() => [tf.slice(x, i, 1), tf.slice(y, i, 1), tf.slice(targets, i, 1)]) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
        const ri = adef(cfg).runWithFlow(alone.model, xi, yi, { targets: ti });
        const [dx, df] = tf.tidy(() => [tf.slice(r.x, i, 1), tf.slice(r.flow, i, 1)].map((t, k) =>
          tf.max(tf.abs(tf.sub(t, k === 0 ? ri.x : ri.flow))).dataSync()[0]));
        assert.equal(dx, 0, `${JSON.stringify(cfg)}: example ${i}'s image differs from its run alone by ${dx}`);
        assert.equal(df, 0, `${JSON.stringify(cfg)}: example ${i}'s flow differs from its run alone by ${df}`);
        tf.dispose([xi, yi, ti, ri.x, ri.flow]);
      }
      assert.equal(whole.rows(), alone.rows(), `${JSON.stringify(cfg)}: batch work ${whole.rows()} vs ${alone.rows()} alone`);
      const nCand = cfg.targeted ? 1 : Math.min(cfg.candidates ?? 4, 2);
      const oldLoop = iterations * b * (1 + nCand);
      assert.ok(iterations > 0 && whole.rows() < oldLoop,
        `${JSON.stringify(cfg)}: ${whole.rows()} examples through the model, the full-batch loop needs at least ${oldLoop}`);
      tf.dispose([r.x, r.flow]);
      assert.equal(tf.memory().numTensors, before, `${JSON.stringify(cfg)}: tensors leaked`);
    }
    tf.dispose([x, y, targets]);
    net.dispose();
  });
}
