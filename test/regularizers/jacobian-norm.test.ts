import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { jacobianNorm, randomOrthonormalFrames } from '../../lib/regularizers/jacobian-norm';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { CTX, batch, checkNoLeak, checkWeightGradient, close, linearModel, linearParams, scalar } from './tiny-models';

const SHAPE: [number, number, number] = [3, 3, 2];
const K = 4;

for (const backend of TEST_BACKENDS) {
  test(`jacobianNorm: exact ||W||_F^2 on a linear model with n = C projections, unbiased with n < C (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 3);
    const model = linearModel(SHAPE, K, params);
    const { x, y } = batch(SHAPE, 3, K, 2);
    const want = await scalar(tf.sum(tf.square(params[0])));
    close(await scalar(jacobianNorm({ projections: K }).value(model, x, y, CTX)), want, 1e-4, 'n = C');
    // n = 1: random, reproducible per seed, mean over seeds -> the exact value.
    const one = jacobianNorm({ projections: 1 });
    const a = await scalar(one.value(model, x, y, CTX));
    assert.equal(await scalar(one.value(model, x, y, CTX)), a, 'same ctx.seed, same value');
    assert.notEqual(await scalar(one.value(model, x, y, { ...CTX, seed: CTX.seed + 1 })), a, 'new seed, new projections');
    let sum = 0;
    const runs = 60;
    for (let s = 0; s < runs; s++) sum += await scalar(one.value(model, x, y, { ...CTX, seed: s }));
    close(sum / runs, want, 0.1, 'mean of 1-projection estimates');
    tf.dispose([...params, x, y]);
  });

  test(`jacobianNorm: orthonormal frames, weight gradient matches finite differences, no leak (${backend})`, async () => {
    await useBackend(backend);
    const f = randomOrthonormalFrames(2, 3, 5, 9);
    const gram = (await tf.matMul(f, f, false, true).array()) as number[][][];
    for (const g of gram) g.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-5)));
    f.dispose();
    await checkWeightGradient(jacobianNorm({ projections: 2 }), { skipOutputBias: true });
    await checkWeightGradient(jacobianNorm({ projections: 3 }), { skipOutputBias: true });
    await checkNoLeak(jacobianNorm({ projections: 2 }));
  });
}

test('jacobianNorm: bad configs name the field', async () => {
  await useBackend('cpu');
  assert.throws(() => jacobianNorm({ projections: 0 }), /jacobianNorm: projections must be an integer >= 1, got 0/);
  assert.throws(() => jacobianNorm({ projections: 1.5 }), /projections must be an integer/);
  assert.throws(() => jacobianNorm({ nproj: 2 } as never), /unknown option "nproj"/);
  const params = linearParams(SHAPE, K, 3);
  const { x, y } = batch(SHAPE, 2, K, 2);
  assert.throws(() => jacobianNorm({ projections: K + 1 }).value(linearModel(SHAPE, K, params), x, y, CTX),
    /projections must be <= the model's number of classes \(4\), got 5/);
  tf.dispose([...params, x, y]);
});
