import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createModel, maxoutOp, type ModelSpec } from '../../lib/models';
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
  { spec: { arch: 'lenet' }, shape: [8, 8, 1], backends: TEST_BACKENDS },
  { spec: { arch: 'vgg11', widthScale: 1 / 16 }, shape: [32, 32, 3], backends: TEST_BACKENDS, deep: true },
  // Train mode: the penalty differentiates through the batch moments too (what a regularizer sees during training).
  { spec: { arch: 'vgg13', widthScale: 1 / 16 }, shape: [32, 32, 3], backends: ['wasm'], deep: true, mode: 'train' },
  { spec: { arch: 'preact-resnet18', width: 2 }, shape: [8, 8, 3], backends: ['cpu'], deep: true },
  { spec: { arch: 'preact-resnet18', width: 2 }, shape: [8, 8, 3], backends: ['wasm'], deep: true, mode: 'train' },
];

// Deep ReLU nets: a weight perturbation early in the net flips many units downstream, so ||dL/dx||^2 is too rugged for finite
// differences there; their last layers (conv, batch norm, dense) are checked instead. The early layers use the same ops.
for (const { spec, shape, backends, mode, deep } of CASES) {
  for (const backend of backends) {
    const label = spec.arch === 'mlp' ? `mlp-${spec.activation}` : spec.arch;
    test(`${label}${mode === 'train' ? ' (train-mode batch norm)' : ''}: double-backprop weight gradient matches finite differences (${backend})`, async () => {
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

test('maxout: forward is the max over pieces; the gradient goes to the winning piece only', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const x = tf.tensor2d([[1, 3, 2, -1, -4, -2]]); // two units of three pieces
    const [y, g] = tf.tidy(() => [maxoutOp(x, 3), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxoutOp(t, 3), [2, 5])))(x)]);
    assert.deepEqual(Array.from(await y.data()), [3, -1], backend);
    assert.deepEqual(Array.from(await g.data()), [0, 2, 0, 5, 0, 0], backend);
    assert.throws(() => maxoutOp(tf.zeros([1, 5]), 2), /5 features do not split into 2 pieces/);
    tf.dispose([x, y, g]);
  }
});

test('preact-resnet18 and vgg13 on 32x32 CIFAR-shaped inputs: logits, and a double-backprop gradient reaching every weight', async () => {
  await useBackend('cpu');
  for (const spec of [{ arch: 'preact-resnet18', width: 2 }, { arch: 'vgg13', widthScale: 1 / 32 }] as ModelSpec[]) {
    const model = createModel(spec, { inputShape: [32, 32, 3], numClasses: 10, seed: 3, norm: { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] } });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const y = tf.tensor1d([1, 7], 'int32');
    for (const mode of ['train', 'eval'] as const) {
      model.mode = mode;
      const logits = model.logits(x);
      assert.deepEqual(logits.shape, [2, 10]);
      logits.dispose();
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const g = tf.grad((xx: tf.Tensor) => crossEntropy(model.logits(xx as tf.Tensor4D), y))(x);
        return tf.sum(tf.square(g)) as tf.Scalar;
      }), model.variables);
      assert.ok(Number.isFinite(value.dataSync()[0]) && value.dataSync()[0] > 0, `${spec.arch} ${mode}: penalty ${value.dataSync()[0]}`);
      const silent = model.variables.filter((v) => tf.tidy(() => tf.sum(tf.abs(grads[v.name])).dataSync()[0]) === 0).map((v) => v.name);
      assert.deepEqual(silent, [], `${spec.arch} ${mode}: weights without gradient`);
      tf.dispose([value, ...Object.values(grads)]);
    }
    model.commitStats();
    assert.ok(model.state.length > 0 && model.paramCount() > 0);
    model.dispose();
    tf.dispose([x, y]);
  }
});

test('model spec errors name the field', async () => {
  await useBackend('cpu');
  const opts = { inputShape: [28, 28, 1] as const, numClasses: 10, seed: 1 };
  assert.throws(() => createModel({ arch: 'mlp', hidden: [0], activation: 'relu' }, opts), /hidden must be a positive integer, got 0/);
  assert.throws(() => createModel({ arch: 'maxout-mlp', hidden: [4], pieces: 1.5 }, opts), /pieces must be a positive integer, got 1.5/);
});
