// APGD-L1 and its geometry (lib/attacks/l1.ts): the projection onto the L1 ball intersected with the box is THE Euclidean
// projection (checked against Dykstra's alternating projections and against random feasible points), the attack reaches the
// analytic optimum of a linear model, beats random L1 noise of the same norm on a trained MLP, and stays in its threat model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { apgdL1, projectL1, projectL1BoxRow, randomStartL1, sparseDirectionRow } from '../../lib/attacks';
import { makeRng } from '../../lib/data/rng';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel, rate, trainedMnistMlp } from './small-models';

const l1 = (v: ArrayLike<number>) => Array.from(v).reduce((s, t) => s + Math.abs(t), 0);
const dist2 = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, t, i) => s + (t - b[i]) ** 2, 0);

/** Euclidean projection onto the L1 ball (Duchi et al. 2008, by sorting). */
function ballL1(v: number[], eps: number): number[] {
  if (l1(v) <= eps) return v.slice();
  const u = v.map(Math.abs).sort((a, b) => b - a);
  let cum = 0;
  let theta = 0;
  for (let j = 0; j < u.length; j++) {
    cum += u[j];
    const t = (cum - eps) / (j + 1);
    if (u[j] - t > 0) theta = t;
  }
  return v.map((t) => Math.sign(t) * Math.max(Math.abs(t) - theta, 0));
}

/** Dykstra's alternating projections onto the L1 ball and the box [-x, 1-x]: converges to the projection onto both. */
function dykstra(v: number[], x: number[], eps: number): number[] {
  let z = v.slice();
  let p = v.map(() => 0);
  let q = v.map(() => 0);
  for (let it = 0; it < 20000; it++) {
    const y = ballL1(z.map((t, i) => t + p[i]), eps);
    p = z.map((t, i) => t + p[i] - y[i]);
    const zn = y.map((t, i) => Math.min(1 - x[i], Math.max(-x[i], t + q[i])));
    q = y.map((t, i) => t + q[i] - zn[i]);
    z = zn;
  }
  return z;
}

test('projection onto the L1 ball and the [0,1] box: feasible, equal to Dykstra\'s projection, no random feasible point closer', () => {
  const rnd = makeRng(3);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rnd() * 6);
    // Some pixels exactly at 0 or 1 (where the box leaves no room on one side), the rest inside.
    const x = Array.from({ length: n }, () => { const u = rnd(); return u < 0.2 ? 0 : u > 0.8 ? 1 : rnd(); });
    const v = Array.from({ length: n }, () => (rnd() - 0.5) * 3);
    const eps = rnd() * 2;
    const p = Array.from(projectL1BoxRow(v, x, eps));
    assert.ok(l1(p) <= eps + 1e-12, `||p||_1 ${l1(p)} > eps ${eps}`);
    p.forEach((t, i) => assert.ok(x[i] + t >= -1e-12 && x[i] + t <= 1 + 1e-12, `x + p outside [0,1] at ${i}`));
    const ref = dykstra(v, x, eps);
    p.forEach((t, i) => assert.ok(Math.abs(t - ref[i]) < 1e-6, `trial ${trial}: projection ${p} vs Dykstra ${ref} (v ${v}, x ${x}, eps ${eps})`));
    const dp = dist2(p, v);
    for (let s = 0; s < 200; s++) {
      // A random feasible point: a random box point scaled into the ball.
      const z = x.map((xi) => rnd() - xi);
      const scale = Math.min(1, eps / Math.max(l1(z), 1e-12)) * rnd();
      assert.ok(dist2(z.map((t) => t * scale), v) >= dp - 1e-12, 'a feasible point is closer than the projection');
    }
  }
  // Inside the box-clipped ball: the projection is the box clip; eps 0: no move.
  assert.deepEqual(Array.from(projectL1BoxRow([0.1, -0.9, 0.2], [0.5, 0.5, 0.95], 10)), [0.1, -0.5, 0.050000000000000044]);
  assert.deepEqual(Array.from(projectL1BoxRow([0.3, -0.2], [0.5, 0.5], 0)).map(Math.abs), [0, 0]);
});

test('projectL1 on float32 images: the returned inputs are within eps as float32 values, in [0,1]; random starts too (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => tf.clipByValue(tf.randomUniform([4, 28, 28, 1], -0.3, 1.3, 'float32', 5), 0, 1)) as tf.Tensor4D;
    const far = tf.tidy(() => tf.add(x, tf.randomNormal(x.shape, 0, 0.5, 'float32', 6))) as tf.Tensor4D;
    for (const eps of [0.5, 3, 10, 40]) {
      for (const out of [projectL1(far, x, eps), randomStartL1(x, eps, 7)]) {
        const [norm, lo, hi] = tf.tidy(() => [tf.max(tf.sum(tf.abs(tf.reshape(tf.sub(out, x), [4, -1])), 1)).dataSync()[0], out.min().dataSync()[0], out.max().dataSync()[0]]);
        assert.ok(norm <= eps * (1 + 1e-6), `${backend}: L1 ${norm} > eps ${eps}`);
        assert.ok(norm >= eps * 0.999, `${backend}: a far point projects onto the sphere (L1 ${norm}, eps ${eps})`);
        assert.ok(lo >= 0 && hi <= 1);
        out.dispose();
      }
    }
    tf.dispose([x, far]);
    assert.equal(tf.memory().numTensors, before, `projection leaks tensors (${backend})`);
  }
});

test('sparse direction: L1 norm 1 on the top coordinates of |g| that can still move (a pixel at a bound in g\'s direction is skipped)', () => {
  const u = Array.from(sparseDirectionRow([5, -4, 3, -0.5, 0.1], [1, 0.5, 0.5, 0.5, 0.5], 0.4));
  assert.deepEqual(u, [0, -0.5, 0.5, 0, 0]);
  assert.deepEqual(Array.from(sparseDirectionRow([-1, 0], [0, 0.2], 0.2)), [0, 0]);
});

/** The largest (w1 - w0) . d over ||d||_1 <= eps, x + d in [0,1]: a fractional knapsack, greedy by |w1_i - w0_i|. */
function knapsack(dw: number[], x: number[], eps: number): number {
  const room = dw.map((w, i) => (w > 0 ? 1 - x[i] : x[i]));
  const order = dw.map((_, i) => i).sort((a, b) => Math.abs(dw[b]) - Math.abs(dw[a]));
  let left = eps;
  let gain = 0;
  for (const i of order) {
    const t = Math.min(left, room[i]);
    gain += t * Math.abs(dw[i]);
    left -= t;
  }
  return gain;
}

test('APGD-L1 on a linear model: reaches the analytic optimum (box binding), flips just above the L1 distance, not below (cpu and wasm)', async () => {
  const d = 16;
  const rnd = makeRng(11);
  const dw = Array.from({ length: d }, () => (rnd() - 0.5) * 4);
  // Two classes: CE is softplus(z1 - z0), so its maximizer over the threat model maximizes (w1 - w0) . d: the knapsack optimum.
  const w = dw.map((t) => [0, t]);
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    // Class 0 keeps winning by 3 logits even at the optimum, so the best point is the highest-loss one (CE stays well above
    // float32 underflow). Pixels near the bounds make the box bind.
    const xv = Array.from({ length: d }, (_, i) => [0.05, 0.95, 0.5, 0.2][i % 4]);
    const m = linearModel([1, d, 1], w, [xv.reduce((s, t, i) => s + t * dw[i], 0) + knapsack(dw, xv, 4) + 3, 0]);
    // Near the boundary: the smallest flipping L1 perturbation is margin / max_i |w1_i - w0_i| (the box does not bind at 0.5).
    const m2 = linearModel([1, d, 1], w, [0.5 * dw.reduce((s, t) => s + t, 0) + 0.3, 0]);
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(xv, [1, 1, d, 1]);
    const y = tf.tensor1d([0], 'int32');
    for (const eps of [0.3, 1.5, 4]) {
      const xa = apgdL1({ eps, steps: 60, loss: 'ce' }).run(m, x, y, { seed: 1 });
      const dv = tf.tidy(() => Array.from(tf.sub(xa, x).dataSync()));
      const gain = dv.reduce((s, t, i) => s + t * dw[i], 0);
      const opt = knapsack(dw, xv, eps);
      assert.ok(gain >= 0.99 * opt && gain <= opt + 1e-4, `${backend} eps ${eps}: margin gain ${gain}, analytic optimum ${opt}`);
      assert.ok(l1(dv) <= eps * (1 + 1e-6));
      xa.dispose();
    }
    tf.dispose([x, y]);
    const x2 = tf.tensor4d(new Array(d).fill(0.5), [1, 1, d, 1]);
    const y2 = tf.tensor1d([0], 'int32');
    const margin = 0.3;
    assert.ok(margin > 0, 'test setup: class 0 wins at x');
    const distL1 = margin / Math.max(...dw.map(Math.abs));
    assert.ok(distL1 < 0.5, `test setup: the box does not bind (${distL1})`);
    // (CE only: DLR needs 3 classes; it is exercised on the MLP below.)
    const above = apgdL1({ eps: distL1 * 1.05, steps: 30 }).run(m2, x2, y2, { seed: 2 });
    assert.equal(rate(m2, above, y2), 1, `${backend}: 1.05 x the L1 distance must flip`);
    const below = apgdL1({ eps: distL1 * 0.95, steps: 30 }).run(m2, x2, y2, { seed: 2 });
    assert.equal(rate(m2, below, y2), 0, `${backend}: below the L1 distance nothing flips`);
    tf.dispose([above, below]);
    tf.dispose([x2, y2]);
    assert.equal(tf.memory().numTensors, before, `APGD-L1 leaks tensors (${backend})`);
    m.dispose();
    m2.dispose();
  }
});

test('APGD-L1 on a trained MNIST MLP: beats random L1 noise of the full budget, CE and DLR, restarts only add; outputs in the threat model (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model, x, y } = await trainedMnistMlp(24);
    const eps = 8;
    const noise = randomStartL1(x, eps, 3);
    const noiseRate = rate(model, noise, y);
    for (const loss of ['ce', 'dlr'] as const) {
      const a = apgdL1({ eps, steps: 20, loss, restarts: 1 });
      assert.equal(a.name, `apgd-${loss}-l1`);
      assert.deepEqual(a.threat, { norm: 'l1', eps, targeted: false });
      const before = tf.memory().numTensors;
      const xa = a.run(model, x, y, { seed: 4 });
      const r1 = rate(model, xa, y);
      assert.ok(r1 >= noiseRate + 0.3, `${backend} ${loss}: APGD-L1 fools ${r1}, random L1 noise ${noiseRate}`);
      const [norm, lo, hi] = tf.tidy(() => [tf.max(tf.sum(tf.abs(tf.reshape(tf.sub(xa, x), [x.shape[0], -1])), 1)).dataSync()[0], xa.min().dataSync()[0], xa.max().dataSync()[0]]);
      assert.ok(norm <= eps * (1 + 1e-6) && lo >= 0 && hi <= 1, `${backend}: L1 ${norm}, range [${lo}, ${hi}]`);
      const x2 = apgdL1({ eps, steps: 20, loss, restarts: 2 }).run(model, x, y, { seed: 4 });
      assert.ok(rate(model, x2, y) >= r1, 'a second restart (first one identical) cannot lower the success rate');
      tf.dispose([xa, x2]);
      assert.equal(tf.memory().numTensors, before, `APGD-L1 leaks tensors (${backend})`);
    }
    assert.throws(() => apgdL1({ eps: -1 }), /apgd-l1: eps must be a finite number >= 0/);
    assert.throws(() => apgdL1({ eps: 1, topk: 0 }), /apgd-l1: topk must be a fraction in \(0, 1\]/);
    assert.throws(() => apgdL1({ eps: 1, targeted: true }).run(model, x, y), /apgd-l1: a targeted attack needs opts.targets/);
    tf.dispose([noise, x, y]);
    model.dispose();
  }
});
