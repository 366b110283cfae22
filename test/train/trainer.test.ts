import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel, type ModelSpec } from '../../lib/models';
import { createOptimizer, crossEntropyTerm, fgsmAT, flowAT, pgdAT, trades, train, trainKey, trainStep, NonFiniteLossError, learningRate, loadCheckpoint, saveCheckpoint } from '../../lib/train';
import { useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-train-'));
const spec: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16 };
const data = loadMnist().take(256, { seed: 2, nTest: 64 });
const cfg = { epochs: 2, batchSize: 64, optimizer: { kind: 'adam' as const, lr: 1e-3 }, seed: 3 };
const make = (seed = 1) => createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed });

async function weights(m: ReturnType<typeof make>): Promise<number[]> {
  return (await Promise.all(m.variables.map((v) => v.data()))).flatMap((d) => Array.from(d));
}

test('no tensor leak: the same number of tensors after 1 and after 50 steps, and across train() calls', async () => {
  await useBackend('wasm');
  const m = make();
  const opt = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }, m.variables);
  const b = data.batch('train', Int32Array.from({ length: 32 }, (_, i) => i));
  const terms = [crossEntropyTerm()];
  trainStep(m, b.x, b.y, terms, { epoch: 0, step: 0, seed: 1 }, opt, 0.01);
  const after1 = tf.memory().numTensors;
  for (let i = 1; i < 50; i++) trainStep(m, b.x, b.y, terms, { epoch: 0, step: i, seed: 1 }, opt, 0.01);
  assert.equal(tf.memory().numTensors, after1);
  await train(make(), data, { ...cfg, epochs: 1 }, { terms, modelKey: spec, cache: false, quiet: true });
  const before = tf.memory().numTensors;
  const m2 = make();
  await train(m2, data, { ...cfg, epochs: 1 }, { terms, modelKey: spec, cache: false, quiet: true });
  m2.dispose();
  assert.equal(tf.memory().numTensors, before, 'train() leaks tensors');
  opt.dispose();
  m.dispose();
  // Batch norm keeps the last batch moments between forward and commitStats: still flat, and the running stats move.
  const bn = createModel({ arch: 'vgg11', widthScale: 1 / 32 }, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const bnOpt = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, bn.variables);
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  trainStep(bn, x, y, terms, { epoch: 0, step: 0, seed: 1 }, bnOpt, 0.01);
  const bnAfter1 = tf.memory().numTensors;
  const stat0 = Array.from(await bn.state[0].data());
  for (let i = 1; i < 50; i++) trainStep(bn, x, y, terms, { epoch: 0, step: i, seed: 1 }, bnOpt, 0.01);
  assert.equal(tf.memory().numTensors, bnAfter1, 'batch-norm model leaks tensors');
  assert.notDeepEqual(Array.from(await bn.state[0].data()), stat0);
  tf.dispose([x, y]);
  bnOpt.dispose();
  bn.dispose();
});

test('reproducible: same config and seed give identical weights; cache hit is fast; resume equals an uninterrupted run', async () => {
  await useBackend('wasm');
  const terms = () => [crossEntropyTerm()];
  const a = make();
  const ra = await train(a, data, cfg, { terms: terms(), modelKey: spec, cache: false, quiet: true });
  const b = make();
  await train(b, data, cfg, { terms: terms(), modelKey: spec, cache: false, quiet: true });
  assert.deepEqual(await weights(a), await weights(b));
  // Cached run, then a cache hit.
  const c = make();
  const rc = await train(c, data, cfg, { terms: terms(), modelKey: spec, quiet: true });
  assert.equal(rc.fromCache, false);
  const t0 = Date.now();
  const d = make();
  const rd = await train(d, data, cfg, { terms: terms(), modelKey: spec, quiet: true });
  assert.ok(rd.fromCache && Date.now() - t0 < 2000);
  assert.equal(d.mode, 'eval', 'a loaded model is ready for evaluation');
  assert.deepEqual(await weights(d), await weights(a));
  assert.deepEqual(rd.history.map((h) => h.testAcc), ra.history.map((h) => h.testAcc));
  // Another initialization seed is another model: never handed the cached weights.
  const r99 = await train(make(99), data, { ...cfg, epochs: 1 }, { terms: terms(), modelKey: spec, cache: false, quiet: true });
  const keyOf = (m: ReturnType<typeof make>, c = cfg, t = terms()) => { const k = trainKey(m, data, c, { terms: t, modelKey: spec }); m.dispose(); return k; };
  assert.notEqual(keyOf(make(99)), rc.key);
  assert.equal(keyOf(make()), rc.key);
  // Each thing that changes the weights changes the key: learning rate, seed, data subset, a term's setting or weight.
  for (const [what, k] of [
    ['lr', keyOf(make(), { ...cfg, optimizer: { kind: 'adam', lr: 2e-3 } })], ['seed', keyOf(make(), { ...cfg, seed: 4 })],
    ['subset', trainKey(make(), data.take(128, { seed: 2, nTest: 64 }), cfg, { terms: terms(), modelKey: spec })],
    ['term weight', keyOf(make(), cfg, [crossEntropyTerm(0.5)])],
    ['term eps', keyOf(make(), cfg, [crossEntropyTerm(), fgsmAT({ eps: 0.2 })])], ['term eps 2', keyOf(make(), cfg, [crossEntropyTerm(), fgsmAT({ eps: 0.3 })])],
  ] as const) assert.notEqual(k, rc.key, what);
  assert.notEqual(keyOf(make(), cfg, [crossEntropyTerm(), fgsmAT({ eps: 0.2 })]), keyOf(make(), cfg, [crossEntropyTerm(), fgsmAT({ eps: 0.3 })]));
  assert.equal(r99.fromCache, false);
  // Interrupted after epoch 1 (a 1-epoch checkpoint under the 2-epoch key), then resumed.
  const ckpt = rc.checkpoint;
  const e = make();
  const cfg3 = { ...cfg, epochs: 3 };
  const full = make();
  await train(full, data, cfg3, { terms: terms(), modelKey: spec, cache: false, quiet: true });
  let stop = false;
  const live = tf.memory().numTensors;
  await assert.rejects(train(e, data, cfg3, { terms: terms(), modelKey: spec, quiet: true, onEpoch: (r) => { if (r.epoch === 2) stop = true; if (stop) throw new Error('interrupted'); } }), /interrupted/);
  assert.equal(tf.memory().numTensors, live, 'an interrupted run leaks tensors');
  const resumed = make(); // same initialization as the interrupted run: same key, so it resumes
  const trained: number[] = [];
  const rr = await train(resumed, data, cfg3, { terms: terms(), modelKey: spec, quiet: true, onEpoch: (r) => trained.push(r.epoch) });
  assert.deepEqual(trained, [2, 3], 'resumed after the last saved epoch (1), not retrained');
  assert.equal(rr.fromCache, false);
  assert.equal(rr.history.length, 3);
  assert.deepEqual(await weights(resumed), await weights(full));
  assert.ok(fs.existsSync(ckpt));
});

test('a corrupt checkpoint is detected, moved aside and retrained, never loaded', async () => {
  await useBackend('wasm');
  const cfg1 = { ...cfg, epochs: 1, seed: 11 };
  const r = await train(make(), data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true });
  const buf = fs.readFileSync(r.checkpoint);
  buf[buf.length - 5] ^= 0xff;
  fs.writeFileSync(r.checkpoint, buf);
  const fresh = make();
  const r2 = await train(fresh, data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true });
  assert.equal(r2.fromCache, false);
  const aside = () => fs.readdirSync(path.dirname(r.checkpoint)).filter((f) => f.startsWith(path.basename(r.checkpoint) + '.corrupt-'));
  assert.equal(aside().length, 1);
  // The retrained checkpoint is sound and loads; a truncated one (a copy cut short outside our atomic writes) retrains too.
  assert.equal((await train(make(), data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true })).fromCache, true);
  fs.truncateSync(r.checkpoint, fs.statSync(r.checkpoint).size - 100);
  assert.equal((await train(make(), data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true })).fromCache, false);
  assert.equal(aside().length, 2);
  // A sound file whose tensors do not fit the model (model code changed under the same key) is retrained, not loaded.
  const m = make();
  await saveCheckpoint(r.checkpoint, { key: r.key, epoch: 1, done: true, optimizerStep: 4, history: [], meta: {} },
    { variables: m.variables.slice(1), state: [], optimizer: [] });
  const logged: string[] = [];
  const r3 = await train(m, data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true, log: (s) => logged.push(s) });
  assert.equal(r3.fromCache, false);
  assert.match(logged.join('\n'), /warning: checkpoint .* does not fit small-cnn-4 \(variables: 7 tensors, expected 8.*moved aside to .*retraining from scratch/);
  assert.equal(aside().length, 3);
  assert.deepEqual(await weights(m), await weights(fresh), 'the retrained model equals a run that never saw the bad file');
  tf.dispose([fresh, m].flatMap((x) => x.variables));
});

test('NaN stops training naming epoch, batch and term; invalid configs fail before training', async () => {
  await useBackend('wasm');
  let calls = 0;
  const bad: LossTerm = { name: 'exploding', weight: 1, value: (m, x, y) => { calls++; return tf.tidy(() => (calls >= 3 ? tf.scalar(NaN) : tf.mean(m.logits(x)).mul(0))); } };
  await assert.rejects(train(make(), data, cfg, { terms: [crossEntropyTerm(), bad], modelKey: spec, cache: false, quiet: true }),
    (e: Error) => e instanceof NonFiniteLossError && /"exploding" is NaN at epoch 1, batch 3/.test(e.message));
  // With the cache on, a NaN in epoch 2 keeps the epoch-1 checkpoint, and the message says where it is.
  let calls2 = 0;
  const late: LossTerm = { name: 'late-nan', weight: 1, value: (m, x) => { calls2++; return tf.tidy(() => (calls2 === 6 ? tf.scalar(Infinity) : tf.mean(m.logits(x)).mul(0))); } };
  const live = tf.memory().numTensors;
  const m = make();
  let msg = '';
  await train(m, data, { ...cfg, seed: 21 }, { terms: [crossEntropyTerm(), late], modelKey: spec, quiet: true }).catch((e: Error) => { msg = e.message; });
  assert.match(msg, /"late-nan" is Infinity at epoch 2, batch 2\. The last good checkpoint \(epoch 1\) is kept at (.*\.ckpt)/);
  const kept = loadCheckpoint(/kept at (.*\.ckpt)/.exec(msg)![1]);
  assert.equal(kept.header.epoch, 1);
  assert.equal(kept.header.done, false);
  assert.equal(m.mode, 'eval');
  m.dispose();
  assert.equal(tf.memory().numTensors, live, 'a NaN stop leaks tensors');
  // A finite value with a NaN gradient (sqrt at 0) stops too, before the NaN reaches the weights.
  const kink: LossTerm = { name: 'sqrt-at-0', weight: 1, value: (m2) => tf.sum(tf.sqrt(tf.abs(tf.mul(m2.variables[0], 0)))) as tf.Scalar };
  const m3 = make();
  const w3 = await weights(m3);
  await assert.rejects(train(m3, data, cfg, { terms: [crossEntropyTerm(), kink], modelKey: spec, cache: false, quiet: true }),
    (e: Error) => e instanceof NonFiniteLossError && /gradient is not finite at epoch 1, batch 1 although every term is \(ce = [\d.]+, sqrt-at-0 = 0\.000\)/.test(e.message));
  assert.deepEqual(await weights(m3), w3, 'weights untouched');
  m3.dispose();
  await assert.rejects(train(make(), data, { ...cfg, batchSize: 1000 }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }), /"batchSize" 1000 is larger than the 256 training examples/);
  await assert.rejects(train(make(), data, { ...cfg, optimizer: { kind: 'adam', lr: -1 } }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }), /"optimizer.lr" must be positive/);
  await assert.rejects(train(make(), data, cfg, { terms: [{ ...crossEntropyTerm(), weight: -1 }], modelKey: spec, quiet: true }), /weight must be >= 0/);
  assert.throws(() => createOptimizer({ kind: 'rmsprop' } as never, []), /unknown optimizer "rmsprop"/);
  const rejected = async (change: Record<string, unknown>, re: RegExp) => {
    const m = make();
    await assert.rejects(train(m, data, { ...cfg, ...change } as never, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }), re);
    assert.equal(m.mode, 'train', 'rejected before training started');
    m.dispose();
  };
  await rejected({ optimizer: { kind: 'rmsprop', lr: 0.1 } }, /"optimizer.kind" must be "sgd" or "adam", got "rmsprop"/);
  await rejected({ optimizer: { kind: 'sgd', lr: 0.1, momentum: 1.5 } }, /"optimizer.momentum" must be in \[0, 1\), got 1.5/);
  await rejected({ optimizer: { kind: 'sgd', lr: 0.1, weightDecay: -5e-4 } }, /"optimizer.weightDecay" must be >= 0, got -0.0005/);
  await rejected({ epochs: 0 }, /"epochs" must be a positive integer, got 0/);
  await rejected({ epochs: 2.5 }, /"epochs" must be a positive integer, got 2.5/);
  await rejected({ schedule: { kind: 'step', milestones: [60, 40], gamma: 0.1 } }, /"schedule.milestones" must be increasing positive epochs, got \[60,40\]/);
  await rejected({ schedule: { kind: 'exp' } }, /"schedule.kind" must be "constant", "step" or "cosine", got "exp"/);
  await rejected({ augment: { crop: -4 } }, /"augment.crop" must be an integer padding in \[0, 28\), got -4/);
  await rejected({ seed: 1.5 }, /"seed" must be an integer, got 1.5/);
  assert.throws(() => trades({ beta: 6, eps: 0.1, steps: 0 }), /steps/);
  assert.throws(() => trades({ beta: -1, eps: 0.1, steps: 2 }), /beta must be >= 0, got -1/);
  assert.throws(() => fgsmAT({ eps: Number.NaN }), /eps must be >= 0/);
  assert.throws(() => flowAT({ eps: -0.01, steps: 2 }), /eps/);
  assert.throws(() => pgdAT({ eps: -0.1, steps: 3 }), /eps must be >= 0/);
  assert.equal(learningRate(0.1, { kind: 'step', milestones: [40, 60], gamma: 0.1 }, 50, 80).toFixed(4), '0.0100');
  assert.equal(learningRate(0.1, { kind: 'cosine' }, 80, 80), 0);
});

test('adversarial-training terms train without NaN and their adversarial batches stay in budget', async () => {
  await useBackend('wasm');
  const live = tf.memory().numTensors;
  for (const terms of [[crossEntropyTerm(0.5), fgsmAT({ eps: 0.1, weight: 0.5 })], [pgdAT({ eps: 0.1, steps: 2 })],
    [crossEntropyTerm(), trades({ beta: 6, eps: 0.1, steps: 2 })], [flowAT({ eps: 0.02, steps: 2 })]]) {
    const m = make();
    const r = await train(m, data.take(128, { seed: 1, nTest: 32 }), { ...cfg, epochs: 1, maxStepsPerEpoch: 2 }, { terms, modelKey: spec, cache: false, quiet: true });
    assert.ok(Number.isFinite(r.history[0].loss), terms.map((t) => t.name).join('+'));
    const at = terms[terms.length - 1];
    const b = data.batch('train', [0, 1, 2, 3]);
    m.mode = 'eval';
    const xa = at.prepare!(m, b.x, b.y, { epoch: 0, step: 0, seed: 1 });
    if (at.name !== 'flow-at') assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(xa, b.x))).dataSync()[0]) <= 0.1 + 1e-6);
    tf.dispose([xa, b.x, b.y]);
    m.dispose();
  }
  assert.equal(tf.memory().numTensors, live, 'adversarial-training terms leak tensors');
});

test('training lets the event loop turn about once a second (a notebook progress bar is sent only then)', async () => {
  await useBackend('cpu'); // slow enough that one epoch outlasts a second
  let turns = 0;
  const timer = setInterval(() => { turns++; }, 50);
  const t0 = Date.now();
  try {
    await train(make(), data, { ...cfg, epochs: 1, batchSize: 16 }, { terms: [crossEntropyTerm()], modelKey: spec, cache: false, quiet: true });
  } finally {
    clearInterval(timer);
  }
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds > 1.5, `the epoch took ${seconds.toFixed(1)} s: too fast to test`);
  // One turn per second of batches, less the batches that straddle a second and the epoch-end accuracy passes.
  assert.ok(turns >= Math.floor(seconds / 2), `the event loop turned ${turns} times in ${seconds.toFixed(1)} s of training`);
});
