import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  flowGradient, flowGradientAtZero, flowRandomStart, scaleFlowLambda,
} from '../../lib/regularizers/flow-gradient';
import { TEST_BACKENDS, useBackend } from '../helpers';
import {
  CTX, batch, checkNoLeak, checkWeightGradient, close, convModel, convParams, inputGradJs, linearCase, linearModel, linearParams, scalar,
} from './tiny-models';

const SHAPE: [number, number, number] = [4, 5, 2];
const K = 3;

for (const backend of TEST_BACKENDS) {
  test(`flowGradient: value on a linear model = (1/B) sum ((W-1)/2 g.dx)^2 + ((H-1)/2 g.dy)^2, g of the batch-mean CE (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 4);
    const model = linearModel(SHAPE, K, params);
    const B = 3;
    const { x, y } = batch(SHAPE, B, K, 8);
    const c = await linearCase(x, y, params);
    const [H, W, C] = SHAPE;
    for (const padding of ['border', 'zeros'] as const) {
      let want = 0;
      c.xs.forEach((xi, e) => {
        const g = inputGradJs(c, e).map((v) => v / B); // gradient of the batch MEAN
        const at = (i: number, j: number, ch: number) => {
          if (i < H && j < W) return xi[(i * W + j) * C + ch];
          return padding === 'border' ? xi[(Math.min(i, H - 1) * W + Math.min(j, W - 1)) * C + ch] : 0;
        };
        for (let i = 0; i < H; i++) {
          for (let j = 0; j < W; j++) {
            let fx = 0, fy = 0;
            for (let ch = 0; ch < C; ch++) {
              const gi = g[(i * W + j) * C + ch];
              fx += gi * (at(i, j + 1, ch) - at(i, j, ch));
              fy += gi * (at(i + 1, j, ch) - at(i, j, ch));
            }
            want += ((fx * (W - 1)) / 2) ** 2 + ((fy * (H - 1)) / 2) ** 2;
          }
        }
      });
      want /= B;
      for (const form of ['closed', 'warp'] as const) {
        const term = flowGradient({ lambda: 100, randomStartSigma: 0, form, padding });
        assert.equal(term.weight, 100);
        close(await scalar(term.value(model, x, y, CTX)), want, 1e-4, `${form}, ${padding}`);
      }
    }
    tf.dispose([...params, x, y]);
  });

  test(`flowGradient: closed form equals autodiff through the bilinear warp on a conv net (${backend})`, async () => {
    await useBackend(backend);
    const shape: [number, number, number] = [7, 6, 2];
    const params = convParams(shape, 4, 13);
    const model = convModel(shape, 4, params);
    const { x, y } = batch(shape, 3, 4, 2);
    for (const padding of ['border', 'zeros'] as const) {
      const a = flowGradientAtZero(model, x, y, 'closed', padding);
      const b = flowGradientAtZero(model, x, y, 'warp', padding);
      const diff = await scalar(tf.max(tf.abs(tf.sub(a, b))));
      const size = await scalar(tf.max(tf.abs(b)));
      assert.ok(size > 1e-4 && diff <= 1e-5 * Math.max(size, 1), `${padding}: max |closed - warp| ${diff} (scale ${size})`);
      tf.dispose([a, b]);
    }
    tf.dispose([...params, x, y]);
  });

  test(`flowGradient: random start is seeded, small and in [0,1]; lambda scales as B^2 with the batch size (${backend})`, async () => {
    await useBackend(backend);
    const { x, y } = batch(SHAPE, 2, K, 3);
    const a = flowRandomStart(x, 0.01, 5), b = flowRandomStart(x, 0.01, 5), c = flowRandomStart(x, 0.01, 6);
    assert.equal(await scalar(tf.max(tf.abs(tf.sub(a, b)))), 0, 'same seed, same start');
    const moved = await scalar(tf.max(tf.abs(tf.sub(a, c))));
    assert.ok(moved > 0 && moved < 0.2, `random start moved pixels by ${moved}`);
    assert.ok(await scalar(tf.min(a)) >= 0 && await scalar(tf.max(a)) <= 1);
    // Duplicating every example (B -> 2B) divides reg by 4: scaleFlowLambda compensates.
    const params = linearParams(SHAPE, K, 6);
    const model = linearModel(SHAPE, K, params);
    const term = flowGradient({ lambda: 1, randomStartSigma: 0 });
    const r1 = await scalar(term.value(model, x, y, CTX));
    const r2 = await scalar(term.value(model, tf.concat([x, x]), tf.concat([y, y]), CTX));
    close(r2 * scaleFlowLambda(1, 2, 4), r1, 1e-4, 'reg(2B) * scaleFlowLambda = reg(B)');
    assert.equal(scaleFlowLambda(100, 128, 256), 400);
    // The term's random start is seeded from ctx.seed: reproducible, fresh per step, a small change of the value.
    const withRs = flowGradient({ lambda: 1, randomStartSigma: 0.01 });
    const v1 = await scalar(withRs.value(model, x, y, CTX));
    assert.equal(await scalar(withRs.value(model, x, y, CTX)), v1);
    assert.notEqual(await scalar(withRs.value(model, x, y, { ...CTX, seed: CTX.seed + 1 })), v1);
    assert.notEqual(v1, r1);
    close(v1, r1, 0.2, 'random start sigma 0.01 vs none');
    tf.dispose([a, b, c, ...params, x, y]);
  });

  test(`flowGradient: weight gradient matches finite differences (closed and warp forms), no leak (${backend})`, async () => {
    await useBackend(backend);
    await checkWeightGradient(flowGradient({ lambda: 1, form: 'closed', randomStartSigma: 0.02 }));
    await checkWeightGradient(flowGradient({ lambda: 1, form: 'warp', padding: 'zeros', randomStartSigma: 0 }));
    await checkNoLeak(flowGradient({ lambda: 1, form: 'warp' }));
    await checkNoLeak(flowGradient({ lambda: 1 }));
  });
}

test('flowGradient: bad configs name the field and the allowed values', () => {
  assert.throws(() => flowGradient({ lambda: -100 }), /flowGradient: lambda must be a finite number >= 0, got -100/);
  assert.throws(() => flowGradient({} as never), /lambda must be a finite number >= 0, got undefined/);
  assert.throws(() => flowGradient({ lambda: 1, form: 'numeric' as never }), /form must be one of "closed", "warp", got "numeric"/);
  assert.throws(() => flowGradient({ lambda: 1, randomStartSigma: -0.01 }), /randomStartSigma must be a finite number >= 0/);
  assert.throws(() => flowGradient({ lambda: 1, padding: 'reflection' as never }), /padding must be one of "zeros", "border"/);
  assert.throws(() => scaleFlowLambda(1, 0, 128), /fromBatch must be an integer >= 1, got 0/);
});
