import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createModel, type ModelSpec } from '../../lib/models';
import { crossEntropy } from '../../lib/tf/safe-ops';
import { gradCheckVariables } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, useBackend } from '../helpers';

// Tiny versions of every family: the weight gradient of ||dCE/dx||^2 (double backprop) must match finite differences.
const CASES: { spec: ModelSpec; shape: [number, number, number]; backends: readonly string[]; mode?: 'train' | 'eval'; deep?: boolean }[] = [
  { spec: { arch: 'mlp', hidden: [6], activation: 'sigmoid' }, shape: [4, 4, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'mlp', hidden: [6], activation: 'relu' }, shape: [4, 4, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'maxout-mlp', hidden: [5], pieces: 3 }, shape: [4, 4, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'conv-maxout', channels: [3], hidden: 4, pieces: 2 }, shape: [8, 8, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'small-cnn', width: 3, hidden: 8 }, shape: [8, 8, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'lenet' }, shape: [8, 8, 1], backends: ['cpu'] },
  { spec: { arch: 'vgg11', widthScale: 1 / 16 }, shape: [32, 32, 3], backends: TEST_BACKENDS, deep: true },
  { spec: { arch: 'preact-resnet18', width: 2 }, shape: [8, 8, 3], backends: ['cpu'], deep: true },
];

// Deep ReLU nets: a weight perturbation early in the net flips many units downstream, so ||dL/dx||^2 is too rugged for finite
// differences there; their last layers (conv, batch norm, dense) are checked instead. The early layers use the same ops.
for (const { spec, shape, backends, mode, deep } of CASES) {
  for (const backend of backends) {
    test(`${spec.arch}${mode === 'train' ? ' (train-mode batch norm)' : ''}: double-backprop weight gradient matches finite differences (${backend})`, async () => {
      await useBackend(backend as 'cpu' | 'wasm');
      const model = createModel(spec, { inputShape: shape, numClasses: 3, seed: 7 });
      model.mode = mode ?? 'eval';
      const x = tf.randomUniform([3, ...shape], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1, 2], 'int32');
      const penalty = () => tf.tidy(() => {
        const g = tf.grad((xx: tf.Tensor) => crossEntropy(model.logits(xx as tf.Tensor4D), y))(x);
        return tf.sum(tf.square(g)) as tf.Scalar;
      });
      const vars = deep ? model.variables.slice(-4) : model.variables.slice(0, 4);
      const r = await gradCheckVariables(penalty, vars, { h: 1e-3, samples: 6, skipKinks: true });
      assert.ok(r.checked >= 10, `${spec.arch}: only ${r.checked} smooth coordinates (${r.skipped} kinks)`);
      assert.ok(r.maxAbsGrad > 1e-6, `${spec.arch}: gradient vanished`);
      assert.ok(r.relError < 2e-2, `${spec.arch}: relative error ${r.relError.toExponential(2)} (max |fd| ${r.maxAbsGrad})`);
      assert.ok(model.paramCount() > 0);
      model.dispose();
      tf.dispose([x, y]);
    });
  }
}

test('batch norm: train mode uses batch statistics, eval mode running ones; commitStats updates them', async () => {
  await useBackend('cpu');
  const model = createModel({ arch: 'vgg11', widthScale: 1 / 32 }, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  model.mode = 'train';
  const a = await model.logits(x).data();
  model.mode = 'eval';
  const b = await model.logits(x).data();
  assert.notDeepEqual(Array.from(a), Array.from(b));
  const before = await model.state[0].data();
  model.mode = 'train';
  model.logits(x).dispose();
  model.commitStats();
  const after = await model.state[0].data();
  assert.notDeepEqual(Array.from(before), Array.from(after));
  model.dispose();
});

test('same seed, same weights; unknown architecture and bad input shape are clear errors', async () => {
  await useBackend('cpu');
  const m1 = createModel({ arch: 'small-cnn' }, { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  const m2 = createModel({ arch: 'small-cnn' }, { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  assert.deepEqual(await m1.variables[0].data(), await m2.variables[0].data());
  assert.equal(m1.paramCount(), 5 * 5 * 16 + 16 + 5 * 5 * 16 * 32 + 32 + 7 * 7 * 32 * 100 + 100 + 100 * 10 + 10);
  assert.throws(() => createModel({ arch: 'alexnet' } as never, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }), /unknown architecture "alexnet": use one of mlp/);
  assert.throws(() => m1.logits(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D), /expects inputs \[B, 28, 28, 1\], got \[2,32,32,3\]/);
  m1.dispose();
  m2.dispose();
});
