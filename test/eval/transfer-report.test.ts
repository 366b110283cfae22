// Transfer reports (lib/eval/transfer-report.ts): the per-example worst case over sources and attacks is the AND of the
// matrices' per-example results (checked against transferMatrix on real small models, cpu and wasm), tables and heatmaps carry
// the same numbers with Wilson intervals, cleanCorrect matches the matrix's clean accuracy; argument errors name the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fgsm, pgd } from '../../lib/attacks/index';
import { transferMatrix, type TransferMatrix } from '../../lib/eval/transfer';
import { cleanCorrect, transferCells, transferHeatmap, transferReportTable, worstTransferCorrect } from '../../lib/eval/transfer-report';
import { matrixHeatmap } from '../../lib/report/matrix-heatmap';
import { createModel } from '../../lib/models/index';
import { formatAccCI } from '../../lib/stats/format';
import { accuracyInterval } from '../../lib/stats/intervals';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

const SHAPE = [4, 4, 1] as const;
const mlp = (seed: number) => createModel({ arch: 'mlp', hidden: [8], activation: 'softplus' }, { inputShape: SHAPE, numClasses: 3, seed });

/** A hand-made matrix: 2 sources x 2 targets on 4 examples. */
function fake(label: string, correct: number[][][], clean = [1, 0.75]): { label: string; matrix: TransferMatrix } {
  return { label, matrix: {
    attack: label, sources: ['s1', 's2'], targets: ['t1', 't2'], n: 4, clean, seconds: 0, worstTransfer: [0, 0],
    acc: correct.map((r) => r.map((c) => c.reduce((p, q) => p + q, 0) / 4)), correct: correct.map((r) => r.map((c) => Uint8Array.from(c))),
  } };
}

test('worstTransferCorrect: AND over sources and attacks; a model is never its own source; errors', () => {
  const a = fake('A', [[[1, 1, 0, 1], [1, 0, 1, 0]], [[1, 0, 1, 1], [1, 1, 1, 0]]]);
  const b = fake('B', [[[1, 1, 1, 0], [0, 1, 1, 0]], [[1, 1, 1, 1], [1, 1, 1, 0]]]);
  assert.deepEqual(Array.from(worstTransferCorrect([a], 't1')), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(worstTransferCorrect([a, b], 't1')), [1, 0, 0, 0]);
  assert.deepEqual(Array.from(worstTransferCorrect([a, b], 't2')), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(worstTransferCorrect([a], 't1', { sources: ['s2'] })), [1, 0, 1, 1]);
  const self = { label: 'S', matrix: { ...a.matrix, sources: ['t1', 's2'] } };
  assert.deepEqual(Array.from(worstTransferCorrect([self], 't1')), [1, 0, 1, 1], 'source t1 is the target itself: skipped');
  assert.throws(() => worstTransferCorrect([a], 'nope'), /target "nope" is not in "A"/);
  assert.throws(() => worstTransferCorrect([a], 't1', { sources: ['x'] }), /source "x" is not in "A"/);
  assert.throws(() => worstTransferCorrect([a, { ...b, label: 'A' }], 't1'), /two matrices are labelled "A"/);
  assert.throws(() => worstTransferCorrect([a, { label: 'C', matrix: { ...b.matrix, n: 5 } }], 't1'), /n=5 .* n=4/);
  assert.throws(() => worstTransferCorrect([], 't1'), /non-empty array/);
  assert.throws(() => worstTransferCorrect([{ label: 'S', matrix: { ...a.matrix, sources: ['t1'], correct: [a.matrix.correct[0]] } }], 't1'), /no source left/);
});

test('transferReportTable / transferCells / transferHeatmap: same numbers, Wilson intervals, row per target', () => {
  const a = fake('A', [[[1, 1, 0, 1], [1, 0, 1, 0]], [[1, 0, 1, 1], [1, 1, 1, 0]]]);
  const b = fake('B', [[[1, 1, 1, 0], [0, 1, 1, 0]], [[1, 1, 1, 1], [1, 1, 1, 0]]]);
  const rows = transferReportTable([a, b], { targetLabels: { t2: 'Target 2' } });
  assert.deepEqual(rows.map((r) => r.target), ['t1', 'Target 2']);
  assert.deepEqual(Object.keys(rows[0]), ['target', 'clean', 'A @ s1', 'A @ s2', 'B @ s1', 'B @ s2', 'worst transfer']);
  assert.equal(rows[0]['A @ s1'], formatAccCI(accuracyInterval([1, 1, 0, 1])));
  assert.equal(rows[1]['B @ s1'], formatAccCI(accuracyInterval([0, 1, 1, 0])));
  assert.equal(rows[0]['worst transfer'], formatAccCI(accuracyInterval([1, 0, 0, 0])));
  assert.equal(rows[1].clean, formatAccCI({ k: 3, n: 4 }));
  const { clean, cells } = transferCells([a, b]);
  assert.equal(clean.t2.k, 3);
  assert.equal(cells.length, 8);
  assert.deepEqual(transferReportTable([a], { targets: ['t2'] }).map((r) => r.target), ['t2']);
  assert.throws(() => transferReportTable([a], { targets: ['zz'] }), /target "zz"/);
  const fig = transferHeatmap([a, b], { title: 'T' });
  const trace = fig.data[0] as { z: number[][]; x: string[]; y: string[] };
  assert.deepEqual(trace.x, ['clean', 'A @ s1', 'A @ s2', 'B @ s1', 'B @ s2', 'worst transfer']);
  assert.deepEqual(trace.y, ['t1', 't2']);
  assert.deepEqual(trace.z[0], [1, 0.75, 0.75, 0.75, 1, 0.25]);
  const notes = (fig.layout.annotations as { text: string }[]).map((n) => n.text);
  assert.equal(notes.length, 12);
  assert.match(notes[5], /^25% \[\d+, \d+\]$/);
});

test('matrixHeatmap: shape and label checks name the problem', () => {
  const ok = matrixHeatmap({ rows: ['r'], cols: ['a', 'b'], values: [[0.5, NaN]] });
  assert.deepEqual((ok.data[0] as { z: unknown }).z, [[0.5, null]]);
  assert.throws(() => matrixHeatmap({ rows: ['r', 'r'], cols: ['a'], values: [[1], [2]] }), /duplicate labels/);
  assert.throws(() => matrixHeatmap({ rows: ['r'], cols: ['a'], values: [[1, 2]] }), /values\[0\] has 2 entries, cols has 1/);
  assert.throws(() => matrixHeatmap({ rows: ['r'], cols: ['a'], values: [[1]], text: [['x', 'y']] }), /text is not shaped like values/);
  assert.throws(() => matrixHeatmap({ rows: ['r'], cols: ['a'], values: [[1]], zRange: [1, 0] }), /zRange/);
});

test('on real models: worst case over two attacks = AND of their matrices; cleanCorrect matches clean; no leaks (cpu and wasm)', async () => {
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    const s1 = mlp(1), s2 = mlp(2), t1 = mlp(3), t2 = mlp(4);
    const x = tf.randomUniform([12, ...SHAPE], 0, 1, 'float32', 5) as tf.Tensor4D;
    const pt = tf.tidy(() => tf.argMax(t1.logits(x), 1).dataSync());
    const y = tf.tensor1d(Array.from(pt, (p, i) => (i % 3 ? p : (p + 1) % 3)), 'int32');
    const sources = [{ name: 's1', model: s1 }, { name: 's2', model: s2 }];
    const targets = [{ name: 't1', model: t1 }, { name: 't2', model: t2 }];
    let ms: { label: string; matrix: TransferMatrix }[] = [];
    let c1 = new Uint8Array();
    const delta = await tensorDelta(() => {
      ms = [{ label: 'FGSM', matrix: transferMatrix(sources, targets, fgsm({ eps: 0.5 }), { x, y }, { batchSize: 5, seed: 1 }) },
        { label: 'PGD', matrix: transferMatrix(sources, targets, pgd({ eps: 0.5, steps: 3 }), { x, y }, { batchSize: 5, seed: 1 }) }];
      c1 = cleanCorrect(t1, { x, y }, { batchSize: 5 });
      transferReportTable(ms);
      transferHeatmap(ms);
    });
    assert.equal(delta, 0, `${backend}: leaked tensors`);
    assert.equal(c1.reduce((p, q) => p + q, 0) / 12, ms[0].matrix.clean[0], `${backend}: cleanCorrect vs matrix clean`);
    const w = worstTransferCorrect(ms, 't1');
    for (let i = 0; i < 12; i++) {
      const expect = ms.every((m) => m.matrix.correct.every((row) => row[0][i] === 1)) ? 1 : 0;
      assert.equal(w[i], expect, `${backend}: example ${i}`);
      assert.ok(w[i] <= c1[i], `${backend}: worst transfer never exceeds clean`);
    }
    // One attack alone is the matrix's own worstTransfer.
    assert.equal(worstTransferCorrect([ms[0]], 't2').reduce((p, q) => p + q, 0) / 12, ms[0].matrix.worstTransfer[1]);
    tf.dispose([x, y]);
    for (const m of [s1, s2, t1, t2]) m.dispose();
  }
});
