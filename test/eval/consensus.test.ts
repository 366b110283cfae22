// Adv-GSCT measurements (lib/eval/consensus.ts), the monitored trainer (lib/experiment/monitored-training.ts) and the
// robustness-vs-cost figure (lib/report/cost-figure.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../lib/types';
import { loadMnist } from '../../lib/data/index';
import { createModel, type ModelSpec } from '../../lib/models/index';
import { crossEntropyTerm } from '../../lib/train/index';
import { saliencyConsensus } from '../../lib/regularizers/saliency-consensus';
import { consensusAgreement, consensusViews } from '../../lib/eval/consensus';
import { trainMethodsMonitored } from '../../lib/experiment/monitored-training';
import { robustnessVsCost } from '../../lib/report/cost-figure';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-consensus-'));
const spec: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16 };
const data = loadMnist().take(256, { seed: 3, nTest: 32 });

/** A linear model f(x) = W vec(x): its true-class saliency is the row W_y everywhere, so S(x) = S*(x) and the cosine is 1. */
function linear(seed: number): Model {
  const w = tf.variable(tf.randomNormal([28 * 28, 10], 0, 1, 'float32', seed));
  return {
    name: 'linear', numClasses: 10, inputShape: [28, 28, 1], variables: [w], state: [], mode: 'eval',
    logits: (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D,
  } as unknown as Model;
}

for (const backend of TEST_BACKENDS) {
  test(`consensusAgreement: 1 for a linear model (saliency independent of x), in [-1, 1] and below 1 for a CNN, no leak (${backend})`, async () => {
    await useBackend(backend);
    const b = data.batch('test', [0, 1, 2, 3, 4, 5, 6, 7]);
    const lin = linear(1);
    const cos = consensusAgreement(lin, b.x, b.y, 0.1);
    cos.forEach((c) => assert.ok(Math.abs(c - 1) < 1e-4, `linear model: cos ${c}`));
    const cnn = createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    const delta = await tensorDelta(() => {
      const c = consensusAgreement(cnn, b.x, b.y, 0.3);
      assert.equal(c.length, 8);
      c.forEach((v) => assert.ok(v >= -1 - 1e-6 && v <= 1 + 1e-6, `cos ${v}`));
      assert.ok(c.some((v) => v < 0.9999), 'a ReLU net moves its saliency at the FGSM point');
      // eps 0: the target is the saliency at x itself: full consensus.
      consensusAgreement(cnn, b.x, b.y, 0).forEach((v) => assert.ok(Math.abs(v - 1) < 1e-4, `eps 0: cos ${v}`));
    });
    assert.equal(delta, 0, 'no tensors leak');
    assert.throws(() => consensusAgreement(cnn, b.x, b.y.slice(0, 3), 0.1), /y must hold one label per example of x \(8\)/);
    assert.throws(() => consensusAgreement(cnn, b.x, b.y, -1), /eps must be a finite number >= 0/);
    // Same quantity the regularizer trains: lambdaSal * (1 - mean cos) with lambdaPseudo 0.
    const reg = saliencyConsensus({ eps: 0.3, lambdaPseudo: 0 });
    const v = reg.value(cnn, b.x, b.y, { epoch: 0, step: 0, seed: 0 });
    const mean = consensusAgreement(cnn, b.x, b.y, 0.3).reduce((s, c) => s + c, 0) / 8;
    assert.ok(Math.abs(v.dataSync()[0] - (1 - mean)) < 1e-4, `regularizer ${v.dataSync()[0]} vs 1 - mean cos ${1 - mean}`);
    v.dispose();
    tf.dispose([b.x, b.y]);
    cnn.dispose();
    lin.variables.forEach((w) => w.dispose());
  });
}

test('consensusViews: shapes, pseudo-input keeps the top-k fraction of pixels of x, no leak', async () => {
  await useBackend('cpu');
  const b = data.batch('test', [0, 1, 2, 3]);
  const cnn = createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const delta = await tensorDelta(() => {
    const v = consensusViews(cnn, b.x, b.y, { eps: 0.1, topK: 0.25 });
    for (const t of [v.saliency, v.target, v.pseudo]) assert.deepEqual(t.shape, [4, 28, 28, 1]);
    const px = v.pseudo.arraySync() as number[][][][];
    const xs = b.x.arraySync() as number[][][][];
    for (let i = 0; i < 4; i++) {
      let kept = 0;
      for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) {
        const p = px[i][r][c][0];
        assert.ok(p === 0 || Math.abs(p - xs[i][r][c][0]) < 1e-6, 'pseudo-input = x or 0 per pixel');
        if (p !== 0) kept++;
      }
      assert.ok(kept <= Math.round(0.25 * 784), `example ${i}: ${kept} nonzero pixels kept`);
    }
    tf.dispose([v.saliency, v.target, v.pseudo]);
  });
  assert.equal(delta, 0);
  assert.throws(() => consensusViews(cnn, b.x, b.y, { eps: 0.1, topK: 0 }), /topK must be a fraction of pixels in \(0, 1\]/);
  tf.dispose([b.x, b.y]);
  cnn.dispose();
});

test('trainMethodsMonitored: epoch 0..E measured, seconds exclude the monitor, curve kept beside the checkpoint for cache hits', async () => {
  await useBackend('wasm');
  const methods = [{ id: 'std', label: 'standard', terms: () => [crossEntropyTerm()] }];
  const opts = { data, model: spec, seeds: [0], train: { epochs: 2, batchSize: 64, optimizer: { kind: 'adam' as const, lr: 3e-3 } }, log: () => {} };
  let calls = 0;
  // The first run's measurements take 1.5 s each: an epoch's seconds must not contain them.
  const slow = { name: 'probe', key: 'k1', measure: (m: Model) => { calls++; const t = Date.now(); while (calls <= 3 && Date.now() - t < 1500); return m.variables.length + calls / 100; } };
  const [a] = await trainMethodsMonitored(methods, { ...opts, monitor: slow });
  assert.deepEqual(a.monitor.map((p) => p.epoch), [0, 1, 2]);
  assert.equal(a.monitorNote, '');
  assert.equal(calls, 3);
  for (const r of a.result.history) assert.ok(r.seconds < 1.5, `epoch ${r.epoch} took ${r.seconds} s: the monitor's 1.5 s is not in it`);
  const sidecar = `${a.result.checkpoint}.probe.json`;
  assert.ok(fs.existsSync(sidecar));
  // Cache hit: the stored curve comes back, only epoch 0 is re-measured.
  const [b] = await trainMethodsMonitored(methods, { ...opts, monitor: slow });
  assert.equal(b.result.fromCache, true);
  assert.deepEqual(b.monitor, [{ epoch: 0, value: b.monitor[0].value }, a.monitor[1], a.monitor[2]]);
  // Another monitor key: the stored curve does not apply; epochs 0 and final only, with a note.
  const [c] = await trainMethodsMonitored(methods, { ...opts, monitor: { ...slow, key: 'k2' } });
  assert.deepEqual(c.monitor.map((p) => p.epoch), [0, 2]);
  assert.match(c.monitorNote, /probe: only epochs 0, 2 of 0\.\.2/);
  await assert.rejects(() => trainMethodsMonitored(methods, { ...opts, monitor: { ...slow, name: 'a b' } }), /monitor.name must be letters/);
  for (const t of [a, b, c]) t.model.dispose();
});

test('robustnessVsCost: one trace per group with interval bars; bad input names the point', () => {
  const fig = robustnessVsCost([
    { name: 'PGD-AT', secondsPerEpoch: 10, robust: 0.6, lo: 0.5, hi: 0.7 },
    { name: 'GSCT', secondsPerEpoch: 4, robust: 0.4, lo: 0.3, hi: 0.5 },
  ], { title: 'cost' });
  assert.equal(fig.data.length, 2);
  const t = fig.data[0] as { x: number[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } };
  assert.deepEqual(t.x, [10]);
  assert.ok(Math.abs(t.error_y.array[0] - 0.1) < 1e-12 && Math.abs(t.error_y.arrayminus[0] - 0.1) < 1e-12);
  assert.throws(() => robustnessVsCost([{ name: 'X', secondsPerEpoch: 0, robust: 0.5 }]), /X.secondsPerEpoch is 0/);
  assert.throws(() => robustnessVsCost([{ name: 'X', secondsPerEpoch: 1, robust: 0.5, lo: 0.6, hi: 0.7 }]), /X.robust = 0.5 lies outside \[0.6, 0.7\]/);
  assert.throws(() => robustnessVsCost([{ name: 'X', secondsPerEpoch: 1, robust: 50 }]), /X.robust\[0\] = 50 is above 1/);
});
