import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../lib/types';
import { fgsm, pgd } from '../../lib/attacks';
import { evaluateRobustness, sanityChecks, transferAttack, transferMatrix, transferTable } from '../../lib/eval';
import { createModel } from '../../lib/models';
import { TEST_BACKENDS, useBackend } from '../helpers';

const SHAPE = [4, 4, 1] as const;

/** Logits that ignore the input: attacks cannot change its predictions. */
function blindModel(): Model {
  const b = tf.variable(tf.tensor1d([0.3, -0.2, 0.1]));
  return {
    name: 'blind', inputShape: SHAPE, numClasses: 3, mode: 'eval', variables: [b], state: [],
    logits: (x) => tf.tidy(() => tf.add(tf.mul(tf.sum(x, [1, 2, 3], true).reshape([-1, 1]), 0), b) as tf.Tensor2D),
    paramCount: () => 3, dispose: () => b.dispose(),
  };
}

const mlp = (seed: number) => createModel({ arch: 'mlp', hidden: [8], activation: 'softplus' }, { inputShape: SHAPE, numClasses: 3, seed });

test('transfer matrix: diagonal = white-box evaluateRobustness, a weight copy transfers exactly, a blind target keeps its clean accuracy (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const a = mlp(1), copy = mlp(1), b = mlp(2), blind = blindModel();
    const x = tf.randomUniform([10, ...SHAPE], 0, 1, 'float32', 5) as tf.Tensor4D;
    // Labels: model a's predictions on half the examples, another class on the rest (so clean accuracy is not trivial).
    const pa = tf.tidy(() => tf.argMax(a.logits(x), 1).dataSync());
    const y = tf.tensor1d(Array.from(pa, (p, i) => (i % 2 ? p : (p + 1) % 3)), 'int32');
    const models = [{ name: 'a', model: a }, { name: 'copy', model: copy }, { name: 'b', model: b }, { name: 'blind', model: blind }];
    const attack = fgsm({ eps: 1 });
    const before = tf.memory().numTensors;
    const m = transferMatrix(models.slice(0, 3), models, attack, { x, y }, { batchSize: 4, seed: 3 });
    assert.equal(tf.memory().numTensors, before, `${backend}: transferMatrix leaks tensors`);
    assert.deepEqual(m.sources, ['a', 'copy', 'b']);
    assert.deepEqual(m.targets, ['a', 'copy', 'b', 'blind']);
    assert.equal(m.n, 10);
    for (const [si, s] of models.slice(0, 3).entries()) {
      const white = evaluateRobustness(s.model, { x, y }, [attack], { quiet: true, batchSize: 4 });
      assert.equal(m.acc[si][si], white.attacks[0].acc, `${backend}: diagonal ${s.name}`);
      assert.deepEqual(m.correct[si][si], white.attacks[0].correct);
      assert.equal(m.clean[si], white.clean);
    }
    // Identical weights: crafting on a or on its copy gives the same examples, so the same row and columns.
    assert.deepEqual(m.acc[0], m.acc[1]);
    assert.equal(m.acc[0][1], m.acc[0][0]);
    assert.ok(m.acc[0][0] < m.clean[0], `${backend}: FGSM at eps 1 must hurt the white-box model (${m.acc[0][0]} vs clean ${m.clean[0]})`);
    for (let si = 0; si < 3; si++) assert.equal(m.acc[si][3], m.clean[3], `${backend}: blind target must keep its clean accuracy`);
    // Worst transfer for target a: over copy and b, not over a itself.
    const w = m.correct[1][0].map((v, i) => v & m.correct[2][0][i]);
    assert.equal(m.worstTransfer[0], w.reduce((p, q) => p + q, 0) / 10);
    const rows = transferTable(m);
    assert.deepEqual(rows.map((r) => r['crafted on']), ['(clean)', 'a', 'copy', 'b', '(worst transfer)']);
    assert.equal(rows[3].blind, m.acc[2][3]);
    tf.dispose([x, y]);
    for (const s of models) s.model.dispose();
  }
});

test('transferAttack: crafted on the source, evaluated on the target; the sanity checks count it as black-box', async () => {
  await useBackend('cpu');
  const a = mlp(1), b = mlp(2);
  const x = tf.randomUniform([8, ...SHAPE], 0, 1, 'float32', 6) as tf.Tensor4D;
  const y = tf.tidy(() => tf.argMax(b.logits(x), 1).toInt()) as tf.Tensor1D;
  const t = transferAttack({ name: 'a', model: a }, fgsm({ eps: 0.3 }));
  assert.equal(t.name, 'transfer:fgsm@a');
  assert.deepEqual(t.threat, fgsm({ eps: 0.3 }).threat);
  const rep = evaluateRobustness(b, { x, y }, [fgsm({ eps: 0.3 }), pgd({ eps: 0.3, steps: 5 }), t], { quiet: true });
  const m = transferMatrix([{ name: 'a', model: a }], [{ name: 'b', model: b }], fgsm({ eps: 0.3 }), { x, y });
  assert.equal(rep.attacks[2].acc, m.acc[0][0]);
  const checks = sanityChecks(rep);
  assert.ok(checks.some((c) => c.check.startsWith('transfer:fgsm@a does not beat white-box')), JSON.stringify(checks));
  // makeAttack per source; seeds differ per source and batch but are reproducible.
  const make = () => pgd({ eps: 0.2, steps: 3 });
  const m1 = transferMatrix([{ name: 'a', model: a }, { name: 'b', model: b }], [{ name: 'b', model: b }], make, { x, y }, { seed: 9 });
  const m2 = transferMatrix([{ name: 'a', model: a }, { name: 'b', model: b }], [{ name: 'b', model: b }], make, { x, y }, { seed: 9 });
  assert.deepEqual(m1.correct, m2.correct);
  assert.equal(m1.worstTransfer[0], m1.acc[0][0], 'worst transfer for b excludes b itself');
  tf.dispose([x, y]);
  a.dispose(); b.dispose();
});

test('transferMatrix rejects bad input with a clear message', async () => {
  await useBackend('cpu');
  const a = mlp(1);
  const other = createModel({ arch: 'mlp', hidden: [4], activation: 'relu' }, { inputShape: [3, 3, 1], numClasses: 3, seed: 1 });
  const x = tf.zeros([2, ...SHAPE]) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1], 'int32');
  const atk = fgsm({ eps: 0.1 });
  assert.throws(() => transferMatrix([], [{ name: 'a', model: a }], atk, { x, y }), /sources must be a non-empty array/);
  assert.throws(() => transferMatrix([{ name: 'a', model: a }], [{ name: 'a', model: a }, { name: 'a', model: a }], atk, { x, y }), /two models named "a"/);
  assert.throws(() => transferMatrix([{ name: 'a', model: a }], [{ name: 'o', model: other }], atk, { x, y }), /same input shape; "o" takes \[3,3,1\]/);
  assert.throws(() => transferMatrix([{ name: 'a', model: a }], [{ name: 'a', model: a }], atk, { x, y }, { n: 0 }), /n must be a positive integer/);
  // Issue 16 item 2: the same input checks as evaluateRobustness, without leaking the batch.
  const one = [{ name: 'a', model: a }];
  const y1 = tf.tensor1d([0], 'int32');
  const yBig = tf.tensor1d([0, 7], 'int32');
  const xNaN = tf.fill([2, ...SHAPE], NaN) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  assert.throws(() => transferMatrix(one, one, atk, { x, y: y1 }), /transferMatrix: data.x has 2 examples but data.y has 1 labels/);
  assert.throws(() => transferMatrix(one, one, atk, { x, y: yBig }), /transferMatrix: label 1 is 7; labels must be integer class indices/);
  assert.throws(() => transferMatrix(one, one, atk, { x: xNaN, y }), /transferMatrix: data inputs are NaN or infinite/);
  assert.throws(() => transferMatrix(one, one, atk, { x, y }, { batchSize: 1.5 }), /transferMatrix: batchSize must be a positive integer, got 1.5/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y, y1, yBig, xNaN]);
  a.dispose(); other.dispose();
});
