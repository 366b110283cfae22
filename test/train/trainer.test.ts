import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel, type ModelSpec } from '../../lib/models';
import { createOptimizer, crossEntropyTerm, fgsmAT, flowAT, pgdAT, trades, train, trainStep, NonFiniteLossError, learningRate } from '../../lib/train';
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
  const d = make(99); // different init: the cache must overwrite it
  const rd = await train(d, data, cfg, { terms: terms(), modelKey: spec, quiet: true });
  assert.ok(rd.fromCache && Date.now() - t0 < 2000);
  assert.deepEqual(await weights(d), await weights(a));
  assert.deepEqual(rd.history.map((h) => h.testAcc), ra.history.map((h) => h.testAcc));
  // Interrupted after epoch 1 (a 1-epoch checkpoint under the 2-epoch key), then resumed.
  const ckpt = rc.checkpoint;
  const e = make();
  const cfg3 = { ...cfg, epochs: 3 };
  const full = make();
  await train(full, data, cfg3, { terms: terms(), modelKey: spec, cache: false, quiet: true });
  let stop = false;
  await train(e, data, cfg3, { terms: terms(), modelKey: spec, quiet: true, onEpoch: (r) => { if (r.epoch === 2) stop = true; if (stop) throw new Error('interrupted'); } }).catch(() => undefined);
  const resumed = make(7);
  const rr = await train(resumed, data, cfg3, { terms: terms(), modelKey: spec, quiet: true });
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
  const r2 = await train(make(), data, cfg1, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true });
  assert.equal(r2.fromCache, false);
  assert.ok(fs.readdirSync(path.dirname(r.checkpoint)).some((f) => f.includes('.corrupt-')));
});

test('NaN stops training naming epoch, batch and term; invalid configs fail before training', async () => {
  await useBackend('wasm');
  let calls = 0;
  const bad: LossTerm = { name: 'exploding', weight: 1, value: (m, x, y) => { calls++; return tf.tidy(() => (calls >= 3 ? tf.scalar(NaN) : tf.mean(m.logits(x)).mul(0))); } };
  await assert.rejects(train(make(), data, cfg, { terms: [crossEntropyTerm(), bad], modelKey: spec, cache: false, quiet: true }),
    (e: Error) => e instanceof NonFiniteLossError && /"exploding" is NaN at epoch 1, batch 3/.test(e.message));
  await assert.rejects(train(make(), data, { ...cfg, batchSize: 1000 }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }), /"batchSize" 1000 is larger than the 256 training examples/);
  await assert.rejects(train(make(), data, { ...cfg, optimizer: { kind: 'adam', lr: -1 } }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true }), /"optimizer.lr" must be positive/);
  await assert.rejects(train(make(), data, cfg, { terms: [{ ...crossEntropyTerm(), weight: -1 }], modelKey: spec, quiet: true }), /weight must be >= 0/);
  assert.throws(() => createOptimizer({ kind: 'rmsprop' } as never, []), /unknown optimizer "rmsprop"/);
  assert.throws(() => pgdAT({ eps: -0.1, steps: 3 }), /eps must be >= 0/);
  assert.equal(learningRate(0.1, { kind: 'step', milestones: [40, 60], gamma: 0.1 }, 50, 80).toFixed(4), '0.0100');
  assert.equal(learningRate(0.1, { kind: 'cosine' }, 80, 80), 0);
});

test('adversarial-training terms train without NaN and their adversarial batches stay in budget', async () => {
  await useBackend('wasm');
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
});
