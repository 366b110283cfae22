import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  doubleBackprop, finiteDifferenceGradientPenalty, inputGradientPenalty, type PerturbationNorm,
} from '../../lib/regularizers/input-gradient';
import { TEST_BACKENDS, useBackend } from '../helpers';
import {
  CTX, batch, ceJs, checkNoLeak, checkWeightGradient, close, inputGradJs, linearCase, linearModel, linearParams, mean, scalar,
} from './tiny-models';

const SHAPE: [number, number, number] = [3, 3, 2];
const K = 4;

function dualNormJs(g: number[], p: PerturbationNorm): number {
  if (p === 'inf') return g.reduce((a, v) => a + Math.abs(v), 0);
  if (p === 2) return Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  return Math.max(...g.map(Math.abs));
}

function directionJs(g: number[], p: PerturbationNorm): number[] {
  if (p === 'inf') return g.map(Math.sign);
  if (p === 2) { const n = dualNormJs(g, 2); return g.map((v) => v / n); }
  const k = g.map(Math.abs).indexOf(Math.max(...g.map(Math.abs)));
  return g.map((v, i) => (i === k ? Math.sign(v) : 0));
}

for (const backend of TEST_BACKENDS) {
  test(`input-gradient family: values on a linear model match the analytic gradient W(softmax - y) (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 3);
    const model = linearModel(SHAPE, K, params);
    const { x, y } = batch(SHAPE, 5, K, 2);
    const c = await linearCase(x, y, params);
    const grads = c.xs.map((_, i) => inputGradJs(c, i));
    const eps = 0.07;

    close(await scalar(doubleBackprop().value(model, x, y, CTX)), mean(grads.map((g) => 0.5 * g.reduce((a, v) => a + v * v, 0))), 1e-4, 'double backprop');
    for (const p of [1, 2, 'inf'] as const) {
      const pen = inputGradientPenalty({ p, eps });
      close(await scalar(pen.value(model, x, y, CTX)), eps * mean(grads.map((g) => dualNormJs(g, p))), 1e-4, `penalty p=${p}`);
      const pert = inputGradientPenalty({ p, eps, form: 'perturbation', clip: false });
      const want = mean(c.xs.map((xi, i) => ceJs(c, i, xi.map((v, d) => v + eps * directionJs(grads[i], p)[d]))));
      close(await scalar(pert.value(model, x, y, CTX)), want, 1e-4, `perturbation p=${p}`);
      // First-order equivalence of the two forms: CE(x + eps r) ~= CE(x) + eps ||g||_q for small eps.
      const small = 1e-3;
      const lhs = await scalar(inputGradientPenalty({ p, eps: small, form: 'perturbation', clip: false }).value(model, x, y, CTX));
      const rhs = mean(c.xs.map((_, i) => ceJs(c, i))) + small * mean(grads.map((g) => dualNormJs(g, p)));
      assert.ok(Math.abs(lhs - rhs) < 2e-4 * Math.max(1, rhs), `p=${p}: perturbation ${lhs} vs CE + penalty ${rhs}`);
    }
    // Finite differences approximate double backprop's value (error O(h)).
    const fd = await scalar(finiteDifferenceGradientPenalty({ h: 1e-3 }).value(model, x, y, CTX));
    close(fd, mean(grads.map((g) => 0.5 * g.reduce((a, v) => a + v * v, 0))), 2e-2, 'finite differences vs double backprop');
    tf.dispose([...params, x, y]);
  });

  test(`input-gradient family: zero budgets give zero penalty, the perturbation form at eps=0 is the clean CE (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 4);
    const model = linearModel(SHAPE, K, params);
    const { x, y } = batch(SHAPE, 4, K, 3);
    const c = await linearCase(x, y, params);
    for (const p of [1, 2, 'inf'] as const) {
      assert.equal(await scalar(inputGradientPenalty({ p, eps: 0 }).value(model, x, y, CTX)), 0);
      close(await scalar(inputGradientPenalty({ p, eps: 0, form: 'perturbation' }).value(model, x, y, CTX)),
        mean(c.xs.map((_, i) => ceJs(c, i))), 1e-5, `clean CE p=${p}`);
    }
    const off = doubleBackprop({ weight: 0 });
    assert.equal(off.weight, 0);
    assert.ok(Number.isFinite(await scalar(off.value(model, x, y, CTX))));
    tf.dispose([...params, x, y]);
  });

  test(`input-gradient family: weight gradients match finite differences on a conv net (${backend})`, async () => {
    await useBackend(backend);
    await checkWeightGradient(doubleBackprop());
    for (const p of [1, 2, 'inf'] as const) {
      await checkWeightGradient(inputGradientPenalty({ p, eps: 0.5 }));
      await checkWeightGradient(inputGradientPenalty({ p, eps: 0.1, form: 'perturbation' }));
    }
    await checkWeightGradient(finiteDifferenceGradientPenalty({ h: 0.05 }));
  });

  test(`input-gradient family: no tensor leak (${backend})`, async () => {
    await useBackend(backend);
    await checkNoLeak(doubleBackprop());
    await checkNoLeak(inputGradientPenalty({ p: 'inf', eps: 0.1 }));
    await checkNoLeak(inputGradientPenalty({ p: 1, eps: 0.1, form: 'perturbation' }));
    await checkNoLeak(finiteDifferenceGradientPenalty());
  });
}

test('input-gradient family: bad configs name the field and the allowed values', () => {
  assert.throws(() => inputGradientPenalty({ p: 3 as never, eps: 0.1 }), /inputGradientPenalty: p must be one of 1, 2, "inf", got 3/);
  assert.throws(() => inputGradientPenalty({ p: 2, eps: -0.1 }), /inputGradientPenalty: eps must be a finite number >= 0, got -0.1/);
  assert.throws(() => inputGradientPenalty({ p: 2, eps: 0.1, form: 'dual' as never }), /form must be one of "penalty", "perturbation", got "dual"/);
  assert.throws(() => inputGradientPenalty({ p: 2, eps: 0.1, weight: Number.NaN }), /weight must be a finite number >= 0, got NaN/);
  assert.throws(() => inputGradientPenalty({ p: 2, epsilon: 0.1 } as never), /unknown option "epsilon"; allowed options: p, eps, form, weight, clip/);
  assert.throws(() => finiteDifferenceGradientPenalty({ h: 0 }), /h must be a finite number > 0, got 0/);
  assert.throws(() => doubleBackprop({ weight: -1 }), /doubleBackprop: weight must be a finite number >= 0/);
  const t = inputGradientPenalty({ p: 'inf', eps: 0.3, form: 'perturbation' });
  assert.equal(t.replacesCrossEntropy, true);
  assert.equal(inputGradientPenalty({ p: 'inf', eps: 0.3 }).replacesCrossEntropy, false);
  assert.deepEqual(t.config, { p: 'inf', eps: 0.3, form: 'perturbation', weight: 1, clip: true });
});
