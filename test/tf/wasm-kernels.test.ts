import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers';

async function filterGrad(backend: 'cpu' | 'wasm', xShape: [number, number, number, number], wShape: [number, number, number, number], stride: number, pad: 'same' | 'valid') {
  await useBackend(backend);
  const x = tf.randomUniform(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(wShape, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const r = tf.randomNormal([1], 0, 1, 'float32', 3);
  const g = tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, stride, pad).mul(tf.conv2d(x, w, stride, pad).add(r)).sum())(w);
  const out = await g.data();
  tf.dispose([x, w, r, g]);
  return out;
}

for (const [xs, ws, s, p] of [
  [[4, 28, 28, 1], [5, 5, 1, 16], 2, 'same'],
  [[3, 14, 14, 16], [5, 5, 16, 32], 2, 'same'],
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'valid'],
  [[2, 8, 8, 3], [3, 3, 3, 4], 2, 'valid'],
] as const) {
  test(`wasm Conv2DBackpropFilter matches cpu: x ${xs} w ${ws} stride ${s} ${p}`, async () => {
    const ref = await filterGrad('cpu', [xs[0], xs[1], xs[2], xs[3]], [ws[0], ws[1], ws[2], ws[3]], s, p);
    const got = await filterGrad('wasm', [xs[0], xs[1], xs[2], xs[3]], [ws[0], ws[1], ws[2], ws[3]], s, p);
    let err = 0, mag = 0;
    for (let i = 0; i < ref.length; i++) { err = Math.max(err, Math.abs(ref[i] - got[i])); mag = Math.max(mag, Math.abs(ref[i])); }
    assert.ok(err / mag < 1e-4, `relative error ${err / mag}`);
  });
}

test('wasm Conv2DBackpropFilter leaks no tensors inside tf.grad', async () => {
  await useBackend('wasm');
  const x = tf.randomUniform([2, 10, 10, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const step = () => tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, 2, 'same').square().sum())(w).dispose();
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before);
});

/** Max |a - b| / max |a|, after running `f` on cpu and on wasm with the same seeded inputs. */
async function cpuVsWasm(f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const run = async (backend: 'cpu' | 'wasm') => {
    await useBackend(backend);
    const out = tf.tidy(() => { const r = f(); return Array.isArray(r) ? r : [r]; });
    const data = await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return data;
  };
  const ref = await run('cpu'), got = await run('wasm');
  let err = 0, mag = 0;
  ref.forEach((r, k) => {
    assert.equal(got[k].length, r.length);
    for (let i = 0; i < r.length; i++) { err = Math.max(err, Math.abs(r[i] - got[k][i])); mag = Math.max(mag, Math.abs(r[i])); }
  });
  assert.ok(mag > 0, 'reference is all zeros: the comparison would prove nothing');
  return err / mag;
}

type Shape4 = [number, number, number, number];
const convCases: { x: Shape4; w: Shape4; s: number | [number, number]; p: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] }[] = [
  { x: [3, 28, 28, 1], w: [5, 5, 1, 16], s: 2, p: 'same' },
  { x: [2, 14, 14, 16], w: [5, 5, 16, 32], s: 2, p: 'same' },
  { x: [2, 9, 11, 3], w: [3, 3, 3, 4], s: 1, p: 'same' },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], s: 2, p: 'same' },
  { x: [2, 10, 9, 3], w: [4, 3, 3, 2], s: [2, 3], p: 'valid' },
  { x: [2, 8, 8, 3], w: [1, 1, 3, 4], s: 2, p: 'valid' },
  { x: [1, 7, 8, 2], w: [3, 2, 2, 3], s: 3, p: 'same' },
  { x: [2, 6, 7, 2], w: [3, 3, 2, 3], s: 2, p: [[0, 0], [2, 0], [1, 2], [0, 0]] },
];

for (const c of convCases) {
  const label = `x ${c.x} w ${c.w} stride ${c.s} pad ${JSON.stringify(c.p)}`;
  const inputs = () => ({
    x: tf.randomUniform(c.x, 0, 1, 'float32', 1) as tf.Tensor4D,
    w: tf.randomNormal(c.w, 0, 0.3, 'float32', 2) as tf.Tensor4D,
  });
  const dyFor = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.randomNormal(tf.conv2d(x, w, c.s, c.p).shape, 0, 1, 'float32', 3) as tf.Tensor4D;
  test(`wasm Conv2DBackpropInput matches cpu: ${label}`, async () => {
    const rel = await cpuVsWasm(() => {
      const { x, w } = inputs();
      const dy = dyFor(x, w);
      return tf.conv2dTranspose(dy, w, c.x, c.s, c.p);
    });
    assert.ok(rel < 1e-5, `relative error ${rel}`);
  });
  test(`wasm Conv2DBackpropFilter matches cpu: ${label}`, async () => {
    const rel = await cpuVsWasm(() => {
      const { x, w } = inputs();
      const dy = dyFor(x, w);
      return tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, c.s, c.p), dy)))(w);
    });
    assert.ok(rel < 1e-5, `relative error ${rel}`);
  });
}

test('wasm conv gradients match cpu at second order (weight gradient of an input-gradient penalty)', async () => {
  const rel = await cpuVsWasm(() => {
    const x = tf.randomUniform([3, 12, 12, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w1 = tf.randomNormal([3, 3, 2, 4], 0, 0.5, 'float32', 2) as tf.Tensor4D;
    const w2 = tf.randomNormal([3, 3, 4, 3], 0, 0.5, 'float32', 3) as tf.Tensor4D;
    // softplus keeps the second derivative non-zero, so the input-gradient path through both conv kernels matters.
    const f = (xx: tf.Tensor4D, a: tf.Tensor4D, b: tf.Tensor4D) =>
      tf.sum(tf.square(tf.conv2d(tf.softplus(tf.conv2d(xx, a, 2, 'same')) as tf.Tensor4D, b, 2, 'same')));
    const penalty = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((xx: tf.Tensor) => f(xx as tf.Tensor4D, a as tf.Tensor4D, b as tf.Tensor4D))(x)));
    return tf.grads(penalty)([w1, w2]);
  });
  assert.ok(rel < 1e-4, `relative error ${rel}`);
});

for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  test(`wasm BatchMatMul matches cpu: transposeA ${ta} transposeB ${tb}, 2-D and batched with broadcast`, async () => {
    const rel = await cpuVsWasm(() => {
      const a = tf.randomNormal(ta ? [7, 5] : [5, 7], 0, 1, 'float32', 1);
      const b = tf.randomNormal(tb ? [3, 7] : [7, 3], 0, 1, 'float32', 2);
      const a3 = tf.randomNormal(ta ? [4, 7, 5] : [4, 5, 7], 0, 1, 'float32', 3);
      const b3 = tf.randomNormal(tb ? [1, 3, 7] : [1, 7, 3], 0, 1, 'float32', 4);
      return [tf.matMul(a, b, ta, tb), tf.matMul(a3, b3, ta, tb)];
    });
    assert.ok(rel < 1e-5, `relative error ${rel}`);
  });
}

test('wasm conv and matMul gradient kernels leak no tensors at first and second order', async () => {
  await useBackend('wasm');
  const x = tf.randomUniform([2, 9, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 0.3, 'float32', 2) as tf.Tensor4D;
  const v = tf.randomNormal([100, 5], 0, 0.3, 'float32', 3) as tf.Tensor2D;
  const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) =>
    tf.sum(tf.softplus(tf.matMul(tf.reshape(tf.conv2d(xx, ww, 2, 'same'), [2, 100]) as tf.Tensor2D, v)));
  const step = () => {
    const [gw] = tf.grads((ww: tf.Tensor) => tf.sum(tf.square(tf.grad((xx: tf.Tensor) => f(xx as tf.Tensor4D, ww as tf.Tensor4D))(x))))([w]);
    gw.dispose();
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w, v]);
});
