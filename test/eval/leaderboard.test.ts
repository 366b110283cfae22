// The leaderboard's numbers: across-threats worst case per example, Pareto fronts, Holm-corrected McNemar comparisons
// against the best and the reference, and a summary whose every statement follows from them (checked on hand-made arrays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acrossThreats, ALL_THREATS, holmAdjust, leaderboardComparisons, leaderboardRows, leaderboardSummary, paretoLabels, threatColumns, comparisonRows, type LeaderboardEntry } from '../../lib/eval/leaderboard';

const bits = (n: number, ones: number, offset = 0) => Uint8Array.from({ length: n }, (_, i) => (i >= offset && i < offset + ones ? 1 : 0));

function entry(id: string, clean: Uint8Array, a: Uint8Array, b: Uint8Array, seconds: number): LeaderboardEntry {
  return { id, label: id.toUpperCase(), lambda: '', clean, threats: [{ name: 'A', correct: a }, { name: 'B', correct: b }], secondsPerEpoch: seconds, params: 10, seeds: [0] };
}

const N = 100;
// std: clean 95, robust 5 / 5; at: clean 85, robust 60 (A) / 20 (B); reg: clean 93, robust 30 / 40 (B: the best); weak: dominated.
const entries = [
  entry('std', bits(N, 95), bits(N, 5), bits(N, 5), 1),
  entry('at', bits(N, 85), bits(N, 60), bits(N, 20), 5),
  entry('reg', bits(N, 93), bits(N, 30), bits(N, 40), 2),
  entry('weak', bits(N, 80), bits(N, 4), bits(N, 4), 3),
];

test('acrossThreats: an example counts only if clean-correct and correct under every threat', () => {
  const e = entry('x', Uint8Array.from([1, 1, 1, 0]), Uint8Array.from([1, 0, 1, 1]), Uint8Array.from([1, 1, 0, 1]), 1);
  assert.deepEqual(Array.from(acrossThreats(e)), [1, 0, 0, 0]);
  assert.deepEqual(threatColumns([e]), ['A', 'B', ALL_THREATS]);
});

test('leaderboardRows: sorted by the worst case across threats, intervals on every accuracy', () => {
  const rows = leaderboardRows(entries);
  assert.deepEqual(rows.map((r) => r.method), ['REG', 'AT', 'STD', 'WEAK']);
  assert.match(String(rows[0].clean), /^93% \[\d+, \d+\]$/);
  assert.match(String(rows[0][ALL_THREATS]), /^30% \[/);
  assert.equal(rows[0]['s / epoch'], 2);
});

test('paretoLabels: the non-dominated methods per column', () => {
  assert.deepEqual(paretoLabels(entries, 'A'), ['AT', 'REG', 'STD']);
  assert.deepEqual(paretoLabels(entries, 'B'), ['REG', 'STD']);
});

test('holmAdjust: step-down adjusted p-values, monotone, capped at 1', () => {
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.5]);
  assert.deepEqual(adj.map((p) => +p.toFixed(6)), [0.04, 0.09, 0.09, 0.5]);
  assert.deepEqual(holmAdjust([0.6, 0.6]), [1, 1]);
});

test('leaderboardComparisons and the summary: the best, its top group, the reference tests, all from the numbers', () => {
  const cs = leaderboardComparisons(entries, { referenceId: 'std' });
  const bestA = cs.filter((c) => c.column === 'A' && c.against === 'best');
  assert.ok(bestA.every((c) => c.a.id === 'at'), 'AT is the most robust under A');
  assert.ok(bestA.every((c) => c.significant), '60 vs 30 or less on 100 nested examples: all significant');
  const refB = cs.filter((c) => c.column === 'B' && c.against === 'reference');
  assert.deepEqual(refB.filter((c) => c.significant).map((c) => c.a.id).sort(), ['at', 'reg']);
  // weak (4) vs std (5) differ by one discordant example: not significant.
  assert.equal(refB.find((c) => c.a.id === 'weak')!.significant, false);
  const rows = comparisonRows(cs);
  assert.equal(rows.length, cs.length);
  assert.ok(rows.every((r) => /^p[=<]/.test(String(r.p)) && /^p[=<]/.test(String(r['p (Holm)']))));
  const md = leaderboardSummary(entries, { referenceId: 'std' });
  assert.match(md, /## A\n\n- Most robust: AT 60%/);
  assert.match(md, /## B\n\n- Most robust: REG 40%/);
  assert.match(md, /Pareto front, clean vs B \(no other model at least as good on both\): REG, STD\./);
  assert.match(md, /Significantly more robust than STD: (AT, REG|REG, AT); significantly less: none\./);
  assert.match(md, /cheapest to dearest: STD 1\.0, REG 2\.0, WEAK 3\.0, AT 5\.0/);
  // Two equally robust models: neither is significantly below the other, both in the top group.
  const tie = [entry('p', bits(N, 90), bits(N, 50), bits(N, 50), 1), entry('q', bits(N, 90), bits(N, 50, 10), bits(N, 50, 10), 1)];
  assert.match(leaderboardSummary(tie, { referenceId: 'p' }), /top group, 2 of 2\): P, Q/);
});

test('leaderboard inputs: mismatched threats or example counts are refused with the reason', () => {
  const bad = entry('bad', bits(50, 40), bits(50, 10), bits(50, 10), 1);
  assert.throws(() => leaderboardRows([entries[0], bad]), /paired tests need the same examples/);
  const other = { ...entries[1], threats: [entries[1].threats[1], entries[1].threats[0]] };
  assert.throws(() => leaderboardRows([entries[0], other]), /same threats in the same order/);
  assert.throws(() => leaderboardComparisons(entries, { referenceId: 'nope' }), /referenceId "nope" is not an entry/);
});
