// The bench's `--data-parallel` step: the library terms it times are the bench workloads' objectives (same value on the same
// weights and batch), and the split step runs and frees what it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers';
import { parseArgs } from '../../bench/bench';
import { libraryStep, libraryTerms } from '../../bench/data-parallel';
import { ceLoss, doubleBackpropLoss } from '../../bench/workloads';
import { INPUT_SHAPE, NUM_CLASSES, referenceNet } from '../../bench/reference-net';
import { createModel } from '../../lib/models/zoo';
import { liveShardWorkers } from '../../lib/train/data-parallel';

test('--data-parallel: a list of thread counts, none by default', () => {
  assert.deepEqual(parseArgs([], 2).dataParallel, []);
  assert.deepEqual(parseArgs(['--data-parallel', '1,2'], 2).dataParallel, [1, 2]);
  assert.throws(() => parseArgs(['--data-parallel', '0']), /--data-parallel expects a positive integer/);
});

test('the library terms of train and double-backprop are the workloads\' losses on the reference net\'s weights', async () => {
  await useBackend('wasm');
  const net = referenceNet(3);
  const model = createModel({ arch: 'small-cnn' }, { inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, seed: 1 });
  const x = tf.randomUniform([6, ...INPUT_SHAPE], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
  try {
    assert.deepEqual(model.variables.map((v) => v.shape), net.variables.map((v) => v.shape));
    model.variables.forEach((v, i) => v.assign(net.variables[i]));
    const ctx = { epoch: 0, step: 0, seed: 1 };
    const read = (f: () => tf.Scalar) => { const t = f(); const v = t.dataSync()[0]; t.dispose(); return v; };
    const total = (name: 'train' | 'double-backprop') => libraryTerms(name)!.reduce((a, t) => a + t.weight * read(() => t.value(model, x, y, ctx)), 0);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b), `${what}: ${a} vs ${b}`);
    close(total('train'), read(() => ceLoss(net, x, y)), 'train');
    close(total('double-backprop'), read(() => doubleBackpropLoss(net, x, y)), 'double-backprop');
    // jacobian matches only in expectation (one random unit projection per example, drawn differently): not compared here.
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    net.dispose();
  }
});

test('the split library step runs, frees its tensors and ends its worker', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const s = await libraryStep('double-backprop', 4, 2, 'wasm');
  for (let i = 0; i < 2; i++) await s.step();
  await s.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(liveShardWorkers(), 0);
  await assert.rejects(libraryStep('pgd10', 4, 1, 'wasm'), /not a training step/);
});
