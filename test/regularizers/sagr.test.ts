import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sagr } from '../../lib/regularizers/sagr';
import { jacobianNorm } from '../../lib/regularizers/jacobian-norm';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { CTX, batch, checkNoLeak, checkWeightGradient, close, linearCase, linearModel, linearParams, mean, scalar } from './tiny-models';

const SHAPE: [number, number, number] = [2, 3, 2];
const K = 4;

for (const backend of TEST_BACKENDS) {
  test(`sagr: value on a linear model (class gradients = columns of W), reduces to ||J||_F^2 with all weights 1 (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 5);
    const model = linearModel(SHAPE, K, params);
    const { x, y } = batch(SHAPE, 5, K, 1);
    const c = await linearCase(x, y, params);
    const cfg = { trueWeight: 0.2, falseWeight: 1.5, negWeight: 0.3 };
    const col = (k: number) => c.W.map((row) => row[k]);
    const pos = (k: number) => col(k).reduce((a, v) => a + Math.max(v, 0) ** 2, 0);
    const neg = (k: number) => col(k).reduce((a, v) => a + Math.max(-v, 0) ** 2, 0);
    const want = mean(c.ys.map((yi) => Array.from({ length: K }, (_, k) =>
      (k === yi ? cfg.trueWeight : cfg.falseWeight) * (pos(k) + cfg.negWeight * neg(k))).reduce((a, v) => a + v, 0)));
    close(await scalar(sagr(cfg).value(model, x, y, CTX)), want, 1e-4, 'sagr');
    const all = await scalar(sagr({ trueWeight: 1, falseWeight: 1, negWeight: 1 }).value(model, x, y, CTX));
    close(all, await scalar(jacobianNorm({ projections: K }).value(model, x, y, CTX)), 1e-4, 'all weights 1 = Jacobian norm');
    assert.equal(await scalar(sagr({ trueWeight: 0, falseWeight: 0, negWeight: 0 }).value(model, x, y, CTX)), 0);
    tf.dispose([...params, x, y]);
  });

  test(`sagr: weight gradient matches finite differences, no leak (${backend})`, async () => {
    await useBackend(backend);
    await checkWeightGradient(sagr({ trueWeight: 0.1, falseWeight: 1, negWeight: 0.5 }), { skipOutputBias: true });
    await checkNoLeak(sagr());
  });
}

test('sagr: bad configs name the field', () => {
  assert.throws(() => sagr({ trueWeight: -1 }), /sagr: trueWeight must be a finite number >= 0, got -1/);
  assert.throws(() => sagr({ falseWeight: Number.POSITIVE_INFINITY }), /falseWeight must be a finite number/);
  assert.throws(() => sagr({ posWeight: 1 } as never), /unknown option "posWeight"; allowed options: trueWeight, falseWeight, negWeight, weight/);
  assert.deepEqual(sagr().config, { trueWeight: 0.1, falseWeight: 1, negWeight: 0, weight: 1 });
});
