import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { flowPgd, square } from '../../lib/attacks';
import { crossEntropyPerExample } from '../../lib/tf/safe-ops';
import { warp } from '../../lib/tf/warp';
import type { Model } from '../../lib/types';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel } from './small-models';

const S = 6;

/** Smooth blobs (a flow moves their mass; a flat image would give zero flow gradients). */
function blobs(centers: [number, number][]): tf.Tensor4D {
  const v = centers.flatMap(([cy, cx]) => Array.from({ length: S * S }, (_, p) => Math.exp(-(((Math.floor(p / S) - cy) ** 2) + ((p % S) - cx) ** 2) / 3)));
  return tf.tensor4d(v, [centers.length, S, S, 1]);
}

/** A linear 3-class model on 6x6 images, three blobs labelled 0, 1, 2 and targets 1, 2, 0 (the caller disposes all). */
function threeBlobs(): { m: ReturnType<typeof linearModel>; x: tf.Tensor4D; y: tf.Tensor1D; targets: tf.Tensor1D } {
  const w = tf.tidy(() => tf.randomNormal([S * S, 3], 0, 1, 'float32', 4).arraySync() as number[][]);
  return { m: linearModel([S, S, 1], w, [0, 0, 0]), x: blobs([[2, 2], [3, 2.5], [2.5, 3.5]]),
    y: tf.tensor1d([0, 1, 2], 'int32'), targets: tf.tensor1d([1, 2, 0], 'int32') };
}

test('flow PGD, paper protocol: flow within eps grid units (= eps (W-1)/2 pixels), [0,1], raises the CE; targeted lowers the target CE (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { m, x, y, targets } = threeBlobs();
    const ce = (xx: tf.Tensor4D, labels: tf.Tensor1D) => tf.tidy(() => Array.from(crossEntropyPerExample(m.logits(xx), labels).dataSync()));
    const eps = 0.1;
    // The paper protocol's semantics (zero start, K steps of eps/K, CE, last iterate); the default is now the strong protocol.
    const a = flowPgd({ eps, steps: 10, protocol: 'paper' });
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
    const t = flowPgd({ eps, steps: 10, targeted: true, protocol: 'paper' });
    assert.equal(t.name, 'flow-pgd-paper-targeted');
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

/** flowPgd as it was before the protocols existed (commit 6a94161), the reference the paper protocol must reproduce exactly. */
function oldFlowPgd(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, eps: number, steps: number, targets?: tf.Tensor1D): tf.Tensor4D[] {
  const alpha = eps / steps;
  const sign = targets ? -1 : 1;
  const [b, h, w] = x.shape;
  let flow = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
  for (let s = 0; s < steps && eps > 0; s++) {
    const g = tf.grad((f: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(warp(x, f as tf.Tensor4D)), targets ?? y)))(flow);
    const next = tf.tidy(() => tf.clipByValue(tf.add(flow, tf.mul(tf.sign(g), sign * alpha)), -eps, eps)) as tf.Tensor4D;
    tf.dispose([g, flow]);
    flow = next;
  }
  return [tf.tidy(() => tf.clipByValue(warp(x, flow), 0, 1)) as tf.Tensor4D, flow];
}

test('flow PGD protocol paper reproduces the old flowPgd exactly (untargeted and targeted, cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const w = tf.tidy(() => tf.randomNormal([S * S, 3], 0, 1, 'float32', 9).arraySync() as number[][]);
    const m = linearModel([S, S, 1], w, [0.1, 0, -0.1]);
    const x = blobs([[2, 2], [3, 2.5], [2.5, 3.5], [1.5, 3]]);
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const targets = tf.tensor1d([1, 2, 0, 0], 'int32');
    for (const tg of [undefined, targets]) {
      const [xOld, fOld] = oldFlowPgd(m, x, y, 0.08, 7, tg);
      const r = flowPgd({ eps: 0.08, steps: 7, protocol: 'paper', targeted: !!tg }).runWithFlow(m, x, y, { targets: tg, seed: 5 });
      assert.deepEqual(Array.from(r.flow.dataSync()), Array.from(fOld.dataSync()), `${backend}: flow differs (targeted ${!!tg})`);
      assert.deepEqual(Array.from(r.x.dataSync()), Array.from(xOld.dataSync()), `${backend}: image differs (targeted ${!!tg})`);
      tf.dispose([xOld, fOld, r.x, r.flow]);
    }
    tf.dispose([x, y, targets]);
    m.dispose();
  }
});

test('flow PGD protocols: names, resolved settings in config, explicit fields override the protocol', () => {
  const strong = flowPgd({ eps: 0.05, steps: 20 });
  assert.equal(strong.name, 'flow-pgd');
  assert.deepEqual(strong.config, { protocol: 'strong', eps: 0.05, steps: 20, alpha: 2.5 * 0.05 / 20, restarts: 5, loss: 'cw', randomStart: true, bestIterate: true, padding: 'zeros', targeted: false });
  const paper = flowPgd({ eps: 0.05, steps: 20, protocol: 'paper' });
  assert.equal(paper.name, 'flow-pgd-paper');
  assert.deepEqual(paper.config, { protocol: 'paper', eps: 0.05, steps: 20, alpha: 0.05 / 20, restarts: 1, loss: 'ce', randomStart: false, bestIterate: false, padding: 'zeros', targeted: false });
  const mixed = flowPgd({ eps: 0.05, steps: 20, protocol: 'paper', restarts: 3, loss: 'dlr', alpha: 0.01, randomStart: true, bestIterate: true });
  assert.deepEqual(mixed.config, { protocol: 'paper', eps: 0.05, steps: 20, alpha: 0.01, restarts: 3, loss: 'dlr', randomStart: true, bestIterate: true, padding: 'zeros', targeted: false });
  assert.equal(flowPgd({ eps: 0.05, steps: 20, restarts: 1, loss: 'ce' }).config?.protocol, 'strong');
  assert.throws(() => flowPgd({ eps: 0.05, steps: 20, protocol: 'madry' as never }), /flowPgd: unknown protocol "madry"; use one of "paper", "strong"/);
  assert.throws(() => flowPgd({ eps: 0.05, steps: 20, loss: 'hinge' as never }), /flowPgd: unknown loss "hinge"/);
});

test('flow PGD strong protocol: within eps, [0,1], deterministic given the seed, eps 0 identity, targeted, no tensor leak (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { m, x, y, targets } = threeBlobs();
    const eps = 0.1;
    const a = flowPgd({ eps, steps: 5, restarts: 3 });
    a.run(m, x, y, { seed: 3 }).dispose();
    const before = tf.memory().numTensors;
    const r1 = a.runWithFlow(m, x, y, { seed: 3 });
    const r2 = a.runWithFlow(m, x, y, { seed: 3 });
    assert.ok(Math.max(...r1.stats.maxGrid) <= eps + 1e-6, `${backend}: flow ${Math.max(...r1.stats.maxGrid)} over eps`);
    assert.deepEqual(Array.from(r1.flow.dataSync()), Array.from(r2.flow.dataSync()), `${backend}: same seed, different flow`);
    const [lo, hi] = tf.tidy(() => [r1.x.min().dataSync()[0], r1.x.max().dataSync()[0]]);
    assert.ok(lo >= 0 && hi <= 1);
    tf.dispose([r1.x, r1.flow, r2.x, r2.flow]);
    assert.equal(tf.memory().numTensors, before, `${backend}: strong flow PGD leaks tensors`);
    const t = flowPgd({ eps, steps: 5, targeted: true });
    assert.equal(t.name, 'flow-pgd-targeted');
    const xt = t.run(m, x, y, { targets, seed: 1 });
    const hit = tf.tidy(() => tf.mean(tf.equal(tf.argMax(m.logits(xt), 1), targets).toFloat()).dataSync()[0]);
    const hit0 = tf.tidy(() => tf.mean(tf.equal(tf.argMax(m.logits(x), 1), targets).toFloat()).dataSync()[0]);
    assert.ok(hit >= hit0, `${backend}: targeted strong flow PGD reaches the target less often (${hit}) than the clean input (${hit0})`);
    const id = flowPgd({ eps: 0, steps: 3 }).runWithFlow(m, x, y, { seed: 1 });
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(id.x, x))).dataSync()[0]), 0, 'eps 0 is the identity');
    tf.dispose([xt, id.x, id.flow, x, y, targets]);
    m.dispose();
  }
});
