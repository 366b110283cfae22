// Data-parallel steps (lib/train/data-parallel.ts): a batch split over 2 threads gives the unsplit step's values and weight
// gradients to float32 round-off, for every library loss term, and a few steps of training give the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel, type ModelSpec } from '../../lib/models';
import { crossEntropyTerm, fgsmAT, flowAT, pgdAT, trades, train } from '../../lib/train';
import {
  doubleBackprop, finiteDifferenceGradientPenalty, flowGradient, inputGradientPenalty, jacobianNorm, jsigr, sagr, saliencyConsensus, sigr,
} from '../../lib/regularizers';
import { TERM_FACTORIES } from '../../lib/jobs/term-factories';
import { termRecipe } from '../../lib/train/term-recipe';
import { termGradients } from '../../lib/train/term-gradients';
import { defaultThreads, liveShardWorkers, SHARD_EXACT, SHARD_REFUSED, ShardPool, shardPlan, splitRows } from '../../lib/train/data-parallel';
import { useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-dp-'));
// Smooth activation: second-order terms then have weight gradients everywhere (ReLU'' = 0 would hide half of them).
const spec: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16, activation: 'softplus' };
const data = loadMnist().take(256, { seed: 2, nTest: 64 });
const make = (seed = 1) => createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed });

/** One case per library factory (several where a form changes the code path); `tol` where round-off is amplified. */
function cases(): { label: string; terms: LossTerm[]; tol?: number }[] {
  return [
    { label: 'cross-entropy', terms: [crossEntropyTerm()] },
    { label: 'fgsm AT', terms: [fgsmAT({ eps: 0.1 })] },
    { label: 'TRADES (random start)', terms: [crossEntropyTerm(), trades({ beta: 1, eps: 0.1, steps: 2 })] },
    { label: 'flow AT', terms: [flowAT({ eps: 0.05, steps: 2 })] },
    { label: 'Lyu p=inf penalty', terms: [inputGradientPenalty({ p: 'inf', eps: 0.1 })] },
    { label: 'Lyu p=2 perturbation', terms: [inputGradientPenalty({ p: 2, eps: 0.5, form: 'perturbation' })] },
    { label: 'double backprop', terms: [crossEntropyTerm(), doubleBackprop({ weight: 10 })] },
    // Its weight gradient is a difference of two nearly equal loss gradients divided by h: round-off grows by ~1/h (measured
    // 2.4e-5 at h = 0.1, 1e-4 at h = 0.01, against 3e-7..7e-7 for the other terms); a wrong weighting of shards gives ~1e-1.
    { label: 'finite differences', terms: [finiteDifferenceGradientPenalty({ h: 0.1, weight: 10 })], tol: 1e-4 },
    // The logit Jacobian does not depend on the last bias: with CE every weight has a gradient (the trainer requires it).
    { label: 'Jacobian norm (random frames)', terms: [crossEntropyTerm(), jacobianNorm({ projections: 2 })] },
    { label: 'SIGR', terms: [sigr({ patch: 7 })] },
    { label: 'J-SIGR (random frames)', terms: [jsigr({ patch: 7, projections: 2 })] },
    { label: 'SAGR', terms: [crossEntropyTerm(), sagr({ negWeight: 0.5 })] },
    { label: 'saliency consensus', terms: [saliencyConsensus({ distance: 'l2' })] },
    { label: 'FGR closed form (random start)', terms: [crossEntropyTerm(), flowGradient({ lambda: 100 })] },
    { label: 'FGR warp form', terms: [flowGradient({ lambda: 100, form: 'warp', randomStartSigma: 0 })] },
  ];
}

const flat = async (ts: tf.Tensor[]) => (await Promise.all(ts.map((t) => t.data()))).flatMap((d) => Array.from(d));
/** max |a - b| / max |a|: the gap relative to the scale of the reference. */
function relGap(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  a.forEach((v, i) => { d = Math.max(d, Math.abs(v - b[i])); m = Math.max(m, Math.abs(v)); });
  return m === 0 ? d : d / m;
}

test('splitRows: shares as equal as possible, none below the minimum, one shard for a small batch', () => {
  assert.deepEqual(splitRows(9, 2, 1), [5, 4]);
  assert.deepEqual(splitRows(128, 2), [64, 64]);
  assert.deepEqual(splitRows(100, 3, 32), [34, 33, 33]);
  assert.deepEqual(splitRows(63, 2, 32), [63]);
  assert.deepEqual(splitRows(127, 2), [127]);
  assert.deepEqual(splitRows(5, 8, 1), [1, 1, 1, 1, 1]);
});

test('GRADREG_THREADS: a positive integer, else a clear error; default the number of cores', () => {
  const saved = process.env.GRADREG_THREADS;
  try {
    process.env.GRADREG_THREADS = '3';
    assert.equal(defaultThreads(), 3);
    process.env.GRADREG_THREADS = 'two';
    assert.throws(() => defaultThreads(), /GRADREG_THREADS must be a positive integer \(threads per training run\), got "two"/);
    delete process.env.GRADREG_THREADS;
    assert.equal(defaultThreads(), os.availableParallelism());
  } finally {
    if (saved === undefined) delete process.env.GRADREG_THREADS; else process.env.GRADREG_THREADS = saved;
  }
});

test('every term factory is either checked to split exactly here or refused with a reason', () => {
  const covered = new Set(cases().flatMap((c) => c.terms.map((t) => termRecipe(t)!.factory)));
  for (const f of Object.keys(TERM_FACTORIES)) {
    assert.ok(SHARD_EXACT.includes(f) !== (f in SHARD_REFUSED), `${f}: listed in neither or both of SHARD_EXACT and SHARD_REFUSED`);
    if (SHARD_EXACT.includes(f)) assert.ok(covered.has(f), `${f} is in SHARD_EXACT but no case below checks it`);
  }
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: one step split over 2 threads (5 + 4 rows) gives the unsplit values and weight gradients, every term`, async () => {
    await useBackend(backend);
    const model = make();
    const b = data.batch('train', Int32Array.from({ length: 9 }, (_, i) => i));
    const ctx = { epoch: 0, step: 3, seed: 12345 };
    // cpu is ~20x slower: the terms with random draws or their own batch scaling, and double backprop.
    const list = backend === 'wasm' ? cases() : cases().filter((c) => /random|FGR|double/.test(c.label));
    const pool = new ShardPool(2, backend, 1);
    try {
      for (const c of list) {
        const before = tf.memory().numTensors;
        const one = termGradients(model, b.x, b.y, c.terms, ctx);
        await pool.configure(model, c.terms);
        const two = await pool.gradients(b.x, b.y, ctx);
        const g1 = await flat(model.variables.map((v) => one.grads[v.name]));
        const g2 = await flat(model.variables.map((v) => two.grads[v.name]));
        const v1 = await flat(one.values), v2 = await flat(two.values);
        tf.dispose([...one.values, ...Object.values(one.grads), ...two.values, ...Object.values(two.grads)]);
        assert.equal(tf.memory().numTensors, before, `${c.label}: the split step leaks tensors`);
        assert.ok(g1.some((g) => g !== 0), `${c.label}: zero gradient, the comparison would be empty`);
        const gg = relGap(g1, g2), gv = relGap(v1, v2);
        console.log(`${backend} ${c.label}: gradient gap ${gg.toExponential(2)}, value gap ${gv.toExponential(2)}`);
        assert.ok(gg < (c.tol ?? 2e-5), `${c.label}: weight gradients differ by ${gg.toExponential(2)} of their scale`);
        assert.ok(gv < 2e-5, `${c.label}: term values differ by ${gv.toExponential(2)} (${v1} vs ${v2})`);
      }
    } finally {
      await pool.close();
      tf.dispose([b.x, b.y]);
      model.dispose();
    }
    assert.equal(liveShardWorkers(), 0);
  });
}

test('what is not split: batch norm, PGD AT, a term written in the notebook, a batch too small; each says why', async () => {
  await useBackend('wasm');
  const model = make();
  const bn = createModel({ arch: 'vgg11', widthScale: 1 / 32 }, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  try {
    assert.deepEqual(shardPlan(model, [crossEntropyTerm(), doubleBackprop()], 'wasm', 2, 128), { threads: 2 });
    assert.deepEqual(shardPlan(model, [crossEntropyTerm()], 'wasm', 1, 128), { threads: 1 });
    assert.match(shardPlan(bn, [crossEntropyTerm()], 'wasm', 2, 128).reason ?? '', /batch norm/);
    assert.match(shardPlan(model, [pgdAT({ eps: 0.1, steps: 2 })], 'wasm', 2, 128).reason ?? '', /random start/);
    const mine: LossTerm = { name: 'mine', weight: 1, value: (m, x, y) => crossEntropyTerm().value(m, x, y, { epoch: 0, step: 0, seed: 0 }) };
    assert.match(shardPlan(model, [mine], 'wasm', 2, 128).reason ?? '', /not made by a library factory/);
    const small = shardPlan(model, [crossEntropyTerm()], 'wasm', 2, 100);
    assert.equal(small.threads, 1);
    assert.match(small.reason ?? '', /rows per thread/);
  } finally {
    model.dispose();
    bn.dispose();
  }
});

for (const optimizer of [{ kind: 'sgd' as const, lr: 0.05, momentum: 0.9 }, { kind: 'adam' as const, lr: 1e-3 }]) {
  test(`training 4 steps (${optimizer.kind}) on 1 and on 2 threads gives the same weights (1e-5 relative) and losses; no worker outlives train()`, async () => {
    await useBackend('wasm');
    const cfg = { epochs: 2, batchSize: 128, maxStepsPerEpoch: 2, optimizer, seed: 3 };
    const run = async (threads: number) => {
      const m = make();
      const r = await train(m, data, cfg, { terms: [crossEntropyTerm(), doubleBackprop({ weight: 10 }), jacobianNorm({ weight: 0.1 })], modelKey: spec, cache: false, quiet: true, threads });
      const w = await flat(m.variables);
      m.dispose();
      return { r, w };
    };
    const before = tf.memory().numTensors;
    const a = await run(1), b = await run(2);
    assert.equal(a.r.threads, 1);
    assert.equal(b.r.threads, 2);
    assert.equal(liveShardWorkers(), 0);
    assert.equal(tf.memory().numTensors, before, 'train() on 2 threads leaks tensors');
    const gap = relGap(a.w, b.w);
    console.log(`${optimizer.kind}: weights differ by ${gap.toExponential(2)} of their scale`);
    assert.ok(gap < 1e-5, `weights after 4 steps differ by ${gap.toExponential(2)} of their scale`);
    const losses = (r: typeof a.r) => r.history.flatMap((h) => [h.loss, ...Object.values(h.terms)]);
    assert.ok(relGap(losses(a.r), losses(b.r)) < 1e-5, `logged losses differ: ${losses(a.r)} vs ${losses(b.r)}`);
  });
}

test('an error inside a worker surfaces with its message; a failing step ends the workers', async () => {
  await useBackend('wasm');
  const model = make();
  try {
    // A worker that cannot start its backend: the pool says which worker and why.
    const bad = new ShardPool(2, 'tensorflow', 1);
    await assert.rejects(bad.configure(model, [crossEntropyTerm()]), /data-parallel worker 1: could not start the tensorflow backend/);
    await bad.close();
    // A term that throws on every shard (more projections than classes): train() rethrows it and closes the pool.
    await assert.rejects(
      train(model, data, { epochs: 1, batchSize: 128, maxStepsPerEpoch: 2, optimizer: { kind: 'sgd', lr: 0.01 }, seed: 1 },
        { terms: [jacobianNorm({ projections: 11 })], modelKey: spec, cache: false, quiet: true, threads: 2 }),
      /projections must be <= the model's number of classes/);
    assert.equal(liveShardWorkers(), 0);
  } finally {
    model.dispose();
  }
});
