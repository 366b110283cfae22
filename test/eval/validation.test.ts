// Issue 16 item 2: evaluation given bad input fails with an error naming the argument, never a plausible number; an attack that
// throws does not leak the batch's tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Attack, DataSet, Model } from '../../lib/types';
import { fgsm } from '../../lib/attacks';
import { evaluateRobustness, evaluateRobustnessAsync, noiseAccuracy, sanityChecks } from '../../lib/eval';
import { TEST_BACKENDS, useBackend } from '../helpers';

const SHAPE: [number, number, number] = [2, 2, 1];

/** logits = flatten(x) W; `poison` turns the logits of inputs whose first pixel exceeds it into NaN. */
function model(poison?: number): Model {
  const W = tf.variable(tf.tensor2d([[1, -1, 0.5], [0.2, 0.3, -1], [-0.5, 1, 0.1], [0.3, -0.2, 0.4]]));
  return {
    name: 'lin', inputShape: SHAPE, numClasses: 3, mode: 'eval', variables: [W], state: [],
    logits: (x) => tf.tidy(() => {
      const z = tf.matMul(tf.reshape(x, [x.shape[0], 4]) as tf.Tensor2D, W as tf.Tensor2D) as tf.Tensor2D;
      if (poison === undefined) return z;
      const first = tf.reshape(tf.slice(x, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1, 1]);
      return tf.where(tf.broadcastTo(tf.greater(first, poison), z.shape), tf.fill(z.shape, NaN), z) as tf.Tensor2D;
    }),
    paramCount: () => 12, dispose: () => W.dispose(),
  };
}

function data(n: number, seed = 1): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return { x: tf.randomUniform([n, ...SHAPE], 0, 1, 'float32', seed) as tf.Tensor4D, y: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), 'int32') };
}

test('evaluateRobustness rejects bad labels, mismatched lengths, NaN or out-of-range inputs, bad n/batchSize/seed: errors name the argument', async () => {
  await useBackend('cpu');
  const m = model();
  const d = data(16);
  const atk = [fgsm({ eps: 0.1 })];
  const q = { quiet: true };
  const expectErr = (dd: Parameters<typeof evaluateRobustness>[1], re: RegExp, o: Parameters<typeof evaluateRobustness>[3] = q) => {
    const before = tf.memory().numTensors;
    assert.throws(() => evaluateRobustness(m, dd, atk, o), re);
    assert.equal(tf.memory().numTensors, before, `leak after the error ${re}`);
  };
  // 16 images, 15 labels: used to give a silently wrong 0.375.
  const y15 = d.y.slice([0], [15]);
  expectErr({ x: d.x, y: y15 }, /data.x has 16 examples but data.y has 15 labels/);
  const yOut = tf.tensor1d([...Array(15).fill(0), 3], 'int32');
  expectErr({ x: d.x, y: yOut }, /label 15 is 3; labels must be integer class indices in \[0, 3\)/);
  const yNeg = tf.tensor1d([-1, ...Array(15).fill(0)], 'int32');
  expectErr({ x: d.x, y: yNeg }, /label 0 is -1/);
  const yFrac = tf.tensor1d([0, 1, 2.5, ...Array(13).fill(0)], 'float32');
  expectErr({ x: d.x, y: yFrac }, /label 2 is 2.5.*fractional/);
  const yRank2 = tf.oneHot(d.y, 3);
  expectErr({ x: d.x, y: yRank2 as unknown as tf.Tensor1D }, /data.y must be a 1-D tensor/);
  const xNaN = tf.tidy(() => tf.where(tf.equal(tf.range(0, 64).reshape([16, 2, 2, 1]), 37), tf.fill([16, 2, 2, 1], NaN), d.x) as tf.Tensor4D);
  expectErr({ x: xNaN, y: d.y }, /data inputs are NaN or infinite in 1 example\(s\).*first: example 9/);
  const x255 = tf.mul(d.x, 255) as tf.Tensor4D;
  expectErr({ x: x255, y: d.y }, /data inputs must lie in \[0,1\]/);
  const xShape = tf.zeros([16, 3, 2, 1]) as tf.Tensor4D;
  expectErr({ x: xShape, y: d.y }, /data.x must be \[N, 2, 2, 1\] for lin, got \[16,3,2,1\]/);
  expectErr(d, /n must be a positive integer.*got 2.5/, { ...q, n: 2.5 });
  expectErr(d, /n must be a positive integer.*got 0/, { ...q, n: 0 });
  expectErr(d, /batchSize must be a positive integer, got 4.5/, { ...q, batchSize: 4.5 });
  expectErr(d, /batchSize must be a positive integer, got 0/, { ...q, batchSize: 0 });
  expectErr(d, /seed must be a non-negative integer, got 1.5/, { ...q, seed: 1.5 });
  await assert.rejects(() => evaluateRobustnessAsync(m, { x: d.x, y: y15 }, atk, q), /data.y has 15 labels/);
  assert.throws(() => noiseAccuracy(m, { x: d.x, y: y15 }, [0.1]), /noiseAccuracy: data.x has 16 examples but data.y has 15/);
  assert.throws(() => noiseAccuracy(m, d, [0.1], { batchSize: 0.5 }), /noiseAccuracy: batchSize must be a positive integer/);
  assert.throws(() => noiseAccuracy(m, d, [NaN]), /every sigma must be a finite number >= 0, got NaN/);
  // A DataSet whose labels are out of range for the model.
  const ds = {
    name: 'tiny', shape: SHAPE, classNames: ['a', 'b', 'c', 'd'], size: () => 4, labels: () => Int32Array.from([0, 1, 3, 2]),
    batch: () => { throw new Error('not reached'); },
  } as unknown as DataSet;
  expectErr(ds, /label 2 is 3; labels must be integer class indices in \[0, 3\)/);
  // The valid call still works and gives a number.
  const ok = evaluateRobustness(m, d, atk, q);
  assert.equal(ok.n, 16);
  tf.dispose([d.x, d.y, y15, yOut, yNeg, yFrac, yRank2, xNaN, x255, xShape]);
  m.dispose();
});

test('NaN logits: an error on clean inputs, a loud per-example flag (counted as not robust) on attacked inputs (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const d = data(12, 3);
    // NaN logits for inputs whose first pixel is above 0.999: the clean data (uniform in [0,1)) has none.
    const bad = model(0.999);
    const shift: Attack = { name: 'shift', threat: { norm: 'linf', eps: 1 }, config: {}, run: (_m, x) => tf.tidy(() => {
      // Sets examples 0..3 to the all-ones image (within the eps-1 box), leaves the rest.
      const mask = tf.reshape(tf.less(tf.range(0, x.shape[0]), 4), [-1, 1, 1, 1]);
      return tf.where(tf.broadcastTo(mask, x.shape), tf.onesLike(x), x) as tf.Tensor4D;
    }) };
    const warnings: string[] = [];
    const orig = console.warn;
    console.warn = (...a: unknown[]) => { warnings.push(a.join(' ')); };
    try {
      const rep = evaluateRobustness(bad, d, [shift], { quiet: true });
      assert.equal(rep.attacks[0].nonFinite, 4);
      for (let i = 0; i < 4; i++) assert.equal(rep.attacks[0].correct[i], 0, 'a NaN prediction is not robust');
      assert.ok(warnings.some((w) => /NaN or infinite logits on 4 of 12 inputs attacked by shift/.test(w)), warnings.join('\n'));
      const checks = sanityChecks(rep);
      const c = checks.find((k) => /logits finite/.test(k.check));
      assert.equal(c?.status, 'fail');
      assert.match(c!.diagnosis!, /NaN or infinite logits/);
    } finally {
      console.warn = orig;
    }
    const nanModel = model(-1);
    const before = tf.memory().numTensors;
    assert.throws(() => evaluateRobustness(nanModel, d, [fgsm({ eps: 0.1 })], { quiet: true }), /lin gives NaN or infinite logits on clean test example 0/);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([d.x, d.y]);
    bad.dispose();
    nanModel.dispose();
  }
});

test('an attack that throws (or returns the wrong shape) leaks none of the batch tensors and restores the model mode (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = model();
    const d = data(20, 5);
    const boom: Attack = { name: 'boom', threat: { norm: 'linf', eps: 0.1, targeted: true }, config: {}, run: (_m, x) => {
      tf.mul(x, 2); // an intermediate the attack itself leaks is its own bug; the evaluation's batch must not leak
      throw new Error('boom inside the attack');
    } };
    const wrong: Attack = { name: 'wrong', threat: { norm: 'linf', eps: 0.1 }, config: {}, run: (_m, x) => tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) };
    for (const [a, re, leaked] of [[boom, /boom inside the attack/, 1], [wrong, /attack "wrong" returned shape \[1,2,2,1\] for inputs \[8,2,2,1\]/, 0]] as const) {
      m.mode = 'train';
      const before = tf.memory().numTensors;
      assert.throws(() => evaluateRobustness(m, d, [fgsm({ eps: 0.1 }), a], { quiet: true, batchSize: 8 }), re);
      assert.equal(tf.memory().numTensors - before, leaked, `${a.name}: the batch (x, y, targets, adversarial) must be disposed`);
      assert.equal(m.mode, 'train');
    }
    tf.dispose([d.x, d.y]);
    m.dispose();
  }
});
