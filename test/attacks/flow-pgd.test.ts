import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { flowPgd, square } from '../../lib/attacks';
import { crossEntropyPerExample } from '../../lib/tf/safe-ops';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel } from './small-models';

const S = 6;

/** Smooth blobs (a flow moves their mass; a flat image would give zero flow gradients). */
function blobs(centers: [number, number][]): tf.Tensor4D {
  const v = centers.flatMap(([cy, cx]) => Array.from({ length: S * S }, (_, p) => Math.exp(-(((Math.floor(p / S) - cy) ** 2) + ((p % S) - cx) ** 2) / 3)));
  return tf.tensor4d(v, [centers.length, S, S, 1]);
}

test('flow PGD: flow within eps grid units (= eps (W-1)/2 pixels), [0,1], raises the CE; targeted lowers the target CE (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const w = tf.tidy(() => tf.randomNormal([S * S, 3], 0, 1, 'float32', 4).arraySync() as number[][]);
    const m = linearModel([S, S, 1], w, [0, 0, 0]);
    const x = blobs([[2, 2], [3, 2.5], [2.5, 3.5]]);
    const y = tf.tensor1d([0, 1, 2], 'int32');
    const targets = tf.tensor1d([1, 2, 0], 'int32');
    const ce = (xx: tf.Tensor4D, labels: tf.Tensor1D) => tf.tidy(() => Array.from(crossEntropyPerExample(m.logits(xx), labels).dataSync()));
    const eps = 0.1;
    const a = flowPgd({ eps, steps: 10 });
    a.runWithFlow(m, x, y).x.dispose();
    const before = tf.memory().numTensors;
    const r = a.runWithFlow(m, x, y);
    for (let i = 0; i < 3; i++) {
      assert.ok(r.stats.maxGrid[i] <= eps + 1e-6, `${backend}: flow ${r.stats.maxGrid[i]} exceeds eps ${eps}`);
      assert.ok(r.stats.maxPixels[i] <= eps * (S - 1) / 2 + 1e-6);
      assert.ok(Math.abs(r.stats.maxGrid[i] - eps) < 1e-5, `${backend}: K steps of eps/K with a steady gradient sign end on the budget (${r.stats.maxGrid[i]})`);
    }
    const [lo, hi] = tf.tidy(() => [r.x.min().dataSync()[0], r.x.max().dataSync()[0]]);
    assert.ok(lo >= 0 && hi <= 1);
    const [c0, c1] = [ce(x, y), ce(r.x, y)];
    c0.forEach((v, i) => assert.ok(c1[i] > v, `${backend}: example ${i} CE ${c1[i]} not above clean ${v}`));
    tf.dispose([r.x, r.flow]);
    assert.equal(tf.memory().numTensors, before, `${backend}: flow PGD leaks tensors`);
    const t = flowPgd({ eps, steps: 10, targeted: true });
    assert.equal(t.name, 'flow-pgd-targeted');
    const xt = t.run(m, x, y, { targets });
    const [t0, t1] = [ce(x, targets), ce(xt, targets)];
    t0.forEach((v, i) => assert.ok(t1[i] < v, `${backend}: example ${i} target CE ${t1[i]} not below clean ${v}`));
    assert.throws(() => t.run(m, x, y), /flowPgd: a targeted attack needs opts.targets/);
    const id = flowPgd({ eps: 0, steps: 3 }).runWithFlow(m, x, y);
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(id.x, x))).dataSync()[0]), 0, 'eps 0 is the identity');
    assert.equal(id.stats.maxGrid[0], 0);
    tf.dispose([xt, id.x, id.flow, x, y, targets]);
    m.dispose();
  }
});

test('flow PGD and Square config errors name the field', () => {
  assert.throws(() => square({ eps: 0.1, pInit: 0 }), /square: pInit must be in \(0, 1\]/);
  assert.throws(() => flowPgd({ eps: -0.01, steps: 5 }), /flowPgd: eps must be a finite number >= 0, got -0.01/);
  assert.throws(() => flowPgd({ eps: 0.01, steps: 5, alpha: -1 }), /flowPgd: alpha must be a finite number >= 0 \(grid units\), got -1/);
  assert.throws(() => flowPgd({ eps: 0.01, steps: 5, padding: 'reflect' as never }), /flowPgd: unknown padding "reflect"; use one of "zeros", "border"/);
});
