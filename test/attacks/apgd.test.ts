import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { apgd, attackLoss, pgd } from '../../lib/attacks';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel, rate } from './small-models';

const linf = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('APGD and PGD on a linear model: fool every example just above the analytic Linf distance, none just below (cpu and wasm)', async () => {
  // Classes 0 and 1 differ by w (d = 4); class 2 is far behind. Around x = 0.5 the box never binds, so the smallest Linf
  // perturbation that flips class 0 to 1 is margin / ||w_0 - w_1||_1.
  const w = [[1, -1, -5], [-2, 2, -5], [0.5, -0.5, -5], [-1, 1, -5]];
  const l1 = 2 * (1 + 2 + 0.5 + 1);
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = linearModel([1, 4, 1], w, [2, 0, -10]);
    const x = tf.tensor4d([0.6, 0.4, 0.55, 0.45, 0.52, 0.45, 0.5, 0.5], [2, 1, 4, 1]);
    const y = tf.tensor1d([0, 0], 'int32');
    const margins = tf.tidy(() => Array.from(tf.matMul(tf.reshape(x, [2, 4]), tf.tensor2d(w)).arraySync() as number[][], (z) => z[0] + 2 - z[1]));
    const dist = margins.map((mg) => mg / l1);
    assert.ok(dist.every((d) => d > 0.01 && d < 0.2), `test setup: distances ${dist}`);
    for (const make of [
      (eps: number) => apgd({ eps, steps: 20, loss: 'ce' }), (eps: number) => apgd({ eps, steps: 20, loss: 'dlr' }),
      (eps: number) => pgd({ eps, steps: 20 })]) {
      for (const i of [0, 1]) {
        const xi = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
        const yi = y.slice([i], [1]);
        const above = make(dist[i] * 1.05);
        const xa = above.run(m, xi, yi, { seed: 1 });
        assert.equal(rate(m, xa, yi), 1, `${above.name} (${backend}) at 1.05 x the distance must fool example ${i}`);
        assert.ok(linf(xa, xi) <= dist[i] * 1.05 + 1e-6);
        const xb = make(dist[i] * 0.95).run(m, xi, yi, { seed: 1 });
        assert.equal(rate(m, xb, yi), 0, `${above.name} (${backend}) below the distance cannot fool example ${i}`);
        tf.dispose([xi, yi, xa, xb]);
      }
    }
    tf.dispose([x, y]);
    m.dispose();
  }
});

test('targeted APGD: CE reaches the target when the budget allows, DLR-T ascends AutoAttack\'s targeted DLR; needs targets (cpu and wasm)', async () => {
  // Each class owns one input pixel: setting it high and the others low makes that class win.
  const w = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0], [0, 0, 0, 4]];
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = linearModel([1, 4, 1], w, [0, 0, 0, 0]);
    const x = tf.tensor4d([0.9, 0.1, 0.1, 0.2, 0.1, 0.9, 0.2, 0.1, 0.2, 0.1, 0.9, 0.1], [3, 1, 4, 1]);
    const y = tf.tensor1d([0, 1, 2], 'int32');
    const targets = tf.tensor1d([2, 3, 1], 'int32');
    const ce = apgd({ eps: 0.6, steps: 30, loss: 'ce', targeted: true });
    assert.equal(ce.name, 'apgd-t-ce');
    assert.equal(ce.threat.targeted, true);
    const xa = ce.run(m, x, y, { targets, seed: 2 });
    assert.equal(rate(m, xa, y, targets), 1, `${ce.name} (${backend}) must reach every target`);
    assert.ok(linf(xa, x) <= 0.6 + 1e-6);
    const [lo, hi] = tf.tidy(() => [xa.min().dataSync()[0], xa.max().dataSync()[0]]);
    assert.ok(lo >= 0 && hi <= 1);
    // Targeted DLR = -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2); example 0: z = [3.6, .4, .4, .8], t = 2 -> -(3.2) / (3.6 - .4) = -1.
    const z = tf.tensor2d([[3.6, 0.4, 0.4, 0.8], [1, 2, 3, 5]]);
    const v = tf.tidy(() => Array.from(attackLoss(z, tf.tensor1d([0, 1], 'int32'), 'dlr', tf.tensor1d([2, 2], 'int32')).dataSync()));
    close(v, [-1, (3 - 2) / (5 - 1.5)]);
    const dlr = apgd({ eps: 0.6, steps: 30, loss: 'dlr', targeted: true });
    const xd = dlr.run(m, x, y, { targets, seed: 2 });
    const gain = tf.tidy(() => tf.sub(attackLoss(m.logits(xd), y, 'dlr', targets), attackLoss(m.logits(x), y, 'dlr', targets)).dataSync());
    assert.ok(Array.from(gain).every((g) => g > 1), `${dlr.name} (${backend}) must raise the targeted DLR loss: gains ${gain}`);
    tf.dispose([xa, xd, z]);
    assert.throws(() => ce.run(m, x, y), /apgd: a targeted attack needs opts.targets/);
    const before = tf.memory().numTensors;
    apgd({ eps: 0.3, steps: 12, restarts: 2, targeted: true }).run(m, x, y, { targets }).dispose();
    assert.equal(tf.memory().numTensors, before, `targeted APGD with restarts leaks tensors (${backend})`);
    tf.dispose([x, y, targets]);
    m.dispose();
  }
});

function close(a: number[], b: number[]): void {
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `${a} vs ${b}`));
}
