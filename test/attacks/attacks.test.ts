import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../lib/types';
import { apgd, apgdCheckpoints, attack, fgsm, flowPgd, mifgsm, pgd, square } from '../../lib/attacks';
import { evaluateRobustness, worstCase, worstCaseByEps, sanityChecks } from '../../lib/eval';
import { loadMnist } from '../../lib/data';
import { createModel } from '../../lib/models';
import { crossEntropyTerm, train } from '../../lib/train';
import { useBackend } from '../helpers';

/** logits = flatten(x) W + b: FGSM on it has a closed form. */
function linearModel(w: number[][], b: number[]): Model {
  const W = tf.variable(tf.tensor2d(w));
  const B = tf.variable(tf.tensor1d(b));
  const d = w.length;
  return {
    name: 'linear', inputShape: [1, d, 1], numClasses: b.length, mode: 'eval', variables: [W, B], state: [],
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]) as tf.Tensor2D, W as tf.Tensor2D), B) as tf.Tensor2D),
    paramCount: () => d * b.length + b.length, dispose: () => tf.dispose([W, B]),
  };
}

async function linf(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('FGSM on a linear model is exact: x + eps sign(w_other - w_true), clipped', async () => {
  await useBackend('cpu');
  const m = linearModel([[1, -1], [-2, 2], [0.5, 0.5]], [0, 0]);
  const x = tf.tensor4d([[[[0.5], [0.5], [0.95]]]]);
  const y = tf.tensor1d([0], 'int32');
  const xa = fgsm({ eps: 0.1 }).run(m, x, y);
  // dCE/dx = (p - onehot) W^T: for class 0, sign = sign(W[:,1] - W[:,0]) = [-, +, 0]
  assert.deepEqual(Array.from(await xa.data()).map((v) => +v.toFixed(5)), [0.4, 0.6, 0.95]);
});

test('every attack stays inside its budget and [0,1] (cpu and wasm)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const m = createModel({ arch: 'small-cnn', width: 4, hidden: 16 }, { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const x = tf.randomUniform([6, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    for (const a of [fgsm({ eps: 0.1 }), pgd({ eps: 0.1, steps: 5, restarts: 2 }), mifgsm({ eps: 0.1, steps: 5 }), apgd({ eps: 0.1, steps: 10, loss: 'dlr' }),
      square({ eps: 0.1, queries: 20 })]) {
      a.run(m, x, y, { seed: 1 }).dispose(); // first calls may allocate backend constants
      const before = tf.memory().numTensors;
      const xa = a.run(m, x, y, { seed: 1 });
      assert.ok(await linf(xa, x) <= 0.1 + 1e-6, `${a.name} (${backend}) exceeds eps`);
      const [lo, hi] = tf.tidy(() => [xa.min().dataSync()[0], xa.max().dataSync()[0]]);
      assert.ok(lo >= 0 && hi <= 1, `${a.name} leaves [0,1]`);
      xa.dispose();
      assert.equal(tf.memory().numTensors, before, `${a.name} leaks tensors`);
    }
    const l2 = pgd({ norm: 'l2', eps: 0.5, steps: 5 }).run(m, x, y, { seed: 2 });
    const norms = await tf.sqrt(tf.sum(tf.square(tf.sub(l2, x)), [1, 2, 3])).data();
    assert.ok(Math.max(...norms) <= 0.5 + 1e-4);
    const fp = flowPgd({ eps: 0, steps: 3 }).run(m, x, y);
    assert.equal(await linf(fp, x), 0, 'flow PGD with eps 0 must be the identity');
    m.dispose();
  }
});

test('attack configs are validated with clear messages', () => {
  assert.throws(() => pgd({ eps: -0.1, steps: 10 }), /eps must be a finite number >= 0, got -0.1/);
  assert.throws(() => pgd({ eps: 0.1, steps: 0 }), /steps must be a positive integer/);
  assert.throws(() => pgd({ eps: 0.1, steps: 3, norm: 'l3' as never }), /unknown norm "l3"; use one of "linf", "l2"/);
  assert.throws(() => attack('deepfool' as never, {} as never), /unknown attack "deepfool": use one of fgsm, pgd/);
  assert.deepEqual(apgdCheckpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
});

test('worst case is per example over attacks, not the best single attack', () => {
  const clean = Uint8Array.from([1, 1, 1, 1, 0]);
  const a = { attack: 'a', norm: 'linf' as const, eps: 0.1, acc: 0.6, correct: Uint8Array.from([1, 1, 0, 1, 0]), seconds: 0 };
  const b = { attack: 'b', norm: 'linf' as const, eps: 0.1, acc: 0.6, correct: Uint8Array.from([0, 1, 1, 1, 0]), seconds: 0 };
  assert.equal(worstCase([a, b], clean).acc, 0.4);
  const c = { ...a, attack: 'c', eps: 0.3, acc: 0.2, correct: Uint8Array.from([0, 1, 0, 0, 0]) };
  assert.deepEqual(worstCaseByEps({ n: 5, clean: 0.8, cleanCorrect: clean, attacks: [a, b, c], seconds: 0 }).map((p) => [p.eps, p.acc]), [[0.1, 0.4], [0.3, 0.2]]);
});

test('a standard MNIST conv net: PGD-40 at eps 0.3 drives it below 5%; stronger settings never do worse; sanity checks pass', async () => {
  await useBackend('wasm');
  const data = loadMnist().take(4000, { seed: 1, nTest: 200 });
  const spec = { arch: 'small-cnn' as const };
  const model = createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await train(model, data, { epochs: 2, batchSize: 64, optimizer: { kind: 'adam', lr: 2e-3 }, seed: 1 }, { terms: [crossEntropyTerm()], modelKey: spec, cache: false, quiet: true });
  const rep = evaluateRobustness(model, data, [
    fgsm({ eps: 0.1 }), pgd({ eps: 0.1, steps: 10 }), pgd({ eps: 0.1, steps: 40, restarts: 2 }),
    fgsm({ eps: 0.3 }), pgd({ eps: 0.3, steps: 40 }), square({ eps: 0.3, queries: 100 }),
  ], { n: 200, quiet: true });
  const acc = (i: number) => rep.attacks[i].acc;
  assert.ok(rep.clean > 0.9, `clean accuracy ${rep.clean}`);
  assert.ok(acc(4) < 0.05, `PGD-40 at eps 0.3 leaves ${acc(4)}`);
  assert.ok(acc(2) <= acc(1), `PGD-40x2 (${acc(2)}) must not beat PGD-10 (${acc(1)})`);
  assert.ok(acc(1) <= acc(0), `PGD-10 (${acc(1)}) must not be weaker than FGSM (${acc(0)})`);
  const checks = sanityChecks(rep);
  assert.ok(checks.length >= 4 && checks.every((c) => c.passed), JSON.stringify(checks));
  const fp = flowPgd({ eps: 0.05, steps: 10 });
  const r2 = evaluateRobustness(model, data, [fp], { n: 100, quiet: true });
  assert.ok(r2.attacks[0].acc < r2.clean, 'flow PGD at eps 0.05 (0.7 px) must lower accuracy');
  model.dispose();
});

test('attack losses (ce, dlr, cw): input gradients match finite differences (cpu and wasm)', async () => {
  const { gradCheck } = await import('../../lib/tf/gradcheck');
  const { attackLoss } = await import('../../lib/attacks');
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const m = createModel({ arch: 'mlp', hidden: [8], activation: 'sigmoid' }, { inputShape: [3, 3, 1], numClasses: 4, seed: 2 });
    m.mode = 'eval';
    const x = tf.randomUniform([3, 3, 3, 1], 0, 1, 'float32', 5);
    const y = tf.tensor1d([0, 1, 3], 'int32');
    for (const loss of ['ce', 'dlr', 'cw'] as const) {
      const r = await gradCheck((xx) => tf.sum(attackLoss(m.logits(xx as tf.Tensor4D), y, loss)) as tf.Scalar, [x], { h: 1e-2, samples: 12 });
      assert.ok(r.maxAbsGrad > 1e-4 && r.relError < 1e-2, `${loss} (${backend}): ${JSON.stringify(r)}`);
    }
    m.dispose();
  }
});

test('a pixel budget above 1 warns once per attack construction (eps 8 meant 8/255), flow budgets and eps <= 1 do not', () => {
  const seen: string[] = [];
  const orig = console.warn;
  console.warn = (...args: unknown[]) => { seen.push(args.map(String).join(' ')); };
  try {
    fgsm({ eps: 8 });
    assert.equal(seen.length, 1);
    assert.match(seen[0], /fgsm: eps 8 on \[0,1\] pixels \(linf\): did you mean 8\/255 = 0.03137\?/);
    pgd({ eps: 8, steps: 3 });
    pgd({ norm: 'l2', eps: 2, steps: 3 });
    apgd({ eps: 16 });
    square({ eps: 4 });
    assert.equal(seen.length, 4, seen.join('\n'));
    assert.ok(!seen.some((m) => /\(l2\)/.test(m)), 'an L2 radius above 1 is legitimate: no warning');
    fgsm({ eps: 1 });
    pgd({ eps: 0.3, steps: 3 });
    flowPgd({ eps: 2, steps: 3 });
    assert.equal(seen.length, 4, 'no warning for eps <= 1 or a flow budget');
  } finally {
    console.warn = orig;
  }
});
