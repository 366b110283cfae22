// Seed aggregation (hand-computed values) and printing at the resolution n supports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateSeeds } from '../../lib/stats/aggregate';
import { cleanNumber, formatAcc, formatAccCI, formatInterval, formatP, formatPoints, pctDecimals, toFixedClean } from '../../lib/stats/format';
import { countInterval } from '../../lib/stats/intervals';

test('aggregateSeeds: mean, sample sd, min, max, t-interval; one seed has no interval', () => {
  const r = aggregateSeeds([0.1, 0.2, 0.3, 0.6]);
  assert.equal(r.n, 4);
  assert.ok(Math.abs(r.mean - 0.3) < 1e-15);
  const sd = Math.sqrt((0.04 + 0.01 + 0 + 0.09) / 3);
  assert.ok(Math.abs(r.sd - sd) < 1e-15);
  assert.deepEqual([r.min, r.max], [0.1, 0.6]);
  const half = 3.1824463052842638 * (sd / 2); // t_{0.975, 3}
  assert.ok(Math.abs(r.ci!.lo - (0.3 - half)) < 1e-9 && Math.abs(r.ci!.hi - (0.3 + half)) < 1e-9);
  assert.deepEqual(r.values, [0.1, 0.2, 0.3, 0.6]);
  const clipped = aggregateSeeds([0.01, 0.02, 0.2], { clip: [0, 1] });
  assert.equal(clipped.ci!.lo, 0, 'clip keeps an accuracy interval in [0, 1]');
  const one = aggregateSeeds([0.42]);
  assert.deepEqual([one.n, one.mean, one.sd, one.ci], [1, 0.42, 0, undefined]);
  assert.throws(() => aggregateSeeds([]), /non-empty/);
  assert.throws(() => aggregateSeeds([0.1, NaN]), /values\[1\] is NaN/);
});

test('pctDecimals and formatAcc print no digit n does not support', () => {
  assert.deepEqual([1, 10, 100, 101, 300, 1000, 1001, 10000, 1e6].map(pctDecimals), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
  assert.equal(formatAcc(0.09999999999999998, 300), '10.0%');
  assert.equal(formatAcc(0.2345, 300), '23.5%');
  assert.equal(formatAcc(0.2345, 100), '23%');
  assert.equal(formatAcc(0.23456, 10000), '23.46%');
  assert.equal(formatAcc(0, 200), '0.0%');
  assert.equal(toFixedClean(-0.00001, 1), '0.0', 'no -0.0');
  assert.equal(cleanNumber(9.999999999999998), 10);
  assert.equal(cleanNumber(0.1 + 0.2), 0.3);
  assert.equal(cleanNumber(0.99123456789), 0.99123456789);
  assert.throws(() => formatAcc(23.5, 300), /fraction in \[0, 1\].*divide a percentage by 100/);
});

test('formatAccCI, formatInterval, formatPoints, formatP', () => {
  const iv = countInterval(47, 200);
  assert.equal(formatAccCI(0.235, 200), `23.5% ${formatInterval(iv, 200)}`);
  assert.equal(formatAccCI(0.235, 200), '23.5% [18.2, 29.8]');
  assert.equal(formatAccCI(iv), '23.5% [18.2, 29.8]');
  assert.equal(formatAccCI({ k: 47, n: 200 }), '23.5% [18.2, 29.8]');
  assert.equal(formatAccCI({ k: 0, n: 10 }, undefined, { method: 'clopper-pearson' }), '0% [0, 31]');
  assert.throws(() => formatAccCI(47, 200), /looks like a count.*\{ k: 47, n \}/);
  assert.throws(() => formatAccCI(0.2351, 200), /not a whole count out of n=200/);
  assert.throws(() => formatAccCI(0.5), /n must be the number of examples/);
  assert.equal(formatPoints(0.06, 200), '+6.0 pts');
  assert.equal(formatPoints(-0.0125, 2000), '-1.25 pts');
  assert.equal(formatPoints(0, 200), '0.0 pts');
  assert.equal(formatP(0.109375), 'p=0.11');
  assert.equal(formatP(0.03125), 'p=0.031');
  assert.equal(formatP(1), 'p=1');
  assert.equal(formatP(1e-7), 'p<0.0001');
});
