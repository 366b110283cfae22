// Best-iterate tracking and restarts only ever add candidates: for the same seed they never give a higher robust accuracy than
// the last-iterate single run (restart 0 is the same run whatever the restart count), checked per example on a trained model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../../lib/types';
import { flowPgd, mifgsm, pgd } from '../../lib/attacks';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { trainedMnistMlp } from './small-models';

/** One input pixel x, logits [0, 1 - 100 (x - 0.6)^2]: class 1 wins only for |x - 0.6| < 0.1, so big steps overshoot it. */
function bumpModel(): Model {
  return {
    name: 'bump', inputShape: [1, 1, 1], numClasses: 2, mode: 'eval', variables: [], state: [],
    logits: (x) => tf.tidy(() => {
      const v = tf.reshape(x, [x.shape[0], 1]);
      return tf.concat([tf.zerosLike(v), tf.sub(1, tf.mul(100, tf.square(tf.sub(v, 0.6))))], 1) as tf.Tensor2D;
    }),
    paramCount: () => 0, dispose: () => undefined,
  };
}

test('PGD best iterate: a hit at an intermediate step is kept when the last step overshoots it (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = bumpModel();
    const x = tf.tensor4d([0.45], [1, 1, 1, 1]);
    const y = tf.tensor1d([0], 'int32');
    // No random start, alpha 0.2: 0.45 -> 0.65 (class 1: fooled) -> 0.45 (the gradient points back to the bump's top at 0.6).
    const cfg = { eps: 0.3, steps: 2, alpha: 0.2, randomStart: false };
    const last = pgd({ ...cfg, bestIterate: false }).run(m, x, y);
    const best = pgd(cfg).run(m, x, y);
    assert.ok(Math.abs(last.dataSync()[0] - 0.45) < 1e-6, `${backend}: last iterate ${last.dataSync()[0]}`);
    assert.ok(Math.abs(best.dataSync()[0] - 0.65) < 1e-6, `${backend}: best iterate ${best.dataSync()[0]}, expected the fooling 0.65`);
    tf.dispose([x, y, last, best]);
  }
  assert.equal(pgd({ eps: 0.1, steps: 3 }).config?.bestIterate, true);
  assert.equal(mifgsm({ eps: 0.1 }).config?.bestIterate, true);
  assert.equal(mifgsm({ eps: 0.1, bestIterate: false }).config?.bestIterate, false);
  assert.equal(pgd({ eps: 0.1, steps: 3, bestIterate: false }).name, pgd({ eps: 0.1, steps: 3 }).name, 'names unchanged');
});

/** Per example 1 where the model still classifies the attacked input correctly. */
function correct(model: Model, xa: tf.Tensor4D, y: tf.Tensor1D): Uint8Array {
  return tf.tidy(() => Uint8Array.from(tf.equal(tf.argMax(model.logits(xa), 1), y).dataSync()));
}

test('on a trained MNIST MLP, best iterate and restarts never raise robust accuracy over the last-iterate single run (pgd linf, pgd l2, flow pgd)', async () => {
  await useBackend('wasm');
  const { model, x, y } = await trainedMnistMlp(60);
  const sum = (c: Uint8Array) => c.reduce((a, b) => a + b, 0);
  const family = (label: string, attacks: Attack[], seed: number) => {
    // Each attack's candidates include the previous one's: per example, once fooled, fooled by every later attack too.
    const accs: number[] = [];
    let prev: Uint8Array | undefined;
    for (const a of attacks) {
      const xa = a.run(model, x, y, { seed });
      const c = correct(model, xa, y);
      xa.dispose();
      if (prev) for (let i = 0; i < c.length; i++) assert.ok(c[i] <= prev[i], `${label}: example ${i} fooled by the weaker run, not by ${JSON.stringify(a.config)}`);
      accs.push(sum(c) / c.length);
      prev = c;
    }
    return accs;
  };
  // Few steps with a large step size: the last iterate often overshoots, so the best iterate has something to find.
  const linf = family('pgd linf', [
    pgd({ eps: 0.08, steps: 5, bestIterate: false }), pgd({ eps: 0.08, steps: 5 }), pgd({ eps: 0.08, steps: 5, restarts: 3 }),
  ], 7);
  const l2 = family('pgd l2', [
    pgd({ norm: 'l2', eps: 1, steps: 5, alpha: 0.6, bestIterate: false }), pgd({ norm: 'l2', eps: 1, steps: 5, alpha: 0.6 }),
    pgd({ norm: 'l2', eps: 1, steps: 5, alpha: 0.6, restarts: 3, loss: 'ce' }),
  ], 7);
  const flowStrong = family('flow pgd strong', [
    flowPgd({ eps: 0.04, steps: 6, restarts: 1, bestIterate: false }), flowPgd({ eps: 0.04, steps: 6, restarts: 1 }), flowPgd({ eps: 0.04, steps: 6, restarts: 3 }),
  ], 7);
  const flowPaper = family('flow pgd paper', [
    flowPgd({ eps: 0.04, steps: 6, protocol: 'paper' }), flowPgd({ eps: 0.04, steps: 6, protocol: 'paper', bestIterate: true }),
  ], 7);
  for (const [label, accs] of [['linf', linf], ['l2', l2], ['flow strong', flowStrong], ['flow paper', flowPaper]] as const) {
    assert.ok(accs[0] < 1, `${label}: the attacks must do something (${accs})`);
    for (let i = 1; i < accs.length; i++) assert.ok(accs[i] <= accs[i - 1], `${label}: ${accs}`);
  }
  // The strong protocol (restarts, random start, margin loss, best iterate) is not weaker than the paper's on this model.
  const paperAcc = flowPaper[0];
  const strongAcc = flowStrong[flowStrong.length - 1];
  assert.ok(strongAcc <= paperAcc, `strong flow PGD ${strongAcc} vs paper protocol ${paperAcc}`);
  tf.dispose([x, y]);
  model.dispose();
});
