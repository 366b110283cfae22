import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { square } from '../../lib/attacks';
import { TEST_BACKENDS, useBackend } from '../helpers';
import { linearModel, rate } from './small-models';

const linf = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('Square on a linear model: finds the vertex just above the analytic Linf distance, none below; seeded (cpu and wasm)', async () => {
  // As in apgd.test.ts: flipping class 0 to 1 needs Linf margin / ||w_0 - w_1||_1, reached at a vertex of the box, which is
  // where Square searches.
  const w = [[1, -1, -5], [-2, 2, -5], [0.5, -0.5, -5], [-1, 1, -5]];
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = linearModel([1, 4, 1], w, [2, 0, -10]);
    const x = tf.tensor4d([0.6, 0.4, 0.55, 0.45, 0.52, 0.45, 0.5, 0.5], [2, 1, 4, 1]);
    const y = tf.tensor1d([0, 0], 'int32');
    const dist = [1.25 / 9, 0.74 / 9];
    for (const i of [0, 1]) {
      const xi = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      const yi = y.slice([i], [1]);
      const xa = square({ eps: dist[i] * 1.05, queries: 200 }).run(m, xi, yi, { seed: 3 });
      assert.equal(rate(m, xa, yi), 1, `square (${backend}) at 1.05 x the distance must fool example ${i}`);
      assert.ok(linf(xa, xi) <= dist[i] * 1.05 + 1e-6);
      const xb = square({ eps: dist[i] * 0.95, queries: 200 }).run(m, xi, yi, { seed: 3 });
      assert.equal(rate(m, xb, yi), 0);
      const again = square({ eps: dist[i] * 1.05, queries: 200 }).run(m, xi, yi, { seed: 3 });
      assert.equal(linf(again, xa), 0, 'same seed, same result');
      tf.dispose([xi, yi, xa, xb, again]);
    }
    tf.dispose([x, y]);
    m.dispose();
  }
});

test('targeted Square reaches the target within budget and [0,1]; needs targets (cpu and wasm)', async () => {
  const w = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0], [0, 0, 0, 4]];
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = linearModel([1, 4, 1], w, [0, 0, 0, 0]);
    const x = tf.tensor4d([0.9, 0.1, 0.1, 0.2, 0.1, 0.9, 0.2, 0.1, 0.2, 0.1, 0.9, 0.1], [3, 1, 4, 1]);
    const y = tf.tensor1d([0, 1, 2], 'int32');
    const targets = tf.tensor1d([2, 3, 1], 'int32');
    const a = square({ eps: 0.6, queries: 300, targeted: true });
    assert.equal(a.name, 'square-targeted');
    const before = tf.memory().numTensors;
    const xa = a.run(m, x, y, { targets, seed: 1 });
    assert.equal(rate(m, xa, y, targets), 1, `square-targeted (${backend}) must reach every target`);
    assert.ok(linf(xa, x) <= 0.6 + 1e-6);
    const [lo, hi] = tf.tidy(() => [xa.min().dataSync()[0], xa.max().dataSync()[0]]);
    assert.ok(lo >= 0 && hi <= 1);
    xa.dispose();
    assert.equal(tf.memory().numTensors, before, `square leaks tensors (${backend})`);
    assert.throws(() => a.run(m, x, y), /square: a targeted attack needs opts.targets/);
    tf.dispose([x, y, targets]);
    m.dispose();
  }
});
