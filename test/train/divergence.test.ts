// Meaningless settings must not run to completion silently: divergence (exploding loss, frozen weights) stops training with
// a message naming the setting and is never cached as finished; a rising loss or a chance-level end is a recorded warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel, type ModelSpec } from '../../lib/models';
import { crossEntropy } from '../../lib/tf/safe-ops';
import {
  chanceThreshold, checkpointDir, crossEntropyTerm, DivergenceError, epochDivergence, loadCheckpoint, train, trainingChecks, type EpochRecord,
} from '../../lib/train';
import { trainingCheckRows, trainMethods } from '../../lib/experiment/methods';
import { useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-diverge-'));
const spec: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16 };
const data = loadMnist().take(256, { seed: 2, nTest: 64 });
const cfg = { epochs: 2, batchSize: 64, optimizer: { kind: 'adam' as const, lr: 3e-3 }, seed: 3 };
const make = () => createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
const checkpoints = () => (fs.existsSync(checkpointDir()) ? fs.readdirSync(checkpointDir()).filter((f) => f.endsWith('.ckpt')) : []);

test('lr 1e6: training stops naming optimizer.lr, writes no checkpoint, and a rerun stops again (never returned as finished)', async () => {
  await useBackend('wasm');
  const live = tf.memory().numTensors;
  const run = async () => {
    const m = make();
    try { return await train(m, data, { ...cfg, optimizer: { kind: 'adam', lr: 1e6 } }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }); } finally { m.dispose(); }
  };
  let err: unknown;
  await run().catch((e) => { err = e; });
  assert.ok(err instanceof DivergenceError, `expected a DivergenceError, got ${String(err)}`);
  assert.match((err as Error).message, /training small-cnn-4 diverged in epoch 1: mean total loss [\d.]+e\+\d+ is above 1\.00e\+6\. .*lower optimizer\.lr \(now 1\.00e\+6\)/);
  assert.match((err as Error).message, /No checkpoint was written\. This run is not a trained model and is never cached as finished/);
  assert.equal((err as DivergenceError).history.length, 1, 'the diverged epoch is on the error for inspection');
  assert.deepEqual(checkpoints(), []);
  await assert.rejects(run(), DivergenceError);
  // A long epoch is not run to its end: a mean above 1e6 over its first 20 steps stops it.
  const m = make();
  await assert.rejects(train(m, data, { ...cfg, batchSize: 4, optimizer: { kind: 'adam', lr: 1e6 } }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }),
    (e: Error) => e instanceof DivergenceError && /diverged in epoch 1: the mean total loss over its first 20 steps is [\d.]+e\+\d+, above 1\.00e\+6\. .*optimizer\.lr \(now 1\.00e\+6\)/.test(e.message));
  m.dispose();
  assert.equal(tf.memory().numTensors, live, 'a stopped run leaks tensors');
});

test('penalty weight 1e30 (Adam): a clear message naming the term and its weight; lr 1e-30 (SGD): frozen weights, naming the lr', async () => {
  await useBackend('wasm');
  const logitPenalty: LossTerm = { name: 'logit-penalty', weight: 1e30, config: {}, value: (m, x) => tf.mean(tf.square(m.logits(x))) as tf.Scalar };
  await assert.rejects(train(make(), data, cfg, { terms: [crossEntropyTerm(), logitPenalty], modelKey: spec, quiet: true }),
    (e: Error) => e instanceof DivergenceError && /loss was already [\d.]+e\+\d+ at the first step: the weight of "logit-penalty" \(weight 1\.00e\+30, weighted value [\d.]+e\+\d+\) is out of scale; lower it/.test(e.message));
  const m = make();
  const w0 = Array.from(await m.variables[0].data());
  let err: Error | undefined;
  await train(m, data, { ...cfg, optimizer: { kind: 'sgd', lr: 1e-30 } }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }).catch((e: Error) => { err = e; });
  assert.ok(err instanceof DivergenceError);
  assert.match(err.message, /diverged in epoch 1: the weights did not move \(relative change [\d.]+(e-\d+)? over the epoch, below 1e-7\)\. Raise optimizer\.lr \(now 1\.00e-30\)/);
  assert.deepEqual(Array.from(await m.variables[0].data()), w0);
  assert.deepEqual(checkpoints(), []);
  // The rule itself, on numbers: Adam with a huge weight names the weight; growth 1000x two epochs in a row is divergence.
  const base = { model: 'net', epoch: 3, initialLoss: 2.3, numClasses: 10, termValues: { ce: 1, pen: 1 }, optimizer: { kind: 'adam', lr: 1e-3 } };
  const terms = [crossEntropyTerm(), { ...logitPenalty, name: 'pen' }];
  assert.match(epochDivergence({ ...base, terms, loss: 5, weightChange: 0 })!, /With Adam, a gradient above ~1e19 overflows .* lower the weight of "pen" \(weight 1\.00e\+30\)/);
  const ok = { ...base, terms: [crossEntropyTerm()], weightChange: 1e-3 };
  assert.equal(epochDivergence({ ...ok, loss: 3000, previousLoss: 2 }), undefined, 'one epoch at 1000x is not yet divergence');
  assert.match(epochDivergence({ ...ok, loss: 3000, previousLoss: 2400 })!, /above 1000x max\(first-step loss, ln 10\) = 2303 two epochs in a row/);
  assert.equal(epochDivergence({ ...ok, loss: 2.0, previousLoss: 2.1 }), undefined);
  assert.match(epochDivergence({ ...ok, loss: 2e6 })!, /above 1\.00e\+6/);
  m.dispose();
});

test('end-of-run checks: rising loss and chance accuracy are flagged with the setting to change; thresholds', () => {
  const h = (loss: number[], acc: [number, number] = [0.8, 0.8]) => loss.map((l, i) => ({ epoch: i + 1, loss: l, trainAcc: acc[0], testAcc: acc[1] }));
  // Notebook 02's FGR lambda 300 on quick: 1.87 -> 2.53 -> 3.39.
  const rising = trainingChecks(h([1.87, 2.53, 3.39]), 10);
  assert.deepEqual(rising.map((c) => [c.name, c.pass]), [['loss-not-rising', false], ['above-chance', true]]);
  assert.match(rising[0].detail, /total loss rose from 1\.870 \(epoch 1\) to 3\.390 \(epoch 3\).*lower the learning rate or the penalty weight/);
  assert.equal(trainingChecks(h([2.3, 1.0, 1.01]), 10)[0].pass, true, 'a small bump after a fall is not a rise');
  assert.equal(trainingChecks(h([2.3, 2.32]), 10)[0].pass, true, 'within the 1% tolerance');
  assert.equal(trainingChecks(h([2.3]), 10)[0].pass, true);
  const chance = trainingChecks(h([2.3, 2.2], [0.11, 0.4]), 10)[1];
  assert.equal(chance.pass, false);
  assert.match(chance.detail, /final accuracy \(train 11\.0%, test 40\.0%\) is near chance \(10\.0% for 10 classes; threshold 15\.0%\)/);
  assert.equal(trainingChecks(h([2.3, 2.2], [0.4, 0.15]), 10)[1].pass, false, 'held-out accuracy at chance counts too');
  assert.equal(trainingChecks(h([2.3, 2.2], [0.16, 0.16]), 10)[1].pass, true);
  assert.equal(chanceThreshold(2), 0.55);
  assert.ok(Math.abs(chanceThreshold(100) - 0.015) < 1e-12);
  assert.throws(() => trainingChecks([], 10), /history is empty/);
});

test('a rising loss is a warning on the result and in the checkpoint (re-reported on a cache hit); a chance-level run is not cached as done', async () => {
  await useBackend('wasm');
  // A term whose value rises by 1 per epoch on top of the cross-entropy: accuracy fine, total loss rising.
  const drifting: LossTerm = { name: 'drift', weight: 1, value: (m, x, y, ctx) => tf.add(crossEntropy(m.logits(x), y), ctx.epoch) as tf.Scalar };
  const r = await train(make(), data, cfg, { terms: [drifting], modelKey: spec, quiet: true });
  assert.deepEqual(r.checks.map((c) => [c.name, c.pass]), [['loss-not-rising', false], ['above-chance', true]]);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /^small-cnn-4: total loss rose from/);
  assert.ok(r.history.every((e: EpochRecord) => e.weightChange > 1e-4), 'weightChange is recorded per epoch');
  assert.equal(loadCheckpoint(r.checkpoint).header.done, true, 'a warning does not stop caching');
  const logged: string[] = [];
  const hit = await train(make(), data, cfg, { terms: [drifting], modelKey: spec, log: (s) => logged.push(s) });
  assert.equal(hit.fromCache, true);
  assert.deepEqual(hit.warnings, r.warnings);
  assert.match(logged.join('\n'), /warning: small-cnn-4: total loss rose/);

  // Trained on shifted labels: accuracy on the true labels ends below chance. A warning, and the last epoch is not saved.
  const wrong: LossTerm = { name: 'wrong-labels', weight: 1, value: (m, x, y) => crossEntropy(m.logits(x), tf.mod(tf.add(y, 1), 10) as tf.Tensor1D) };
  const c1 = await train(make(), data, cfg, { terms: [wrong], modelKey: spec, quiet: true });
  assert.deepEqual(c1.checks.map((c) => [c.name, c.pass]), [['loss-not-rising', true], ['above-chance', false]]);
  assert.match(c1.warnings.join('\n'), /near chance .*\n.*not cached as a finished model \(accuracy at chance\); the epoch-1 checkpoint is kept and a rerun retrains the last epoch from it/);
  assert.equal(loadCheckpoint(c1.checkpoint).header.done, false);
  assert.equal(loadCheckpoint(c1.checkpoint).header.epoch, 1);
  const epochs: number[] = [];
  const c2 = await train(make(), data, cfg, { terms: [wrong], modelKey: spec, quiet: true, onEpoch: (e) => epochs.push(e.epoch) });
  assert.equal(c2.fromCache, false);
  assert.deepEqual(epochs, [2], 'resumed from epoch 1, never returned as finished');
  assert.deepEqual(c2.history.map((e) => e.testAcc), c1.history.map((e) => e.testAcc));

  // trainMethods carries the warnings onto each TrainedModel, and the check rows make a table.
  const trained = await trainMethods([{ id: 'drift', label: 'Drift', terms: () => [drifting] }], { data, model: spec, train: { ...cfg }, seeds: [3], log: () => {} });
  assert.deepEqual(trained[0].warnings, trained[0].result.warnings);
  assert.match(trained[0].warnings.join('\n'), /^small-cnn-4: total loss rose from/);
  assert.deepEqual(trainingCheckRows(trained).map((row) => [row.method, row.check, row.result]), [['Drift', 'loss-not-rising', 'FAIL'], ['Drift', 'above-chance', 'pass']]);
  trained[0].model.dispose();
});
