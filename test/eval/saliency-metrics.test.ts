// saliencyMetrics / meanInterval / saliencyMetricRows and sagrBreakdown / sagrClassMaps on a linear model, where every class
// gradient is a column of the weight matrix (closed forms), on cpu and wasm; no tensor leaks; argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { meanInterval, runnerUpClass, saliencyMetricRows, saliencyMetrics, trueClassHeatmap } from '../../lib/eval/saliency-metrics';
import { sagrBreakdown, sagrClassMaps } from '../../lib/eval/sagr-breakdown';
import { sagr } from '../../lib/regularizers/sagr';
import { giniIndex } from '../../lib/saliency/sparseness';
import { ranks, pearson } from '../../lib/saliency/similarity';
import { seededLinearModel, TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

const [H, W, C, K] = [4, 4, 1, 3];
const D = H * W * C;

const linearModel = (seed: number) => seededLinearModel([H, W, C], K, seed);

const col = (w: number[][], k: number) => w.map((r) => r[k]);

test('saliencyMetrics: closed forms of a linear model (cpu and wasm), no leaks', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model, w } = linearModel(3);
    const x = tf.randomUniform([3, H, W, C], 0, 1, 'float32', 9) as tf.Tensor4D;
    const y = tf.tensor1d([0, 2, 1], 'int32');
    const xs = x.dataSync();
    const logits = model.logits(x).arraySync() as number[][];
    const labels = [0, 2, 1];
    let m!: ReturnType<typeof saliencyMetrics>;
    const delta = await tensorDelta(() => { m = saliencyMetrics(model, x, y, { strokeThreshold: 0.5, deletionSteps: 4 }); });
    assert.equal(delta, 0, `${backend}: leaked tensors`);
    assert.equal(m.n, 3);
    const rival = runnerUpClass(model, x, y);
    assert.deepEqual(Array.from(rival.dataSync()), logits.map((z, i) => z.map((v, k) => (k === labels[i] ? -Infinity : v)).reduce((bi, v, k, a) => (v > a[bi] ? k : bi), 0)));
    const rv = Array.from(rival.dataSync());
    rival.dispose();
    labels.forEach((l, i) => {
      const g = col(w, l).map(Math.abs);
      const on = g.reduce((s, v, p) => s + (xs[i * D + p] > 0.5 ? v : 0), 0);
      assert.ok(Math.abs(m.values.localization[i] - on / g.reduce((s, v) => s + v, 0)) < 1e-5, `${backend} localization ${i}`);
      assert.ok(Math.abs(m.values.sparseness[i] - giniIndex(g)) < 1e-5, `${backend} gini ${i}`);
      const rho = pearson(ranks(col(w, l)), ranks(col(w, rv[i]))); // signed maps
      assert.ok(Math.abs(m.values.discrimination[i] - (1 - rho)) < 1e-5, `${backend} discrimination ${i}`);
      assert.ok(m.values.deletionAuc[i] >= 0 && m.values.deletionAuc[i] <= 1, `${backend} deletion AUC in [0,1]`);
    });
    const before = tf.memory().numTensors;
    const hm = trueClassHeatmap(model, x, y);
    assert.deepEqual(hm.shape, [3, H, W, 1]);
    const hv = hm.dataSync();
    const g0 = col(w, 0).map(Math.abs);
    const mx = Math.max(...g0);
    for (let p = 0; p < D; p++) assert.ok(Math.abs(hv[p] - g0[p] / mx) < 1e-5, `${backend} heatmap pixel ${p}`);
    hm.dispose();
    assert.equal(tf.memory().numTensors, before, `${backend}: trueClassHeatmap leaked`);
    tf.dispose([x, y]);
    model.dispose();
  }
});

test('meanInterval and saliencyMetricRows', () => {
  const s = meanInterval([1, 2, 3, NaN]);
  assert.equal(s.n, 3);
  assert.equal(s.mean, 2);
  // sd 1, se 1/sqrt(3), t_{0.975,2} = 4.302652729911275
  assert.ok(Math.abs(s.hi - (2 + 4.302652729911275 / Math.sqrt(3))) < 1e-6);
  const rows = saliencyMetricRows([{ label: 'A', metrics: { n: 4, values: { localization: [0.5, 0.6, 0.7, NaN], sparseness: [0.1, 0.1, 0.1, 0.1], discrimination: [1, 1, 1, 1], deletionAuc: [0.2, 0.3, 0.2, 0.3] } } }]);
  assert.equal(rows[0].model, 'A');
  assert.match(String(rows[0]['localization (higher is better)']), /^0\.600 \[[\d.]+, [\d.]+\] \(1 n\/a\)$/);
  assert.match(String(rows[0]['deletionAuc (lower is better)']), /^0\.250 /);
  assert.throws(() => saliencyMetricRows([]), /at least one/);
});

test('sagrBreakdown: the parts add up to sagr().value; class maps are the weight columns (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const { model, w } = linearModel(5);
    const x = tf.randomUniform([4, H, W, C], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const cfg = { trueWeight: 0.2, falseWeight: 1.5, negWeight: 0.3 };
    const br = sagrBreakdown(model, x, y, cfg);
    const ref = sagr({ ...cfg, weight: 1 }).value(model, x, y, { seed: 0, step: 0, epoch: 0 } as never);
    assert.ok(Math.abs(br.value - ref.dataSync()[0]) < 1e-4 * Math.max(1, br.value), `${backend}: ${br.value} vs ${ref.dataSync()[0]}`);
    ref.dispose();
    for (let c = 0; c < K; c++) {
      const g = col(w, c);
      const pos = g.reduce((s, v) => s + Math.max(0, v) ** 2, 0);
      const neg = g.reduce((s, v) => s + Math.max(0, -v) ** 2, 0);
      assert.ok(Math.abs(br.posSq[c][0] - pos) < 1e-4 && Math.abs(br.negSq[c][3] - neg) < 1e-4, `${backend} class ${c}`);
      assert.deepEqual(br.weight[c], [0, 1, 2, 1].map((l) => (l === c ? 0.2 : 1.5)));
    }
    assert.ok(br.trueShare > 0 && br.trueShare < 1);
    const before = tf.memory().numTensors;
    const { maps, positive } = sagrClassMaps(model, x, 2);
    assert.deepEqual(maps.shape, [K, H, W, C]);
    const mv = maps.arraySync() as number[][][][];
    for (let c = 0; c < K; c++) assert.ok(Math.abs(mv[c][1][2][0] - w[1 * W + 2][c]) < 1e-5, `${backend} map of class ${c}`);
    assert.ok(Math.min(...positive.dataSync()) >= 0);
    tf.dispose([maps, positive]);
    assert.equal(tf.memory().numTensors, before, `${backend}: sagrClassMaps leaked`);
    assert.throws(() => sagrClassMaps(model, x, 4), /example index/);
    assert.throws(() => sagrBreakdown(model, x, y, { trueWeight: -1, falseWeight: 1 }), /trueWeight must be/);
    tf.dispose([x, y]);
    model.dispose();
  }
});
