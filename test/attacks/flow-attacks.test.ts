import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adef, attack, cw, flowSmoothness, flowStats, gridFlowToPixels, pixelFlowToGrid, smoothFlow, stAdv } from '../../lib/attacks';
import { warp } from '../../lib/tf/warp';
import { gradCheck } from '../../lib/tf/gradcheck';
import { createModel } from '../../lib/models';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { range, rate, trainedMnistMlp } from './small-models';

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('flow units and magnitudes: pixels <-> grid units, stats of a known flow', async () => {
  await useBackend('cpu');
  // 1 pixel right everywhere, 0.5 pixel down on one pixel, on a 5 (high) x 9 (wide) image.
  const px = tf.buffer([1, 5, 9, 2]);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 9; j++) px.set(1, 0, i, j, 0);
  px.set(0.5, 0, 2, 3, 1);
  const flowPx = px.toTensor() as tf.Tensor4D;
  const grid = pixelFlowToGrid(flowPx);
  assert.ok(Math.abs(grid.bufferSync().get(0, 0, 0, 0) - 2 / 8) < 1e-7, 'x: 1 px = 2/(W-1) grid units');
  assert.ok(Math.abs(grid.bufferSync().get(0, 2, 3, 1) - 0.5 * 2 / 4) < 1e-7, 'y: 0.5 px = 0.5 * 2/(H-1) grid units');
  assert.ok(maxAbsDiff(gridFlowToPixels(grid), flowPx) < 1e-6);
  const s = flowStats(grid);
  assert.ok(Math.abs(s.maxGrid[0] - 0.25) < 1e-6, `maxGrid ${s.maxGrid[0]}`);
  assert.ok(Math.abs(s.maxPixels[0] - 1) < 1e-6, `maxPixels ${s.maxPixels[0]}`);
  assert.ok(Math.abs(s.meanPixels[0] - (44 + Math.hypot(1, 0.5)) / 45) < 1e-6, `meanPixels ${s.meanPixels[0]}`);
});

test('stAdv smoothness L_flow: analytic values and gradient vs finite differences (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const [h, w] = [4, 5];
    // Constant flow: no differences, only the sqrt(1e-8) floor on each of the 2 * (h(w-1) + (h-1)w) neighbour terms.
    const pairs = 2 * (h * (w - 1) + (h - 1) * w);
    const c = flowSmoothness(tf.fill([1, h, w, 2], 0.7) as tf.Tensor4D).dataSync()[0];
    assert.ok(Math.abs(c - pairs * 1e-4) < 1e-5, `${backend}: constant flow L_flow ${c}`);
    // A unit step in u between columns 1 and 2: h pairs with |du| = 1, each counted from both ends.
    const step = tf.tidy(() => tf.concat([tf.zeros([1, h, 2, 2]), tf.concat([tf.ones([1, h, 3, 1]), tf.zeros([1, h, 3, 1])], 3)], 2)) as tf.Tensor4D;
    const v = flowSmoothness(step).dataSync()[0];
    assert.ok(Math.abs(v - 2 * h - (pairs - 2 * h) * 1e-4) < 1e-4, `${backend}: step flow L_flow ${v}, expected ${2 * h}`);
    const f = tf.randomNormal([2, h, w, 2], 0, 1, 'float32', 7);
    const r = await gradCheck((ff) => tf.sum(flowSmoothness(ff as tf.Tensor4D)) as tf.Scalar, [f], { h: 1e-3, samples: 16 });
    assert.ok(r.maxAbsGrad > 0.1 && r.relError < 1e-2, `${backend}: ${JSON.stringify(r)}`);
    tf.dispose([f, step]);
  }
});

test('ADef smoothing is a normalized, symmetric filter (so <g, S g> is a norm and the step solves the linearization)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const a = tf.randomNormal([1, 9, 9, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomNormal([1, 9, 9, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    const dot = (p: tf.Tensor, q: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(p, q)).dataSync()[0]);
    const sa = smoothFlow(a, 1), sb = smoothFlow(b, 1);
    assert.ok(Math.abs(dot(a, sb) - dot(sa, b)) < 1e-4, `${backend}: <a, Sb> != <Sa, b>`);
    assert.ok(dot(a, sa) > 0);
    // Away from the border (radius 3) a constant field is unchanged: the kernel sums to 1.
    const cst = smoothFlow(tf.fill([1, 9, 9, 2], 2) as tf.Tensor4D, 1);
    assert.ok(Math.abs(cst.bufferSync().get(0, 4, 4, 1) - 2) < 1e-5);
    assert.equal(maxAbsDiff(smoothFlow(a, 0), a), 0, 'sigma 0 is the identity');
    tf.dispose([a, b, sa, sb, cst]);
  }
});

test('stAdv and ADef on a trained MNIST MLP: fool it with sub-2-pixel flows; targeted variants; budgets; [0,1]; no leak', async () => {
  await useBackend('wasm');
  const { model, x, y } = await trainedMnistMlp(8);
  const targets = tf.tensor1d(Array.from(y.dataSync(), (v) => (v + 3) % 10), 'int32');
  for (const [a, minRate] of [[stAdv({ steps: 60, lr: 0.1, tau: 0.005 }), 7 / 8], [adef({ maxIter: 20 }), 1]] as const) {
    const r = a.runWithFlow(model, x, y, { seed: 1 });
    const fooled = rate(model, r.x, y);
    assert.ok(fooled >= minRate, `${a.name} fooled ${fooled}`);
    // The image returned is the warp by the flow returned; the stats describe that flow.
    assert.ok(maxAbsDiff(tf.clipByValue(warp(x, r.flow), 0, 1), r.x) < 1e-6, `${a.name}: x is not warp(x, flow)`);
    assert.ok(Math.abs(Math.max(...r.stats.maxGrid) - maxAbsDiff(r.flow, tf.zerosLike(r.flow))) < 1e-6);
    assert.ok(Math.max(...r.stats.maxPixels) < 2.5, `${a.name}: flow up to ${Math.max(...r.stats.maxPixels)} px`);
    const [lo, hi] = range(r.x);
    assert.ok(lo >= 0 && hi <= 1, `${a.name} leaves [0,1]`);
    tf.dispose([r.x, r.flow]);
  }
  const xt = adef({ maxIter: 30, targeted: true }).run(model, x, y, { targets });
  assert.ok(rate(model, xt, y, targets) >= 7 / 8, `targeted ADef reached ${rate(model, xt, y, targets)}`);
  const xs = stAdv({ steps: 60, lr: 0.1, tau: 0.005, targeted: true }).run(model, x, y, { targets });
  assert.ok(rate(model, xs, y, targets) >= 6 / 8, `targeted stAdv reached ${rate(model, xs, y, targets)}`);
  tf.dispose([xt, xs]);
  // Budgets in grid units hold, through the registry too; a warm-up call, then no tensor is left behind.
  const eps = 0.02;
  for (const a of [attack('stadv', { steps: 5, lr: 0.1, eps }), attack('adef', { maxIter: 5, eps })]) {
    assert.deepEqual(a.threat, { norm: 'flow', eps, targeted: false });
    a.run(model, x, y).dispose();
    const before = tf.memory().numTensors;
    const r = (a as ReturnType<typeof stAdv>).runWithFlow(model, x, y);
    assert.ok(Math.max(...r.stats.maxGrid) <= eps + 1e-6, `${a.name}: flow ${Math.max(...r.stats.maxGrid)} over eps ${eps}`);
    tf.dispose([r.x, r.flow]);
    assert.equal(tf.memory().numTensors, before, `${a.name} leaks tensors`);
  }
  assert.throws(() => stAdv({ targeted: true }).run(model, x, y), /stAdv: a targeted attack needs opts.targets/);
  assert.throws(() => adef({ sigma: -1 }), /adef: sigma must be a finite number >= 0, got -1/);
  assert.throws(() => stAdv({ padding: 'reflect' as never }), /unknown padding "reflect"/);
  tf.dispose([x, y, targets]);
  model.dispose();
});

test('CW, stAdv, ADef on a small conv net (cpu and wasm): budgets hold, [0,1], no tensor leak after a warm-up call', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = createModel({ arch: 'small-cnn', width: 4, hidden: 16 }, { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0], 'int32');
    const targets = tf.tensor1d([1, 2, 0, 2], 'int32');
    const l2 = (a: tf.Tensor) => tf.tidy(() => tf.max(tf.sqrt(tf.sum(tf.square(tf.sub(a, x)), [1, 2, 3]))).dataSync()[0]);
    const cases = [
      { a: cw({ steps: 4, binarySteps: 2, eps: 0.3 }), within: (xa: tf.Tensor4D) => l2(xa) <= 0.3 * (1 + 1e-4) },
      { a: cw({ steps: 4, binarySteps: 2, targeted: true }), within: () => true },
      { a: stAdv({ steps: 4, eps: 0.05 }), within: () => true },
      { a: stAdv({ steps: 4, eps: 0.05, targeted: true, padding: 'border' }), within: () => true },
      { a: adef({ maxIter: 4, eps: 0.05 }), within: () => true },
      { a: adef({ maxIter: 4, targeted: true }), within: () => true },
    ];
    for (const { a, within } of cases) {
      a.run(m, x, y, { targets }).dispose();
      const before = tf.memory().numTensors;
      const xa = a.run(m, x, y, { targets });
      assert.ok(within(xa), `${a.name} (${backend}) exceeds its L2 budget`);
      const [lo, hi] = range(xa);
      assert.ok(lo >= 0 && hi <= 1, `${a.name} (${backend}) leaves [0,1]`);
      if ('runWithFlow' in a && Number.isFinite(a.threat.eps)) {
        const r = (a as ReturnType<typeof stAdv>).runWithFlow(m, x, y, { targets });
        assert.ok(Math.max(...r.stats.maxGrid) <= a.threat.eps + 1e-6, `${a.name} (${backend}) flow over eps`);
        tf.dispose([r.x, r.flow]);
      }
      xa.dispose();
      assert.equal(tf.memory().numTensors, before, `${a.name} (${backend}) leaks tensors`);
    }
    tf.dispose([x, y, targets]);
    m.dispose();
  }
});
