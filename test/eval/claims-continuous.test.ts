// claimPairedMean / pairedMeanTest: the t-interval against a hand computation, every verdict, 'lower is better', dropped
// non-finite pairs, the sign test, degenerate spreads and the argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimPairedMean, pairedMeanTest } from '../../lib/eval/claims-continuous';
import { claimsTable } from '../../lib/eval/claims';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('pairedMeanTest: mean, t-interval and p-value match a hand computation', () => {
  // d = a - b = [1, 2, 3, 4, 5]: mean 3, sd sqrt(2.5), se sqrt(0.5); t_{0.975, 4} = 2.7764451051977987.
  const b = [0.1, 0.2, 0.3, 0.4, 0.5];
  const a = b.map((x, i) => x + i + 1);
  const t = pairedMeanTest(a, b);
  close(t.diff, 3);
  close(t.sd, Math.sqrt(2.5));
  const half = 2.7764451051977987 * Math.sqrt(0.5);
  close(t.lo, 3 - half, 1e-7);
  close(t.hi, 3 + half, 1e-7);
  // t = 3 / sqrt(0.5) = 4.2426; two-sided p with 4 df = 0.013236 (R: 2*pt(-4.242641, 4)).
  close(t.pValue, 0.01324, 2e-5);
  assert.deepEqual([t.n, t.dropped, t.aBetter, t.bBetter], [5, 0, 5, 0]);
  close(t.signP, 2 / 32); // all 5 in one direction: 2 * 0.5^5
});

test("pairedMeanTest: 'lower' flips the sign; non-finite pairs are dropped and counted", () => {
  const a = [1, 2, NaN, 4];
  const b = [2, 4, 1, Infinity];
  const t = pairedMeanTest(a, b, { better: 'lower' });
  assert.equal(t.n, 2);
  assert.equal(t.dropped, 2);
  close(t.diff, 1.5); // improvements b - a = 1, 2
  close(t.meanA, 1.5);
  close(t.meanB, 3);
});

test('pairedMeanTest: identical differences give an exact answer, not NaN', () => {
  const t = pairedMeanTest([2, 3, 4], [1, 2, 3]);
  assert.deepEqual([t.lo, t.hi, t.pValue], [1, 1, 0]);
  const z = pairedMeanTest([1, 2, 3], [1, 2, 3]);
  assert.deepEqual([z.diff, z.pValue, z.signP], [0, 1, 1]);
});

/** n inputs whose improvement of a over b is shift + noise (deterministic, zero-mean noise of amplitude amp). */
function arms(n: number, shift: number, amp = 0.1) {
  const b = Array.from({ length: n }, (_, i) => 0.5 + 0.2 * Math.sin(i));
  const a = b.map((x, i) => x + shift + amp * (i % 2 === 0 ? 1 : -1));
  return { a: { label: 'SAGR', values: a }, b: { label: 'Jacobian', values: b } };
}

test('claimPairedMean: supported, contradicted and inconclusive, with the numbers that decided it', () => {
  const sup = claimPairedMean({ id: 'S4', statement: 'SAGR maps are better localized', source: 'abstract', metric: 'localization', ...arms(40, 0.05) });
  assert.equal(sup.verdict, 'supported');
  assert.equal(sup.numbers.n, 40);
  close(sup.numbers.diff as number, 0.05, 1e-12);
  assert.ok((sup.numbers.diffLo as number) > 0);
  assert.match(sup.evidence, /^localization \(higher is better\): SAGR mean [\d.]+ vs Jacobian mean [\d.]+ on the same 40 inputs: improvement \+0\.05, 95% CI \[\+[\d.]+, \+[\d.]+\], paired t p[<=][\d.]+; sign test \d+ vs \d+ p[<=][\d.]+; CI above 0 and p < 0\.05$/);
  assert.equal(sup.source, 'abstract');

  const con = claimPairedMean({ id: 'S4b', statement: 'worse', metric: 'localization', ...arms(40, -0.05) });
  assert.equal(con.verdict, 'contradicted');
  assert.match(con.evidence, /CI below 0 and p < 0\.05: Jacobian is the better/);

  const inc = claimPairedMean({ id: 'S4c', statement: 'tie', metric: 'localization', ...arms(40, 0.005) });
  assert.equal(inc.verdict, 'inconclusive');
  assert.match(inc.evidence, /CI includes 0/);
});

test('claimPairedMean: margins follow claimPaired (a large-gain claim, a non-inferiority claim)', () => {
  // Improvement 0.05 +- ~0.03: clearly above 0, clearly below a claimed 0.2 -> contradicted (the gain is smaller than claimed).
  assert.equal(claimPairedMean({ id: 'M1', statement: 'by 0.2', metric: 'm', margin: 0.2, ...arms(40, 0.05) }).verdict, 'contradicted');
  // Non-inferiority: no worse than -0.1 needs only lo > -0.1, even for a mean improvement near 0.
  assert.equal(claimPairedMean({ id: 'M2', statement: 'no worse', metric: 'm', margin: -0.1, ...arms(40, 0.005) }).verdict, 'supported');
  // A margin the CI straddles.
  assert.equal(claimPairedMean({ id: 'M3', statement: 'by 0.05', metric: 'm', margin: 0.05, ...arms(40, 0.05) }).verdict, 'inconclusive');
});

test("claimPairedMean: 'lower is better' metrics (deletion AUC) and the claims table", () => {
  const { a, b } = arms(30, -0.04); // a's values are LOWER: better for deletion AUC
  const r = claimPairedMean({ id: 'D', statement: 'lower deletion AUC', metric: 'deletion AUC', better: 'lower', a, b });
  assert.equal(r.verdict, 'supported');
  assert.equal(r.numbers.better, 'lower');
  const rows = claimsTable([r]);
  assert.equal(rows[0].verdict, 'supported');
  assert.match(String(rows[0].test), /paired \(continuous\)/);
});

test('claimPairedMean: argument checks name the bad field', () => {
  const { a, b } = arms(10, 0.1);
  assert.throws(() => claimPairedMean({ id: '', statement: 's', metric: 'm', a, b }), /id must be a non-empty string/);
  assert.throws(() => claimPairedMean({ id: 'X', statement: 's', metric: '', a, b }), /metric must name/);
  assert.throws(() => claimPairedMean({ id: 'X', statement: 's', metric: 'm', a, b: { label: 'B', values: [1, 2] } }), /one value per input.*10 and 2/);
  assert.throws(() => claimPairedMean({ id: 'X', statement: 's', metric: 'm', a: { label: '', values: [1] }, b }), /a\.label/);
  assert.throws(() => claimPairedMean({ id: 'X', statement: 's', metric: 'm', alpha: 0.7, a, b }), /alpha must be in/);
  assert.throws(() => claimPairedMean({ id: 'X', statement: 's', metric: 'm', a: { label: 'A', values: [NaN, 1] }, b: { label: 'B', values: [1, NaN] } }), /at least 2 inputs/);
  assert.throws(() => pairedMeanTest([1, 2], [1, 2], { better: 'up' as 'higher' }), /better must be/);
});
