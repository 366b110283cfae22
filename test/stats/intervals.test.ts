// Intervals against published values and against their defining equations, computed here independently of lib/stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyInterval, clopperPearson, countInterval, wilson } from '../../lib/stats/intervals';
import { betaQuantile, normalQuantile, regIncBeta, studentTQuantile } from '../../lib/stats/special';

const Z95 = 1.959963984540054; // published 97.5% normal quantile

/** Binomial pmf by the product recurrence (no log-gamma, no incomplete beta): an independent reference. */
function pmf(n: number, p: number): number[] {
  const logs = [n * Math.log1p(-p)]; // in logs: (1 - p)^n underflows for p near 1
  for (let i = 0; i < n; i++) logs.push(logs[i] + Math.log((n - i) / (i + 1)) + Math.log(p) - Math.log1p(-p));
  return logs.map(Math.exp);
}
const sum = (a: number[]) => a.reduce((s, x) => s + x, 0);

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

test('quantiles match published tables', () => {
  close(normalQuantile(0.975), Z95, 1e-12, 'z 0.975');
  close(normalQuantile(0.995), 2.5758293035489, 1e-11, 'z 0.995');
  close(normalQuantile(0.025), -Z95, 1e-12, 'z 0.025');
  // t tables: df 1, 2, 4, 9, 30
  for (const [df, t] of [[1, 12.7062047362], [2, 4.3026527297], [4, 2.7764451052], [9, 2.2621571628], [30, 2.0422724563]]) close(studentTQuantile(0.975, df), t, 1e-8, `t df=${df}`);
  close(regIncBeta(0.5, 2, 3), 0.6875, 1e-14, 'I_0.5(2,3) = 11/16');
  close(betaQuantile(0.5, 1, 1), 0.5, 1e-14, 'uniform median');
  close(betaQuantile(0.025, 1, 10), 1 - Math.pow(0.975, 1 / 10), 1e-14, 'Beta(1,10) closed form');
});

test('Wilson: published values (Newcombe 1998) and the score equation at both ends', () => {
  const cases: [number, number, number, number][] = [
    [0, 10, 0, 0.2775], [5, 10, 0.2366, 0.7634], [81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611], [1, 29, 0.0061, 0.1718],
  ];
  for (const [k, n, lo, hi] of cases) {
    const ci = wilson(k, n);
    close(ci.lo, lo, 5e-5, `wilson ${k}/${n} lo`);
    close(ci.hi, hi, 5e-5, `wilson ${k}/${n} hi`);
    // Both ends solve (phat - p)^2 = z^2 p (1 - p) / n.
    for (const p of [ci.lo, ci.hi]) if (p > 0 && p < 1) close((k / n - p) ** 2, (Z95 * Z95 * p * (1 - p)) / n, 1e-12, `score equation ${k}/${n} at ${p}`);
  }
  assert.deepEqual(wilson(10, 10).hi, 1);
  close(wilson(0, 10).hi, (Z95 * Z95) / (10 + Z95 * Z95), 1e-12, 'wilson 0/n closed form');
  assert.ok(wilson(50, 100, 0.99).hi > wilson(50, 100).hi, 'a higher level widens the interval');
});

test('Clopper-Pearson: published values, closed forms, and the binomial tails at the bounds are alpha/2', () => {
  close(clopperPearson(0, 10).hi, 0.3084971, 5e-8, 'CP 0/10 upper');
  close(clopperPearson(0, 10).hi, 1 - Math.pow(0.025, 1 / 10), 1e-13, 'CP 0/n closed form');
  close(clopperPearson(5, 10).lo, 0.187086, 5e-7, 'CP 5/10 lo');
  close(clopperPearson(5, 10).hi, 0.812914, 5e-7, 'CP 5/10 hi');
  close(clopperPearson(10, 10).lo, Math.pow(0.025, 1 / 10), 1e-13, 'CP n/n closed form');
  for (const [k, n, lo, hi] of [[81, 263, 0.2527, 0.3676], [15, 148, 0.0578, 0.1617], [1, 29, 0.0009, 0.1776]]) {
    const ci = clopperPearson(k, n);
    close(ci.lo, lo, 5e-5, `CP ${k}/${n} lo`);
    close(ci.hi, hi, 5e-5, `CP ${k}/${n} hi`);
  }
  // Defining property: P(X >= k | lo) = P(X <= k | hi) = 0.025, with an independent pmf.
  for (const [k, n] of [[1, 29], [5, 10], [81, 263], [37, 300], [299, 300]]) {
    const ci = clopperPearson(k, n);
    close(sum(pmf(n, ci.lo).slice(k)), 0.025, 1e-10, `upper tail at lo for ${k}/${n}`);
    close(sum(pmf(n, ci.hi).slice(0, k + 1)), 0.025, 1e-10, `lower tail at hi for ${k}/${n}`);
    const w = wilson(k, n);
    // Exact is the conservative one away from the edges (near k = 0 or n Wilson's far side is the wider one).
    if (k / n > 0.1 && k / n < 0.9) assert.ok(ci.lo < w.lo && ci.hi > w.hi, `CP is wider than Wilson at ${k}/${n}`);
  }
  const tiny = clopperPearson(1, 1_000_000);
  close(tiny.lo, -Math.log(0.975) / 1_000_000, 1e-11, 'tiny lower bound keeps relative precision');
});

test('accuracyInterval counts per-example correctness; bad input names the fix', () => {
  const r = accuracyInterval(new Uint8Array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1]));
  assert.equal(r.k, 7);
  assert.equal(r.n, 10);
  assert.equal(r.acc, 0.7);
  assert.deepEqual([r.lo, r.hi], [wilson(7, 10).lo, wilson(7, 10).hi]);
  const cp = accuracyInterval([true, false, true, true], 'clopper-pearson');
  assert.deepEqual([cp.lo, cp.hi], [clopperPearson(3, 4).lo, clopperPearson(3, 4).hi]);
  assert.throws(() => accuracyInterval([1, 0, 2]), /correctness\[2\] is 2; entries are 0 \(wrong\) or 1/);
  assert.throws(() => accuracyInterval([]), /empty/);
  assert.throws(() => wilson(0.5 * 10, 0), /n must be a positive integer/);
  assert.throws(() => wilson(0.8, 10), /k must be an integer count.*not the fraction/);
  assert.throws(() => clopperPearson(3, 10, 95), /level must be in \(0, 1\)/);
  assert.throws(() => countInterval(3, 10, 'wald' as 'wilson'), /unknown method "wald"/);
});
