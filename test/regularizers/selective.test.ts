import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { jsigr, sigr } from '../../lib/regularizers/selective';
import { gaussianBlur, perturbationSaliencyMask } from '../../lib/regularizers/saliency-mask';
import { TEST_BACKENDS, useBackend } from '../helpers';
import {
  CTX, batch, ceJs, checkNoLeak, checkWeightGradient, close, inputGradJs, linearCase, linearModel, linearParams, mean, scalar,
  type LinearCase,
} from './tiny-models';

const SHAPE: [number, number, number] = [3, 3, 2];
const K = 4;

/** SIGR on the linear model with 1-pixel patches: importance = CE increase when a pixel is replaced by `base`. */
function sigrJs(c: LinearCase, base: number[][], topK: number): number {
  const pixels = SHAPE[0] * SHAPE[1], ch = SHAPE[2];
  const k = Math.round(topK * pixels);
  return mean(c.xs.map((xi, i) => {
    const clean = ceJs(c, i);
    const imp = Array.from({ length: pixels }, (_, p) =>
      ceJs(c, i, xi.map((v, d) => (Math.floor(d / ch) === p ? base[i][d] : v))) - clean);
    const order = imp.map((v, p) => [v, p]).sort((a, b) => b[0] - a[0]).slice(0, k).map((e) => e[1]);
    const g = inputGradJs(c, i);
    return g.reduce((a, v, d) => a + (order.includes(Math.floor(d / ch)) ? 0 : v * v), 0);
  }));
}

for (const backend of TEST_BACKENDS) {
  test(`sigr / jsigr: values on a linear model match a plain-JS occlusion and blur mask (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 7);
    const model = linearModel(SHAPE, K, params);
    const { x, y } = batch(SHAPE, 4, K, 3);
    const c = await linearCase(x, y, params);
    const zeros = c.xs.map((xi) => xi.map(() => 0));
    for (const topK of [0.34, 0.67]) {
      close(await scalar(sigr({ mask: 'occlusion', patch: 1, topK }).value(model, x, y, CTX)), sigrJs(c, zeros, topK), 1e-4, `occlusion top ${topK}`);
    }
    const blurred = (await tf.reshape(gaussianBlur(x, 0.8), [x.shape[0], -1]).array()) as number[][];
    close(await scalar(sigr({ mask: 'blur', patch: 1, topK: 0.34, blurSigma: 0.8 }).value(model, x, y, CTX)), sigrJs(c, blurred, 0.34), 1e-4, 'blur');
    // topK = 1 keeps every pixel salient: nothing is penalized.
    assert.equal(await scalar(sigr({ patch: 1, topK: 1 }).value(model, x, y, CTX)), 0);
    // J-SIGR = jacobianWeight ||W||_F^2 (exact with n = C) + sigrWeight SIGR; zero part weights give zero.
    const wsq = await scalar(tf.sum(tf.square(params[0])));
    const j = jsigr({ patch: 1, topK: 0.34, jacobianWeight: 0.3, sigrWeight: 2, projections: K });
    close(await scalar(j.value(model, x, y, CTX)), 0.3 * wsq + 2 * sigrJs(c, zeros, 0.34), 1e-4, 'jsigr');
    assert.equal(await scalar(jsigr({ jacobianWeight: 0, sigrWeight: 0 }).value(model, x, y, CTX)), 0);
    tf.dispose([...params, x, y]);
  });

  test(`saliency mask: patches, top-k count, blur keeps constants, model mode restored (${backend})`, async () => {
    await useBackend(backend);
    const flat = tf.fill([1, 5, 5, 1], 0.7) as tf.Tensor4D;
    const fb = await gaussianBlur(flat, 1.5).data();
    for (const v of fb) assert.ok(Math.abs(v - 0.7) < 1e-5, 'blur of a constant image is the constant');
    const params = linearParams([4, 4, 1], 3, 2);
    const model = linearModel([4, 4, 1], 3, params);
    const { x, y } = batch([4, 4, 1], 2, 3, 1);
    const m = perturbationSaliencyMask(model, x, y, { mask: 'occlusion', patch: 2, topK: 0.25, blurSigma: 1 });
    const ma = (await m.array()) as number[][][][];
    for (const img of ma) {
      assert.equal(img.flat(2).reduce((a, v) => a + v, 0), 4, 'round(0.25 * 16) pixels selected');
      // 2x2 patches have one importance each: the 4 selected pixels form one patch.
      const sel = img.flatMap((row, i) => row.flatMap((v, jj) => (v[0] === 1 ? [[i, jj]] : [])));
      assert.ok(sel.every(([i, jj]) => Math.floor(i / 2) === Math.floor(sel[0][0] / 2) && Math.floor(jj / 2) === Math.floor(sel[0][1] / 2)));
    }
    assert.equal(model.mode, 'train');
    tf.dispose([flat, m, ...params, x, y]);
  });

  test(`sigr / jsigr: weight gradients match finite differences, no leak (${backend})`, async () => {
    await useBackend(backend);
    await checkWeightGradient(sigr({ mask: 'occlusion', patch: 2, topK: 0.3 }));
    await checkWeightGradient(sigr({ mask: 'blur', patch: 3, topK: 0.3 }));
    await checkWeightGradient(jsigr({ patch: 3, topK: 0.3, projections: 2 }));
    await checkNoLeak(sigr({ patch: 3 }));
    await checkNoLeak(jsigr({ patch: 3, mask: 'blur' }));
  });
}

test('sigr / jsigr: bad configs name the field and the allowed values', () => {
  assert.throws(() => sigr({ mask: 'lime' as never }), /sigr: mask must be one of "occlusion", "blur", got "lime"/);
  assert.throws(() => sigr({ topK: 0 }), /sigr: topK must be a finite number > 0 and <= 1, got 0/);
  assert.throws(() => sigr({ topK: 20 }), /topK must be a finite number > 0 and <= 1, got 20/);
  assert.throws(() => sigr({ patch: 0 }), /patch must be an integer >= 1, got 0/);
  assert.throws(() => jsigr({ jacobianWeight: -2 }), /jsigr: jacobianWeight must be a finite number >= 0, got -2/);
  assert.throws(() => jsigr({ lambdaJ: 1 } as never), /jsigr: unknown option "lambdaJ"/);
});
