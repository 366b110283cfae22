import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  completenessGap, deletionCurve, gini, giniIndex, gradientTimesInput, insertionCurve, integratedGradients, localization, occlusion,
  ranks, saliencyMethod, saliencySimilarity, smoothGrad, strokeMask, toHeatmap, vanillaGradient,
} from '../../lib/saliency';
import { createModel } from '../../lib/models';
import { seededLinearModel, TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

const [H, W, C, K] = [3, 4, 2, 3];
const D = H * W * C;

const linearModel = (seed: number) => seededLinearModel([H, W, C], K, seed);

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} > ${tol}`);
}

test('saliency methods match the analytic answers of a linear model (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model, w } = linearModel(11);
    const x = tf.randomUniform([2, H, W, C], 0, 1, 'float32', 4) as tf.Tensor4D;
    const xs = x.dataSync();
    const target = tf.tensor1d([2, 0], 'int32');
    const t = [2, 0];
    // d logit_t / dx = W[:, t]; gradient x input = x W[:, t]; IG from 0 = x W[:, t]; from 0.5: (x - 0.5) W[:, t].
    const grad = Array.from({ length: 2 * D }, (_, j) => w[j % D][t[Math.floor(j / D)]]);
    const gxi = grad.map((g, j) => g * xs[j]);
    const run = (m: tf.Tensor4D) => { const v = Array.from(m.dataSync()); m.dispose(); return v; };
    close(run(vanillaGradient(model, x, { target })), grad, 1e-5, `${backend} gradient`);
    close(run(gradientTimesInput(model, x, { target })), gxi, 1e-5, `${backend} gradient x input`);
    close(run(smoothGrad(model, x, { target, samples: 3, sigma: 0.3, seed: 1 })), grad, 1e-5, `${backend} smoothgrad`);
    close(run(integratedGradients(model, x, { target, steps: 3 })), gxi, 1e-5, `${backend} integrated gradients`);
    close(run(integratedGradients(model, x, { target, steps: 5, baseline: 0.5, chunk: 2 })), grad.map((g, j) => g * (xs[j] - 0.5)), 1e-5,
      `${backend} integrated gradients, baseline 0.5`);
    // log-probability score: W[:, t] - sum_j p_j W[:, j].
    const logits = model.logits(x).arraySync() as number[][];
    const lp = Array.from({ length: 2 * D }, (_, j) => {
      const i = Math.floor(j / D);
      const e = logits[i].map(Math.exp);
      const z = e.reduce((a, b) => a + b, 0);
      return w[j % D][t[i]] - e.reduce((s, v, k) => s + (v / z) * w[j % D][k], 0);
    });
    close(run(vanillaGradient(model, x, { target, score: 'logprob' })), lp, 1e-5, `${backend} logprob gradient`);
    // Occlusion, 1x1 patches and baseline 0: the drop at a pixel is sum_c x W[:, t] there.
    const perPixel = (v: number[]) => Array.from({ length: 2 * H * W }, (_, p) => v[2 * p] + v[2 * p + 1]);
    close(run(occlusion(model, x, { target, patch: 1 })), perPixel(gxi), 1e-4, `${backend} occlusion 1x1`);
    // 2x2 patches, stride 1: each pixel averages the drops of the patches covering it.
    const occ = run(occlusion(model, x, { target, patch: 2, stride: 1, chunk: 2 }));
    const px = perPixel(gxi);
    const expect = px.map((_, q) => {
      const [i, r, c] = [Math.floor(q / (H * W)), Math.floor((q % (H * W)) / W), q % W];
      const drops: number[] = [];
      for (let r0 = Math.max(0, r - 1); r0 <= Math.min(r, H - 2); r0++) for (let c0 = Math.max(0, c - 1); c0 <= Math.min(c, W - 2); c0++) {
        drops.push(px[i * H * W + r0 * W + c0] + px[i * H * W + r0 * W + c0 + 1] + px[i * H * W + (r0 + 1) * W + c0] + px[i * H * W + (r0 + 1) * W + c0 + 1]);
      }
      return drops.reduce((a, b) => a + b, 0) / drops.length;
    });
    close(occ, expect, 1e-4, `${backend} occlusion 2x2 stride 1`);
    // Default target = the prediction.
    const pred = tf.tidy(() => tf.argMax(model.logits(x), 1) as tf.Tensor1D);
    const a = vanillaGradient(model, x);
    const b = vanillaGradient(model, x, { target: pred });
    close(run(a), run(b), 0, `${backend} default target`);
    tf.dispose([x, target, pred]);
    model.dispose();
  }
});

test('integrated gradients are complete on a nonlinear net, and the gap check catches a coarse path', async () => {
  await useBackend('cpu');
  const m = createModel({ arch: 'mlp', hidden: [16], activation: 'sigmoid' }, { inputShape: [4, 4, 1], numClasses: 3, seed: 3 });
  const x = tf.randomUniform([3, 4, 4, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
  const target = tf.tensor1d([0, 1, 2], 'int32');
  const gaps = (steps: number) => {
    const ig = integratedGradients(m, x, { target, steps });
    const g = completenessGap(m, x, ig, { target });
    ig.dispose();
    return Math.max(...Array.from(g, Math.abs));
  };
  const fine = gaps(64);
  const coarse = gaps(1);
  assert.ok(fine < 2e-3, `IG with 64 steps must sum to score(x) - score(0): gap ${fine}`);
  assert.ok(coarse > 10 * fine, `one trapezoid step should be visibly worse (${coarse} vs ${fine})`);
  tf.dispose([x, target]);
  m.dispose();
});

test('saliency methods leak no tensors (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model } = linearModel(2);
    const x = tf.randomUniform([2, H, W, C], 0, 1, 'float32', 1) as tf.Tensor4D;
    for (const name of ['gradient', 'gradient-x-input', 'smoothgrad', 'integrated-gradients', 'occlusion'] as const) {
      saliencyMethod(name)(model, x).dispose();
      const d = await tensorDelta(() => { saliencyMethod(name)(model, x).dispose(); });
      assert.equal(d, 0, `${name} (${backend}) leaks ${d} tensors`);
    }
    const map = gradientTimesInput(model, x);
    const d = await tensorDelta(() => {
      deletionCurve(model, x, map, { steps: 3 });
      insertionCurve(model, x, map, { steps: 3 });
      gini(map); saliencySimilarity(map, map); localization(map, tf.tidy(() => strokeMask(x)));
    });
    // strokeMask's result is the one tensor left alive above.
    assert.equal(d, 1, `metrics (${backend}) leak ${d - 1} tensors`);
    tf.dispose([x, map]);
    model.dispose();
  }
});

test('Gini sparseness: hand-computed values', () => {
  assert.equal(giniIndex([1, 1, 1, 1]), 0);
  assert.equal(giniIndex([0, 0, 0, 5]), 0.75);
  // Classical form: sum_ij |v_i - v_j| / (2 n^2 mean) = 20 / (2 * 16 * 2.5).
  assert.ok(Math.abs(giniIndex([4, 1, 3, 2]) - 0.25) < 1e-12);
  assert.ok(Number.isNaN(giniIndex([0, 0])));
  assert.throws(() => giniIndex([1, -1]), /values must be >= 0/);
  const m = tf.tensor4d([[[[1], [1]], [[1], [1]]], [[[0], [0]], [[0], [-3]]]]);
  assert.deepEqual(gini(m), [0, 0.75]);
  m.dispose();
});

test('localization: share of saliency mass on the stroke, hand case', () => {
  const x = tf.tensor4d([[[[0.9], [0.1]], [[0.8], [0.0]]]]);
  const mask = strokeMask(x);
  assert.deepEqual(Array.from(mask.dataSync()), [1, 0, 1, 0]);
  const map = tf.tensor4d([[[[2], [-1]], [[1], [0]]]]);
  assert.deepEqual(localization(map, mask), [0.75]);
  assert.throws(() => localization(map, tf.zeros([1, 2, 2, 2]) as tf.Tensor4D), /mask must be \[1,2,2,1\]/);
  tf.dispose([x, mask, map]);
});

test('similarity of saliency maps: identical, monotone, negated, top-k', () => {
  const a = tf.tensor4d([[[[1], [2]], [[3], [4]]], [[[4], [1]], [[0.5], [2]]]]);
  const sq = tf.square(a) as tf.Tensor4D;
  const neg = tf.neg(a) as tf.Tensor4D;
  assert.deepEqual(saliencySimilarity(a, a, { metric: 'pearson' }).map((v) => +v.toFixed(6)), [1, 1]);
  assert.deepEqual(saliencySimilarity(a, sq), [1, 1], 'Spearman is invariant to a monotone transform');
  assert.ok(saliencySimilarity(a, sq, { metric: 'pearson' })[0] < 1);
  assert.deepEqual(saliencySimilarity(a, neg, { metric: 'pearson', abs: false }).map((v) => +v.toFixed(6)), [-1, -1]);
  assert.deepEqual(saliencySimilarity(a, neg, { metric: 'cosine' }).map((v) => +v.toFixed(6)), [1, 1], 'abs (default) ignores the sign');
  const b = tf.tensor4d([[[[4], [3]], [[2], [1]]], [[[4], [1]], [[0.5], [2]]]]);
  assert.deepEqual(saliencySimilarity(a, b, { metric: 'topk', k: 2 }), [0, 1]);
  assert.deepEqual(Array.from(ranks([3, 1, 3, 2])), [3.5, 1, 3.5, 2]);
  assert.throws(() => saliencySimilarity(a, b, { metric: 'ssim' as never }), /unknown metric "ssim"; use one of spearman/);
  assert.throws(() => saliencySimilarity(a, b, { metric: 'topk', k: 9 }), /k must be an integer in \[1, 4\]/);
  tf.dispose([a, sq, neg, b]);
});

test('deletion and insertion curves: endpoints, and a faithful map beats its reverse', async () => {
  await useBackend('cpu');
  const { model } = linearModel(5);
  const x = tf.randomUniform([4, H, W, C], 0, 1, 'float32', 8) as tf.Tensor4D;
  const target = tf.tidy(() => tf.argMax(model.logits(x), 1) as tf.Tensor1D);
  // For a linear model the drop from deleting a pixel is exactly its gradient x input: the most faithful ordering.
  const good = gradientTimesInput(model, x, { target });
  const bad = tf.neg(good) as tf.Tensor4D;
  const signed = (m: tf.Tensor4D) => tf.tidy(() => tf.relu(tf.sum(m, 3, true)) as tf.Tensor4D);
  const [g, b] = [signed(good), signed(bad)];
  const prob = (xx: tf.Tensor4D) => tf.tidy(() => Array.from(tf.sum(tf.mul(tf.softmax(model.logits(xx)), tf.oneHot(target, K)), 1).dataSync()));
  const del = deletionCurve(model, x, g, { target, steps: 12 });
  close(del.probs.map((p) => p[0]), prob(x), 1e-5, 'deletion starts at p(x)');
  const zeros = tf.zerosLike(x) as tf.Tensor4D;
  close(del.probs.map((p) => p[12]), prob(zeros), 1e-5, 'deletion ends at p(baseline)');
  const ins = insertionCurve(model, x, g, { target, steps: 12 });
  close(ins.probs.map((p) => p[0]), prob(zeros), 1e-5, 'insertion starts at p(baseline)');
  const delBad = deletionCurve(model, x, b, { target, steps: 12 });
  const insBad = insertionCurve(model, x, b, { target, steps: 12 });
  for (let i = 0; i < 4; i++) {
    assert.ok(del.auc[i] < delBad.auc[i], `example ${i}: deletion AUC ${del.auc[i]} must be below the reversed map's ${delBad.auc[i]}`);
    assert.ok(ins.auc[i] > insBad.auc[i], `example ${i}: insertion AUC ${ins.auc[i]} must exceed the reversed map's ${insBad.auc[i]}`);
  }
  assert.equal(del.fractions.length, 13);
  tf.dispose([x, target, good, bad, g, b, zeros]);
  model.dispose();
});

test('saliency inputs are validated with clear messages', async () => {
  await useBackend('cpu');
  const { model } = linearModel(1);
  const x = tf.zeros([2, H, W, C]) as tf.Tensor4D;
  assert.throws(() => vanillaGradient(model, tf.zeros([2, 4, 4, 1]) as tf.Tensor4D), /inputs must be \[B, 3, 4, 2\] for linear, got \[2,4,4,1\]/);
  assert.throws(() => vanillaGradient(model, x, { target: tf.tensor1d([0], 'int32') }), /target must be \[2\] class indices/);
  assert.throws(() => vanillaGradient(model, x, { target: tf.tensor1d([0, 5], 'int32') }), /target classes must be integers in \[0, 2\], got 5/);
  assert.throws(() => vanillaGradient(model, x, { score: 'prob' as never }), /unknown score "prob"; use one of logit, logprob/);
  assert.throws(() => smoothGrad(model, x, { samples: 0 }), /samples must be a positive integer, got 0/);
  assert.throws(() => occlusion(model, x, { patch: 2, stride: 3 }), /stride \(3\) must be <= patch \(2\)/);
  assert.throws(() => occlusion(model, x, { patch: 5 }), /patch \(5\) must fit the 3x4 image/);
  assert.throws(() => integratedGradients(model, x, { baseline: tf.zeros([1, H, W, C]) as tf.Tensor4D }), /baseline must be shaped like x/);
  assert.throws(() => saliencyMethod('lrp' as never), /unknown saliency method "lrp": use one of gradient, gradient-x-input/);
  assert.deepEqual(toHeatmap(tf.ones([1, 2, 2, 3]) as tf.Tensor4D).shape, [1, 2, 2, 1]);
  x.dispose();
  model.dispose();
});
