// Every bench workload runs on both test backends, gives finite numbers and leaves no tensors behind across steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend, TEST_BACKENDS } from '../helpers';
import { createWorkload, WORKLOADS, PGD } from '../../bench/workloads';

for (const backend of TEST_BACKENDS) {
  test(`bench workloads step on ${backend}: finite, no tensor growth, PGD stays in the eps-ball and [0,1]; dispose frees all`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    for (const name of WORKLOADS) {
      const w = createWorkload(name, 2);
      const first = w.step();
      const before = tf.memory().numTensors;
      const values = await first.data();
      assert.ok(values.every(Number.isFinite), `${name}: non-finite output`);
      if (name === 'pgd10') {
        const x = tf.randomUniform(first.shape, 0, 1, 'float32', 101); // the workload's x (same seed)
        const dist = tf.tidy(() => tf.max(tf.abs(tf.sub(first, x))));
        const d = await dist.data();
        dist.dispose();
        assert.ok(d[0] <= PGD.eps + 1e-6 && d[0] > 0, `${name}: max |x_adv - x| = ${d[0]}`);
        assert.ok(values.every((v) => v >= 0 && v <= 1));
        x.dispose();
      }
      first.dispose();
      for (let i = 0; i < 2; i++) w.step().dispose();
      assert.equal(tf.memory().numTensors, before - 1, `${name}: tensors grew across steps`);
      w.dispose();
    }
    assert.equal(tf.memory().numTensors, start, 'a workload left tensors after dispose (optimizer slots?)');
  });
}
