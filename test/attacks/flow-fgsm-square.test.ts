// The single-step flow attack (flow FGSM) and the gradient-free one (flow Square): budgets, identity at eps 0, determinism,
// what they do to a trained model, and no tensor leak.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attack, flowFgsm, flowPgd, flowSquare, type FlowAttack } from '../../lib/attacks';
import { warp } from '../../lib/tf/warp';
import { crossEntropyPerExample } from '../../lib/tf/safe-ops';
import { createModel } from '../../lib/models';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { range, rate, trainedMnistMlp } from './small-models';

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('flow FGSM and flow Square on a small conv net (cpu and wasm): flow within eps, [0,1], eps 0 identity, seeded, no leak', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = createModel({ arch: 'small-cnn', width: 4, hidden: 16 }, { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0], 'int32');
    const eps = 0.1;
    for (const a of [flowFgsm({ eps }), flowFgsm({ eps, loss: 'cw' }), flowSquare({ eps, queries: 8 }), flowSquare({ eps, queries: 5, restarts: 2 })] as FlowAttack[]) {
      a.run(m, x, y, { seed: 1 }).dispose();
      const before = tf.memory().numTensors;
      const r = a.runWithFlow(m, x, y, { seed: 1 });
      assert.ok(Math.max(...r.stats.maxGrid) <= eps + 1e-7, `${a.name} (${backend}): flow ${Math.max(...r.stats.maxGrid)} over eps ${eps}`);
      // Both put flow components on the corners of the box: exactly +-eps (or 0 where flow FGSM's gradient is 0).
      assert.ok(Array.from(r.flow.dataSync()).every((v) => v === 0 || Math.abs(Math.abs(v) - eps) < 1e-7), `${a.name} (${backend}): flow off the box corners`);
      assert.ok(tf.tidy(() => maxAbsDiff(tf.clipByValue(warp(x, r.flow), 0, 1), r.x)) < 1e-6, `${a.name} (${backend}): x is not warp(x, flow)`);
      const [lo, hi] = range(r.x);
      assert.ok(lo >= 0 && hi <= 1, `${a.name} (${backend}) leaves [0,1]`);
      const again = a.run(m, x, y, { seed: 1 });
      assert.equal(maxAbsDiff(again, r.x), 0, `${a.name} (${backend}): same seed, different output`);
      tf.dispose([r.x, r.flow, again]);
      assert.equal(tf.memory().numTensors, before, `${a.name} (${backend}) leaks tensors`);
    }
    for (const a of [flowFgsm({ eps: 0 }), flowSquare({ eps: 0, queries: 5 })] as FlowAttack[]) {
      const r = a.runWithFlow(m, x, y);
      assert.equal(maxAbsDiff(r.x, x), 0, `${a.name} (${backend}): eps 0 must be the identity`);
      assert.equal(Math.max(...r.stats.maxGrid), 0);
      tf.dispose([r.x, r.flow]);
    }
    tf.dispose([x, y]);
    m.dispose();
  }
});

test('flow FGSM is one signed step of eps on the flow gradient at zero flow (ce and cw), and its targeted variant', async () => {
  await useBackend('cpu');
  const m = createModel({ arch: 'mlp', hidden: [8], activation: 'relu' }, { inputShape: [6, 6, 1], numClasses: 3, seed: 2 });
  m.mode = 'eval';
  const x = tf.randomUniform([3, 6, 6, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2], 'int32');
  const targets = tf.tensor1d([1, 2, 0], 'int32');
  const zero = tf.zeros([3, 6, 6, 2]);
  const margin = (f: tf.Tensor, lbl: tf.Tensor1D, sgn: number) => {
    const z = m.logits(warp(x, f as tf.Tensor4D));
    const zy = tf.sum(tf.mul(z, tf.oneHot(lbl, 3)), 1);
    const other = tf.max(tf.add(z, tf.mul(tf.oneHot(lbl, 3), -1e9)), 1);
    return tf.sum(tf.mul(tf.sub(other, zy), sgn));
  };
  const refs: [FlowAttack, (f: tf.Tensor) => tf.Scalar, tf.Tensor1D | undefined][] = [
    [flowFgsm({ eps: 0.07 }), (f) => tf.sum(crossEntropyPerExample(m.logits(warp(x, f as tf.Tensor4D)), y)), undefined],
    [flowFgsm({ eps: 0.07, loss: 'cw' }), (f) => margin(f, y, 1) as tf.Scalar, undefined],
    [flowFgsm({ eps: 0.07, targeted: true }), (f) => tf.neg(tf.sum(crossEntropyPerExample(m.logits(warp(x, f as tf.Tensor4D)), targets))) as tf.Scalar, targets],
  ];
  for (const [a, lossFn, tg] of refs) {
    const want = tf.tidy(() => tf.mul(tf.sign(tf.grad(lossFn)(zero)), 0.07));
    const r = a.runWithFlow(m, x, y, { targets: tg });
    assert.equal(maxAbsDiff(r.flow, want), 0, `${a.name} (${JSON.stringify(a.config)}): flow is not eps * sign(grad)`);
    tf.dispose([want, r.x, r.flow]);
  }
  assert.equal(flowFgsm({ eps: 0.07, targeted: true }).name, 'flow-fgsm-targeted');
  assert.throws(() => flowFgsm({ eps: 0.07, targeted: true }).run(m, x, y), /flowFgsm: a targeted attack needs opts.targets/);
  assert.throws(() => flowFgsm({ eps: 0.07, loss: 'dlr' as never }), /flowFgsm: unknown loss "dlr"; use one of "ce", "cw"/);
  assert.throws(() => flowSquare({ eps: 0.07, pInit: 2 }), /flowSquare: pInit must be in \(0, 1\]/);
  assert.throws(() => flowSquare({ eps: 0.07, queries: 0 }), /flowSquare: queries must be a positive integer, got 0/);
  assert.throws(() => flowSquare({ eps: -1 }), /flowSquare: eps must be a finite number >= 0, got -1/);
  tf.dispose([x, y, targets, zero]);
  m.dispose();
});

test('on a trained MNIST MLP: flow Square lowers accuracy at a generous budget, counts queries per example, stops once fooled; flow FGSM is weaker than flow PGD', async () => {
  await useBackend('wasm');
  const { model, x, y } = await trainedMnistMlp(24);
  const eps = 0.08;
  const a = attack('flow-square', { eps, queries: 150, restarts: 2 }) as ReturnType<typeof flowSquare>;
  assert.equal(a.name, 'flow-square');
  assert.deepEqual(a.threat, { norm: 'flow', eps, targeted: false });
  const r = a.runWithFlow(model, x, y, { seed: 3 });
  const fooled = rate(model, r.x, y);
  assert.ok(fooled >= 0.5, `flow Square at eps ${eps} (1.1 px) with 150 queries fooled only ${fooled}`);
  assert.ok(Math.max(...r.stats.maxGrid) <= eps + 1e-7);
  const wrong = tf.tidy(() => Array.from(tf.notEqual(tf.argMax(model.logits(r.x), 1), y).dataSync()));
  for (let i = 0; i < 24; i++) {
    assert.ok(r.queries[i] >= 1 && r.queries[i] <= 2 * 150, `example ${i}: ${r.queries[i]} queries`);
    // Still correct after the search: it used the whole budget of both restarts.
    if (!wrong[i]) assert.equal(r.queries[i], 300, `example ${i} not fooled after ${r.queries[i]} queries`);
  }
  assert.ok(r.queries.some((q) => q < 150), 'no example stopped early once fooled');
  tf.dispose([r.x, r.flow]);
  // Single-step vs iterative at the same budget.
  const xf = attack('flow-fgsm', { eps: 0.03 }).run(model, x, y);
  const xp = flowPgd({ eps: 0.03, steps: 10, restarts: 2 }).run(model, x, y, { seed: 1 });
  assert.ok(rate(model, xf, y) > 0 && rate(model, xp, y) >= rate(model, xf, y), `flow FGSM ${rate(model, xf, y)} vs flow PGD ${rate(model, xp, y)}`);
  tf.dispose([xf, xp, x, y]);
  model.dispose();
});
