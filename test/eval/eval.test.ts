import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../../lib/types';
import { fgsm, pgd } from '../../lib/attacks';
import {
  convergenceCheck, evaluateRobustness, evaluateRobustnessAsync, gradientCheck, randomTargets, resultCard, robustAccuracyCurve, sanityChecks, saveResultCard,
  type AttackResult, type RobustnessReport,
} from '../../lib/eval';
import { TEST_BACKENDS, useBackend, captureWarnings } from '../helpers';

const SHAPE: [number, number, number] = [2, 3, 1];
const D = 6;

/** logits = flatten(pre(x)) W + b, W seeded: FGSM on it is exact, so robust accuracy can be computed by hand. */
function linearModel(name: string, seed: number, pre?: (x: tf.Tensor4D) => tf.Tensor4D): Model {
  const Wt = tf.variable(tf.randomNormal([D, 3], 0, 1, 'float32', seed));
  const B = tf.variable(tf.randomNormal([3], 0, 0.1, 'float32', seed + 1));
  return {
    name, inputShape: SHAPE, numClasses: 3, mode: 'eval', variables: [Wt, B], state: [],
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(pre ? pre(x) : x, [x.shape[0], D]) as tf.Tensor2D, Wt as tf.Tensor2D), B) as tf.Tensor2D),
    paramCount: () => D * 3 + 3, dispose: () => tf.dispose([Wt, B]),
  };
}

/** Labels = the model's own predictions (clean accuracy 1), except where `flip` says, so clean errors are known. */
function labelled(model: Model, n: number, seed: number, flip: number[] = []): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = tf.randomUniform([n, ...SHAPE], 0, 1, 'float32', seed) as tf.Tensor4D;
  const pred = Int32Array.from(tf.tidy(() => tf.argMax(model.logits(x), 1).dataSync()));
  for (const i of flip) pred[i] = (pred[i] + 1) % 3;
  return { x, y: tf.tensor1d(pred, 'int32') };
}

function report(attacks: Omit<AttackResult, 'correct' | 'seconds'>[], n = 100): RobustnessReport {
  const full = attacks.map((a) => ({ ...a, seconds: 0, correct: Uint8Array.from({ length: n }, (_, i) => (i < Math.round(a.acc * n) ? 1 : 0)) }));
  return { n, clean: 1, cleanCorrect: new Uint8Array(n).fill(1), attacks: full, seconds: 0 };
}


test('evaluateRobustness: per-example robust correctness matches FGSM done by hand, progress reaches the total (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const m = linearModel('lin', 3);
    const { x, y } = labelled(m, 23, 5, [4, 9]);
    const eps = 0.2;
    // By hand: x + eps sign(dCE/dx), dCE/dx = W (p - onehot(y)), clipped to [0,1].
    const expected = tf.tidy(() => {
      const g = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), m.logits(xx as tf.Tensor4D), undefined, undefined, tf.Reduction.SUM))(x);
      const xa = tf.clipByValue(tf.add(x, tf.mul(tf.sign(g), eps)), 0, 1) as tf.Tensor4D;
      const clean = tf.equal(tf.argMax(m.logits(x), 1), y);
      return Array.from(tf.logicalAnd(clean, tf.equal(tf.argMax(m.logits(xa), 1), y)).dataSync());
    });
    const calls: [number, number][] = [];
    const before = tf.memory().numTensors;
    const rep = evaluateRobustness(m, { x, y }, [fgsm({ eps }), fgsm({ eps: 0 })], { batchSize: 10, quiet: true, onProgress: (d, t) => calls.push([d, t]) });
    assert.equal(tf.memory().numTensors, before, `evaluateRobustness leaks tensors (${backend})`);
    assert.equal(rep.n, 23);
    assert.ok(Math.abs(rep.clean - 21 / 23) < 1e-12, `clean accuracy ${rep.clean}`);
    assert.deepEqual(Array.from(rep.attacks[0].correct), expected, backend);
    assert.equal(rep.attacks[1].acc, rep.clean, 'FGSM with eps 0 must leave accuracy at the clean value');
    assert.deepEqual(calls, Array.from({ length: 6 }, (_, i) => [i + 1, 6]), 'one progress call per (batch, attack)');
    tf.dispose([x, y]);
    m.dispose();
  }
});

test('targeted attacks get seeded random targets, never the label', async () => {
  await useBackend('cpu');
  const m = linearModel('lin', 1);
  const { x, y } = labelled(m, 40, 2);
  const seen: number[][] = [];
  const spy: Attack = {
    name: 'spy', threat: { norm: 'linf', eps: 0.1, targeted: true },
    run: (_m, xx, _y, opts) => { seen.push(Array.from(opts!.targets!.dataSync())); return xx.clone(); },
  };
  evaluateRobustness(m, { x, y }, [spy], { quiet: true, seed: 4 });
  const labels = Array.from(y.dataSync());
  assert.equal(seen.length, 1);
  assert.ok(seen[0].every((t, i) => t !== labels[i] && t >= 0 && t < 3), 'targets must differ from the labels');
  assert.ok(new Set(seen[0].map((t, i) => (t - labels[i] + 3) % 3)).size === 2, 'both other classes should occur as targets');
  evaluateRobustness(m, { x, y }, [spy], { quiet: true, seed: 4 });
  assert.deepEqual(seen[1], seen[0], 'same seed, same targets');
  assert.throws(() => randomTargets(y, 1, 0), /at least 2 classes/);
  tf.dispose([x, y]);
  m.dispose();
});

test('robustAccuracyCurve: PGD accuracy falls with eps from the clean value to 0, and the sanity checks agree', async () => {
  await useBackend('cpu');
  const m = linearModel('lin', 7);
  const { x, y } = labelled(m, 60, 8);
  assert.deepEqual(pgd({ eps: 0.1, steps: 8, restarts: 2 }).config, {
    norm: 'linf', eps: 0.1, steps: 8, alpha: 2.5 * 0.1 / 8, restarts: 2, randomStart: true, loss: 'ce', momentum: 0, targeted: false, bestIterate: true,
  });
  const curve = robustAccuracyCurve(m, { x, y }, (eps) => [fgsm({ eps }), pgd({ eps, steps: 20, restarts: 2 })], [0.3, 0, 0.05, 0.1, 1], { quiet: true, seed: 1 });
  assert.deepEqual(curve.eps, [0, 0.05, 0.1, 0.3, 1]);
  assert.equal(curve.acc[0], curve.clean);
  for (let i = 1; i < curve.acc.length; i++) assert.ok(curve.acc[i] <= curve.acc[i - 1], `not monotone: ${curve.acc}`);
  assert.equal(curve.acc[4], 0, 'eps 1 covers the whole input box: nothing stays robust');
  const checks = sanityChecks(curve.report);
  assert.ok(checks.length >= 6 && checks.every((c) => c.passed), JSON.stringify(checks));
  assert.throws(() => robustAccuracyCurve(m, { x, y }, () => fgsm({ eps: 0.1 }), [0.2]), /make\(0.2\) returned fgsm with threat.eps 0.1/);
  assert.throws(() => robustAccuracyCurve(m, { x, y }, (e) => fgsm({ eps: e }), []), /epsList must be a non-empty array/);
  assert.throws(() => robustAccuracyCurve(m, { x, y }, (e) => [fgsm({ eps: e }), pgd({ norm: 'l2', eps: e, steps: 1 })], [0.1]), /one threat model, got norms linf, l2/);
  tf.dispose([x, y]);
  m.dispose();
});

test('sanity checks pass on a sound report and flag each failure with a warning', () => {
  const sound = report([
    { attack: 'fgsm', norm: 'linf', eps: 0.1, acc: 0.5 }, { attack: 'pgd-linf', norm: 'linf', eps: 0.1, acc: 0.3 },
    { attack: 'fgsm', norm: 'linf', eps: 0.3, acc: 0.2 }, { attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0 },
    { attack: 'square', norm: 'linf', eps: 0.3, acc: 0.05 },
  ]);
  const ok = captureWarnings(() => sanityChecks(sound));
  assert.equal(ok.value.length, 5);
  assert.ok(ok.value.every((c) => c.passed), JSON.stringify(ok.value));
  assert.deepEqual(ok.warnings, []);
  const failing = (attacks: Parameters<typeof report>[0], pattern: RegExp) => {
    const r = captureWarnings(() => sanityChecks(report(attacks)));
    const bad = r.value.filter((c) => !c.passed);
    assert.equal(bad.length, 1, JSON.stringify(r.value));
    assert.match(bad[0].check, pattern);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /sanity check failed/);
  };
  failing([{ attack: 'fgsm', norm: 'linf', eps: 0.3, acc: 0.1 }, { attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0.2 }], /iterative beats single-step/);
  failing([{ attack: 'pgd-linf', norm: 'linf', eps: 0.1, acc: 0.2 }, { attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0.05 },
    { attack: 'pgd-linf', norm: 'linf', eps: 0.2, acc: 0.3 }], /monotonically/);
  failing([{ attack: 'pgd-linf', norm: 'linf', eps: 0.1, acc: 0.6 }, { attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0.4 }], /large eps reaches ~chance/);
  failing([{ attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0.3 }, { attack: 'square', norm: 'linf', eps: 0.3, acc: 0.1 }], /square does not beat white-box/);
  failing([{ attack: 'pgd-linf', norm: 'linf', eps: 0.3, acc: 0.3 }, { attack: 'transfer:pgd-linf@surrogate', norm: 'linf', eps: 0.3, acc: 0.1 }],
    /transfer:pgd-linf@surrogate does not beat white-box/);
});

test('gradientCheck passes on a linear model and flags masked (quantized) gradients', async () => {
  await useBackend('cpu');
  const m = linearModel('lin', 2);
  // Rounding the input to 8 bits: tfjs's Round has a zero gradient, the classic shattered-gradient defense.
  const q = linearModel('quantized', 2, (x) => tf.div(tf.round(tf.mul(x, 255)), 255) as tf.Tensor4D);
  const { x, y } = labelled(m, 8, 3);
  assert.equal(gradientCheck(m, x, y).passed, true);
  const r = captureWarnings(() => gradientCheck(q, x, y));
  assert.equal(r.value.passed, false);
  assert.match(r.value.detail, /non-zero 0%/);
  assert.equal(r.warnings.length, 1);
  tf.dispose([x, y]);
  m.dispose();
  q.dispose();
});

test('result card: JSON with the threat model, flow eps in pixels, unbounded eps as null, written atomically', async () => {
  await useBackend('cpu');
  const m = linearModel('lin', 5);
  const { x, y } = labelled(m, 10, 6, [1]);
  const identity = (name: string, threat: Attack['threat']): Attack => ({ name, threat, run: (_m, xx) => xx.clone() });
  const rep = evaluateRobustness(m, { x, y }, [fgsm({ eps: 0.3 }), identity('flow-pgd', { norm: 'flow', eps: 0.02 }), identity('cw-l2', { norm: 'l2', eps: Infinity })],
    { quiet: true, seed: 3 });
  const card = resultCard({ method: 'plain', dataset: 'synthetic', model: m, seed: 3, report: rep, sanity: sanityChecks(rep), reported: { clean: 0.9 } });
  assert.equal(card.cleanAcc, 0.9);
  assert.equal(card.nExamples, 10);
  assert.equal(card.backend, 'cpu');
  assert.equal(card.paramCount, 21);
  assert.equal(card.robustAcc[1].epsPixels, 0.02 * (3 - 1) / 2);
  assert.equal(card.robustAcc[0].epsPixels, undefined);
  assert.ok(card.worstCaseAll <= Math.min(...card.robustAcc.map((r) => r.acc)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-card-'));
  try {
    const file = saveResultCard(card, dir, 'lin-plain-seed3');
    assert.deepEqual(fs.readdirSync(dir), ['lin-plain-seed3.json'], 'no temporary file left behind');
    const back = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(back.robustAcc[2].eps, null, 'Infinity is not JSON: an unbounded budget is written as null');
    assert.deepEqual(back.robustAcc[0].config, { eps: 0.3, targeted: false }, 'attack settings are listed on the card');
    for (const k of ['method', 'dataset', 'architecture', 'threatModels', 'cleanAcc', 'robustAcc', 'worstCaseAll', 'nExamples', 'seed', 'backend', 'evalSeconds', 'sanity', 'reported']) {
      assert.ok(k in back, `card lacks ${k}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tf.dispose([x, y]);
  m.dispose();
});

test('convergence check: passes for converged PGD, flags an attack whose doubled steps do better', async () => {
  await useBackend('cpu');
  const m = linearModel('lin', 7);
  const { x, y } = labelled(m, 40, 8);
  const ok = convergenceCheck(m, { x, y }, (steps) => pgd({ eps: 0.1, steps }), 10, { quiet: true, seed: 2 });
  assert.equal(ok.passed, true, ok.detail);
  // Fixed small steps, no random start: 4 steps of 0.01 cannot reach what 8 steps reach.
  const r = captureWarnings(() => convergenceCheck(m, { x, y }, (steps) => pgd({ eps: 0.3, steps, alpha: 0.01, randomStart: false }), 4, { quiet: true }));
  assert.equal(r.value.passed, false, r.value.detail);
  assert.ok(r.value.accDoubled < r.value.acc);
  assert.equal(r.warnings.length, 1);
  assert.throws(() => convergenceCheck(m, { x, y }, (steps) => pgd({ eps: 0.1, steps }), 0), /steps must be a positive integer, got 0/);
  tf.dispose([x, y]);
  m.dispose();
});

test('evaluateRobustnessAsync gives the sync numbers, lets the event loop turn between units, restores the model mode', async () => {
  await useBackend('cpu');
  const m = linearModel('async', 41);
  const { x, y } = labelled(m, 40, 42, [3]);
  // A slow attack (about 1.2 s a unit) so the async version has a second to yield in.
  const slowPgd = pgd({ eps: 0.2, steps: 5, restarts: 1 });
  const slow: Attack = { ...slowPgd, run: (mm, xx, yy, o) => { const t = Date.now(); while (Date.now() - t < 1200) { /* busy */ } return slowPgd.run(mm, xx, yy, o); } };
  const attacks = [fgsm({ eps: 0.1 }), slow, pgd({ eps: 0.3, steps: 5 })];
  const sync = evaluateRobustness(m, { x, y }, attacks, { batchSize: 16, seed: 5, quiet: true });
  let turns = 0;
  const timer = setInterval(() => { turns++; }, 20);
  m.mode = 'train';
  const before = tf.memory().numTensors;
  const asyncR = await evaluateRobustnessAsync(m, { x, y }, attacks, { batchSize: 16, seed: 5, quiet: true });
  clearInterval(timer);
  assert.equal(m.mode, 'train');
  assert.equal(tf.memory().numTensors, before);
  assert.ok(turns >= 2, `the event loop turned ${turns} times`);
  assert.equal(asyncR.clean, sync.clean);
  assert.deepEqual(asyncR.attacks.map((a) => [a.attack, a.eps, a.acc, Array.from(a.correct)]), sync.attacks.map((a) => [a.attack, a.eps, a.acc, Array.from(a.correct)]));
  tf.dispose([x, y]);
  m.dispose();
});
