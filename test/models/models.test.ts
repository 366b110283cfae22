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
  assert.throws(() => createModel({ arch: 'mlp', hidden: [0], activation: 'relu' }, opts), /hidden\[0\] must be a positive integer, got 0/);
  assert.throws(() => createModel({ arch: 'maxout-mlp', hidden: [4], pieces: 1.5 }, opts), /pieces must be a positive integer, got 1.5/);
});

test('invalid model specs and options: a clear error naming the field, before any tensor is made', async () => {
  await useBackend('cpu');
  const mnist = { inputShape: [28, 28, 1] as const, numClasses: 10, seed: 1 };
  const cases: [unknown, typeof mnist | Record<string, unknown>, RegExp][] = [
    [{ arch: 'small-cnn', width: 0 }, mnist, /model spec \(small-cnn\): width must be a positive integer, got 0/],
    [{ arch: 'small-cnn', width: 2.5 }, mnist, /width must be a positive integer, got 2.5/],
    [{ arch: 'small-cnn', hidden: -3 }, mnist, /hidden must be a positive integer, got -3/],
    [{ arch: 'preact-resnet18', width: 2.5 }, mnist, /model spec \(preact-resnet18\): width must be a positive integer, got 2.5/],
    [{ arch: 'vgg11', widthScale: 0 }, { ...mnist, inputShape: [32, 32, 3] }, /widthScale must be a positive number .*got 0/],
    [{ arch: 'vgg13', widthScale: NaN }, { ...mnist, inputShape: [32, 32, 3] }, /widthScale must be a positive number .*got NaN/],
    // vgg pools five times: 28 -> 14 -> 7 -> 3.5.
    [{ arch: 'vgg11' }, mnist, /model spec \(vgg11\): input 28x28 does not fit: vgg11 halves height and width 5 times .*divisible by 32.*small-cnn/s],
    [{ arch: 'lenet' }, { ...mnist, inputShape: [30, 30, 1] }, /lenet\): input 30x30 does not fit.*divisible by 4/s],
    [{ arch: 'alexnet' }, mnist, /unknown architecture "alexnet": use one of mlp, /],
    [{ widthScale: 1 }, mnist, /unknown architecture undefined: use one of/],
    ['vgg11', mnist, /model spec must be an object like \{ arch: "small-cnn" \}, got "vgg11"/],
    [{ arch: 'mlp', hidden: [8], activation: 'gelu' }, mnist, /model spec \(mlp\): unknown activation "gelu": use one of relu, sigmoid, tanh, softplus/],
    [{ arch: 'mlp', hidden: [8] }, mnist, /model spec \(mlp\): activation is required/],
    [{ arch: 'mlp', hidden: [8, -1], activation: 'relu' }, mnist, /hidden\[1\] must be a positive integer, got -1/],
    [{ arch: 'mlp', hidden: 8, activation: 'relu' }, mnist, /hidden must be an array of positive integers, got 8/],
    [{ arch: 'conv-maxout', channels: [], hidden: 4, pieces: 2 }, mnist, /channels must be a non-empty array of positive integers/],
    [{ arch: 'vgg11', width: 2 }, { ...mnist, inputShape: [32, 32, 3] }, /model spec \(vgg11\): unknown field "width"; vgg11 takes widthScale/],
    [{ arch: 'small-cnn' }, { ...mnist, inputShape: [28, 28] }, /inputShape must be \[height, width, channels\] of positive integers, got \[28, 28\]/],
    [{ arch: 'small-cnn' }, { ...mnist, inputShape: [28, 0, 1] }, /inputShape must be/],
    [{ arch: 'small-cnn' }, { ...mnist, numClasses: 0 }, /numClasses must be an integer >= 2, got 0/],
    [{ arch: 'small-cnn' }, { ...mnist, seed: 1.5 }, /seed must be an integer, got 1.5/],
    [{ arch: 'small-cnn' }, { ...mnist, norm: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } }, /norm.mean must be 1 finite numbers/],
    [{ arch: 'small-cnn' }, { ...mnist, norm: { mean: [0.5], std: [0] } }, /norm.std must be 1 positive numbers/],
  ];
  for (const [spec, opts, re] of cases) {
    const before = tf.memory().numTensors;
    assert.throws(() => createModel(spec as ModelSpec, opts as typeof mnist), re, JSON.stringify(spec));
    assert.equal(tf.memory().numTensors, before, `${JSON.stringify(spec)}: tensors made before the error`);
  }
  // What fits still builds: vgg on 32x32 (and on non-square 32x64 inputs), any size for the strided-conv families.
  for (const [spec, shape] of [[{ arch: 'vgg11', widthScale: 1 / 64 }, [32, 64, 1]], [{ arch: 'small-cnn', width: 2, hidden: 4 }, [9, 7, 1]],
    [{ arch: 'preact-resnet18', width: 1 }, [5, 5, 1]], [{ arch: 'lenet' }, [28, 28, 1]]] as [ModelSpec, [number, number, number]][]) {
    const m = createModel(spec, { inputShape: shape, numClasses: 3, seed: 1 });
    const out = m.logits(tf.zeros([2, ...shape]) as tf.Tensor4D);
    assert.deepEqual(out.shape, [2, 3], spec.arch);
    tf.dispose([out]);
    m.dispose();
  }
});
