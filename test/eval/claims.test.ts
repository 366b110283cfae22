// Claims: every verdict reachable from constructed per-example correctness, the rules at their edges, the table and files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claim, claimAll, claimAtLeast, claimAtMost, claimNotTestable, claimPaired, claimsTable, claimTrend, publishClaims, type Arm } from '../../lib/eval/claims';
import { parseCsv } from '../../lib/report/tables';
import { aggregateSeeds } from '../../lib/stats/aggregate';
import { mcnemarExact } from '../../lib/stats/mcnemar';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-claims-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Two models' correctness with the given paired table (both right, only a, only b, both wrong). */
function pair(both: number, aOnly: number, bOnly: number, neither: number): [Arm, Arm] {
  const a: number[] = [];
  const b: number[] = [];
  for (const [n, x, y] of [[both, 1, 1], [aOnly, 1, 0], [bOnly, 0, 1], [neither, 0, 0]]) for (let i = 0; i < n; i++) { a.push(x); b.push(y); }
  return [{ label: 'A', correct: Uint8Array.from(a) }, { label: 'B', correct: Uint8Array.from(b) }];
}

/** A model right on the first k of n examples. */
const firstK = (label: string, k: number, n = 200): Arm => ({ label, correct: Uint8Array.from({ length: n }, (_, i) => (i < k ? 1 : 0)) });

test('claimPaired: supported, contradicted, inconclusive, with the numbers that decided it', () => {
  const [a, b] = pair(100, 30, 5, 65);
  const sup = claimPaired({ id: 'P1', statement: 'A beats B', source: 'paper, abstract', a, b });
  assert.equal(sup.verdict, 'supported');
  const m = mcnemarExact(a.correct, b.correct);
  assert.equal(sup.numbers.diff, m.diff);
  assert.equal(sup.numbers.pValue, m.pValue);
  assert.equal(sup.numbers.diffLo, m.ci.lo);
  assert.deepEqual([sup.numbers.n, sup.numbers.aOnly, sup.numbers.bOnly], [200, 30, 5]);
  assert.match(sup.evidence, /^A 65\.0% \[\d+\.\d, \d+\.\d\] vs B 52\.5% \[\d+\.\d, \d+\.\d\] on the same 200 examples: diff \+12\.5 pts, 95% CI \[\+\d+\.\d, \+\d+\.\d\], McNemar exact p<0\.0001 \(30 vs 5 discordant\); CI above 0\.0 pts and p < 0\.05$/);
  assert.equal(sup.source, 'paper, abstract');

  const con = claimPaired({ id: 'P2', statement: 'B beats A', a: b, b: a });
  assert.equal(con.verdict, 'contradicted');
  assert.match(con.evidence, /CI below 0 and p < 0\.05: A is the more accurate/);

  const [c, d] = pair(100, 12, 8, 80);
  const inc = claimPaired({ id: 'P3', statement: 'A beats B', a: c, b: d });
  assert.equal(inc.verdict, 'inconclusive');
  assert.ok((inc.numbers.diffLo as number) < 0 && (inc.numbers.diffHi as number) > 0);
  assert.match(inc.evidence, /CI includes 0\.0 pts/);

  // Both tests must agree: 5 vs 0 discordant of 20 puts the Newcombe CI above 0, but the exact test gives p = 1/16.
  const [e, f] = pair(5, 5, 0, 10);
  const split = claimPaired({ id: 'P4', statement: 'A beats B', a: e, b: f });
  assert.ok((split.numbers.diffLo as number) > 0);
  assert.equal(split.verdict, 'inconclusive');
  assert.match(split.evidence, /CI above 0 pts but p = 0\.063 >= 0\.05/);
});

test('claimPaired margins: a large claimed gain is contradicted by a small real one; non-inferiority needs no significance', () => {
  const [a, b] = pair(100, 20, 8, 72); // +6 points, significant
  assert.equal(claimPaired({ id: 'M0', statement: 'A beats B', a, b }).verdict, 'supported');
  const big = claimPaired({ id: 'M1', statement: 'A beats B by 17 points', a, b, margin: 0.17 });
  assert.equal(big.verdict, 'contradicted', 'CI of +6 pts lies below the claimed +17');
  assert.match(big.evidence, /CI below the claimed \+17\.0 pts/);
  assert.equal(claimPaired({ id: 'M2', statement: 'A beats B by half a point', a, b, margin: 0.005 }).verdict, 'supported');
  assert.equal(claimPaired({ id: 'M3', statement: 'A beats B by 6 points', a, b, margin: 0.06 }).verdict, 'inconclusive');
  const [c, d] = pair(150, 3, 5, 42); // -1 point, not significant
  const nonInf = claimPaired({ id: 'M4', statement: 'A costs at most 5 points of clean accuracy', a: c, b: d, margin: -0.05 });
  assert.equal(nonInf.verdict, 'supported');
  assert.ok((nonInf.numbers.pValue as number) > 0.05);
  assert.equal(claimPaired({ id: 'M5', statement: 'A costs at most 0.5 points', a: c, b: d, margin: -0.005 }).verdict, 'inconclusive');
  const [e, f] = pair(100, 2, 30, 68); // A 14 points worse
  assert.equal(claimPaired({ id: 'M6', statement: 'A costs at most 5 points', a: e, b: f, margin: -0.05 }).verdict, 'contradicted');
});

test('claimPaired refuses unpaired or malformed input, naming the fix', () => {
  const [a] = pair(10, 2, 2, 6);
  assert.throws(() => claimPaired({ id: 'X', statement: 's', a, b: { label: 'B', correct: [1, 0] } }), /SAME examples/);
  assert.throws(() => claimPaired({ id: '', statement: 's', a, b: a }), /id must be a non-empty string/);
  assert.throws(() => claimPaired({ id: 'X', statement: 's', a, b: a, margin: 5 }), /margin must be a fraction/);
  assert.throws(() => claimPaired({ id: 'X', statement: 's', a, b: { label: 'B', correct: [] } }), /empty/);
});

test('claimAtLeast / claimAtMost: interval vs threshold, every verdict; exact values and seed aggregates', () => {
  const at = (k: number, f: typeof claimAtLeast, t = 0.5) => f({ id: 'T', statement: 's', value: { label: 'FGR', k, n: 100 }, threshold: t }).verdict;
  assert.deepEqual([at(60, claimAtLeast), at(40, claimAtLeast), at(52, claimAtLeast)], ['supported', 'contradicted', 'inconclusive']);
  assert.deepEqual([at(40, claimAtMost), at(60, claimAtMost), at(48, claimAtMost)], ['supported', 'contradicted', 'inconclusive']);
  const r = claimAtLeast({ id: 'L4', statement: 'clean accuracy at least 99%', value: firstK('maxout', 199), threshold: 0.99 });
  assert.equal(r.verdict, 'inconclusive', '199/200 has an interval reaching below 99%');
  assert.match(r.evidence, /^maxout 99\.5% \[97\.2, 99\.9\] \(n=200, wilson\); claimed >= 99\.0%: the interval straddles 99\.0%$/);
  const cp = claimAtLeast({ id: 'L4', statement: 's', value: firstK('maxout', 199), threshold: 0.99, method: 'clopper-pearson' });
  assert.ok((cp.numbers.hi as number) > (r.numbers.hi as number), 'method reaches the interval (Clopper-Pearson reaches higher here)');
  const time = claimAtMost({ id: 'G2', statement: 'less than half the cost per epoch', value: { label: 'cost ratio', value: 0.31 }, threshold: 0.5 });
  assert.equal(time.verdict, 'supported');
  assert.match(time.evidence, /one measurement, no interval.*the value lies at or below 0\.5/);
  const seeds = aggregateSeeds([0.52, 0.55, 0.58], { clip: [0, 1] });
  const agg = claimAtLeast({ id: 'S', statement: 's', value: { label: 'mean of 3 seeds', estimate: seeds.mean, lo: seeds.ci!.lo, hi: seeds.ci!.hi, unit: 'fraction' }, threshold: 0.6 });
  assert.equal(agg.verdict, 'inconclusive');
  assert.throws(() => claimAtLeast({ id: 'S', statement: 's', value: { label: 'x', estimate: 0.9, lo: 0.1, hi: 0.5 }, threshold: 0.2 }), /outside \[lo, hi\]/);
  assert.throws(() => claimAtLeast({ id: 'S', statement: 's', value: { label: 'x', k: 5, n: 10 }, threshold: NaN }), /threshold must be a finite number/);
});

test('claimTrend: monotone rise supported, a significant dip downgrades it, a fall contradicts, consecutive mode', () => {
  const rising = [firstK('λ=0', 40), firstK('λ=100', 80), firstK('λ=300', 120)];
  const up = claimTrend({ id: 'X5', statement: 'robust accuracy rises with lambda', points: rising, direction: 'increasing' });
  assert.equal(up.verdict, 'supported');
  assert.equal(up.parts?.length, 2);
  assert.equal(up.numbers.reversals, 0);
  const dip = claimTrend({ id: 'X5', statement: 's', points: [firstK('λ=0', 40), firstK('λ=100', 120), firstK('λ=300', 60)], direction: 'increasing' });
  assert.equal(dip.verdict, 'inconclusive');
  assert.match(dip.evidence, /not monotone: λ=300 below λ=100, significantly/);
  const fall = claimTrend({ id: 'X5', statement: 's', points: rising.slice().reverse(), direction: 'increasing' });
  assert.equal(fall.verdict, 'contradicted');
  assert.equal(claimTrend({ id: 'X5', statement: 's', points: rising.slice().reverse(), direction: 'decreasing' }).verdict, 'supported');
  assert.equal(claimTrend({ id: 'X5', statement: 's', points: rising, direction: 'increasing', mode: 'consecutive' }).verdict, 'supported');
  const flatStep = [firstK('a', 40), firstK('b', 42), firstK('c', 120)];
  assert.equal(claimTrend({ id: 'X5', statement: 's', points: flatStep, direction: 'increasing' }).verdict, 'supported', 'endpoints: overall rise');
  assert.equal(claimTrend({ id: 'X5', statement: 's', points: flatStep, direction: 'increasing', mode: 'consecutive' }).verdict, 'inconclusive', 'every step: a->b is not significant');
  assert.throws(() => claimTrend({ id: 'X5', statement: 's', points: [firstK('a', 1)], direction: 'increasing' }), /at least 2 models/);
});

test('claimAll: contradicted if any part is, supported if all are, not testable if all are, else inconclusive', () => {
  const [a, b] = pair(100, 30, 5, 65);
  const s = claimPaired({ id: 'a', statement: 's', a, b });
  const c = claimPaired({ id: 'b', statement: 's', a: b, b: a });
  const i = claimPaired({ id: 'c', statement: 's', ...(() => { const [x, y] = pair(100, 12, 8, 80); return { a: x, b: y }; })() });
  const n = claimNotTestable('d', 's', 'needs CIFAR-10 models');
  assert.equal(claimAll('X', 'all', [s, s]).verdict, 'supported');
  assert.equal(claimAll('X', 'all', [s, c, n]).verdict, 'contradicted');
  assert.equal(claimAll('X', 'all', [s, i]).verdict, 'inconclusive');
  assert.equal(claimAll('X', 'all', [s, n]).verdict, 'inconclusive', 'a part not tested leaves the conjunction open');
  assert.equal(claimAll('X', 'all', [n, n]).verdict, 'not testable');
  const r = claimAll('X4', 'FGR + AT beats both', [s, i]);
  assert.equal(r.evidence, '2 parts: 1 supported, 1 inconclusive (a supported; c inconclusive)');
  assert.deepEqual(r.numbers, { supported: 1, contradicted: 0, inconclusive: 1, 'not testable': 0 });
  assert.throws(() => claimAll('X', 'all', []), /non-empty array/);
  assert.throws(() => claimNotTestable('X', 's', ''), /give the reason/);
});

test('claim() dispatches specs; claimsTable rows; publishClaims writes claims.csv/md that read back', () => {
  const [a, b] = pair(100, 30, 5, 65);
  const results = [
    claim({ kind: 'paired', id: 'X1', statement: 'FGR beats IGR by a large margin', source: 'abstract', a, b, margin: 0.05 }),
    claim({ kind: 'all', id: 'X4', statement: 'FGR + AT beats either alone', parts: [
      { kind: 'paired', id: 'X4a', statement: 'beats FGR', a, b },
      { kind: 'notTestable', id: 'X4b', statement: 'beats AT', reason: 'no AT model in the quick profile' },
    ] }),
    claim({ kind: 'atLeast', id: 'L4', statement: 'clean >= 99%', value: { label: 'maxout', k: 199, n: 200 }, threshold: 0.99 }),
    claimNotTestable('X6', 'the random start helps', 'random start not trained in the quick profile'),
  ];
  const rows = claimsTable(results);
  assert.deepEqual(rows.map((r) => [r.id, r.verdict]), [['X1', 'supported'], ['X4', 'inconclusive'], ['X4a', 'supported'], ['X4b', 'not testable'], ['L4', 'inconclusive'], ['X6', 'not testable']]);
  assert.deepEqual(Object.keys(rows[0]), ['id', 'claim', 'source', 'test', 'verdict', 'evidence']);
  assert.equal(rows[2].claim, '↳ beats FGR');
  assert.equal(claimsTable(results, { parts: false }).length, 4);
  assert.throws(() => claimsTable([results[0], results[0]]), /id 'X1' appears twice/);
  assert.throws(() => claimsTable([]), /no claims; list every claim/);
  assert.throws(() => claim({ kind: 'nope' } as never), /unknown kind "nope"/);

  const old = process.env.GRADREG_FIGURES_DIR;
  process.env.GRADREG_FIGURES_DIR = root;
  delete process.env.GRADREG_NOTEBOOK;
  try {
    publishClaims(results, '02-test');
    const files = { csv: path.join(root, '02-test', 'claims.csv'), md: path.join(root, '02-test', 'claims.md') };
    const back = parseCsv(fs.readFileSync(files.csv, 'utf8'));
    assert.deepEqual(back.map((r) => r.verdict), rows.map((r) => r.verdict));
    assert.equal(back[0].evidence, results[0].evidence);
    assert.match(fs.readFileSync(files.md, 'utf8'), /\| X1 \| FGR beats IGR by a large margin \| abstract \|/);
    assert.throws(() => publishClaims([], '02-test'), /no claims/);
    assert.ok(fs.existsSync(files.csv), 'a refused publish leaves the earlier file');
  } finally {
    if (old === undefined) delete process.env.GRADREG_FIGURES_DIR;
    else process.env.GRADREG_FIGURES_DIR = old;
  }
});
