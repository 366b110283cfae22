// The validation split (disjoint from the training subset, stratified, the same subset as take) and the lambda rule
// (largest lambda within maxDrop of the reference on validation; else the smallest drop, flagged), on models whose
// validation accuracy is known exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InMemoryDataSet } from '../../lib/data/dataset';
import { validationSplit, sweepMethods, selectLambdas, lambdaSelectionRows, sweepId, type LambdaFamily } from '../../lib/experiment/lambda-selection';
import type { TrainedModel } from '../../lib/experiment/methods';
import { crossEntropyTerm } from '../../lib/train/terms';
import { linearModel } from '../attacks/small-models';

// Every image is unique: its two pixels encode its index.
function indexed(nTrain: number, nTest: number): InMemoryDataSet {
  const split = (n: number, off: number) => ({
    images: Uint8Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? (k / 2 + off) % 256 : Math.floor((Math.floor(k / 2) + off) / 256))),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
  });
  return new InMemoryDataSet('indexed', [1, 1, 2], ['a', 'b', 'c'], { train: split(nTrain, 0), test: split(nTest, 5000) });
}

const ids = (x: tf.Tensor4D) => { const v = x.dataSync(); return Array.from({ length: x.shape[0] }, (_, i) => Math.round(v[2 * i] * 255) + 256 * Math.round(v[2 * i + 1] * 255)); };

test('validationSplit: the training subset is take(n), the validation examples are outside it, stratified and seeded', () => {
  const full = indexed(300, 30);
  const { data, val } = validationSplit(full, { n: 100, nTest: 30, nVal: 60, seed: 3 });
  const same = full.take(100, { seed: 3, nTest: 30 });
  assert.equal(data.name, same.name, 'same name: the checkpoint cache key is shared with take()');
  const train = data.batch('train', Int32Array.from({ length: 100 }, (_, i) => i));
  const trainIds = new Set(ids(train.x));
  const valIds = ids(val.x);
  assert.equal(val.n, 60);
  assert.equal(new Set(valIds).size, 60, 'no example twice');
  assert.ok(valIds.every((i) => !trainIds.has(i)), 'validation never overlaps the training subset');
  assert.ok(valIds.every((i) => i < 300), 'validation comes from the train split, never the test split');
  const labels = Array.from(val.y.dataSync());
  assert.deepEqual([0, 1, 2].map((c) => labels.filter((l) => l === c).length), [20, 20, 20], 'class-stratified');
  assert.deepEqual(labels, valIds.map((i) => i % 3), 'labels belong to their images');
  const again = validationSplit(full, { n: 100, nTest: 30, nVal: 60, seed: 3 });
  assert.deepEqual(ids(again.val.x), valIds, 'deterministic for a seed');
  assert.notDeepEqual(ids(validationSplit(full, { n: 100, nTest: 30, nVal: 60, seed: 4 }).val.x), valIds, 'another seed, other examples');
  assert.throws(() => validationSplit(full, { n: 250, nVal: 60 }), /n \+ nVal = 310 exceeds the 300 train examples/);
  assert.throws(() => validationSplit(full, { n: 100, nVal: 0 }), /nVal must be a positive integer/);
  tf.dispose([train.x, train.y, val.x, val.y, again.val.x, again.val.y]);
});

// A model that always predicts class c (bias only): its accuracy on the validation set is the share of label c.
const constant = (c: number) => linearModel([1, 1, 2], [[0, 0, 0], [0, 0, 0]], [0, 1, 2].map((k) => (k === c ? 1 : 0)));
const trainedAs = (id: string, c: number): TrainedModel =>
  ({ method: { id, label: id, terms: () => [crossEntropyTerm()] }, seed: 0, model: constant(c), result: {}, warnings: [] }) as unknown as TrainedModel;

test('selectLambdas: the largest lambda within maxDrop, else the smallest drop flagged; the table documents every candidate', () => {
  // 10 validation examples: 6 of class 0, 3 of class 1, 1 of class 2.
  const labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2];
  const val = { x: tf.zeros([10, 1, 1, 2]) as tf.Tensor4D, y: tf.tensor1d(labels, 'int32') as tf.Tensor1D, n: 10, name: 'toy' };
  const fam = (id: string, lambdas: number[]): LambdaFamily => ({ id, label: id.toUpperCase(), knob: 'weight', lambdas, terms: () => [crossEntropyTerm()] });
  const a = fam('a', [1, 10, 100]);
  const b = fam('b', [1, 10]);
  assert.deepEqual(sweepMethods([a, b]).map((m) => m.id), ['a-l1', 'a-l10', 'a-l100', 'b-l1', 'b-l10']);
  const trained = [
    trainedAs('standard', 0),                                  // 60%
    trainedAs(sweepId(a, 1), 0), trainedAs(sweepId(a, 10), 0), // 60%: no drop
    trainedAs(sweepId(a, 100), 1),                             // 30%: drop 30 points
    trainedAs(sweepId(b, 1), 1), trainedAs(sweepId(b, 10), 2), // 30% and 10%: both beyond the target
  ];
  const choices = selectLambdas([a, b], trained, val, { reference: [trained[0]], maxDrop: 0.05 });
  assert.equal(choices[0].lambda, 10, 'largest admissible, not the largest');
  assert.equal(choices[0].withinTarget, true);
  assert.equal(choices[0].models[0].method.id, 'a-l10');
  assert.equal(choices[1].lambda, 1, 'none admissible: the smallest drop');
  assert.equal(choices[1].withinTarget, false);
  assert.ok(Math.abs(choices[1].drop - 0.3) < 1e-12);
  assert.match(choices[1].reason, /no λ in \[1, 10\]/);
  const rows = lambdaSelectionRows(choices, { maxDrop: 0.05 });
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.map((r) => r.chosen), ['', 'yes', '', 'yes (none within target)', '']);
  assert.equal(rows[2]['drop vs standard'], '+30 pts');
  // A drop of exactly maxDrop is admissible.
  assert.equal(selectLambdas([a], trained, val, { reference: [trained[0]], maxDrop: 0.3 })[0].lambda, 100);
  assert.throws(() => selectLambdas([fam('c', [1])], trained, val, { reference: [trained[0]], maxDrop: 0.05 }), /no trained model for "c" at lambda 1/);
  assert.throws(() => selectLambdas([a], trained, val, { reference: [trained[0]], maxDrop: 5 }), /maxDrop must be a fraction/);
  assert.throws(() => sweepMethods([fam('d', [])]), /non-empty lambdas grid/);
  tf.dispose([val.x, val.y]);
  trained.forEach((t) => t.model.dispose());
});
