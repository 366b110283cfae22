// McNemar exact and the CI of the paired difference: known values, exact enumeration, and exact coverage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcnemarExact, mcnemarExactP, mcnemarFromCounts, pairedCounts, pairedDiffInterval } from '../../lib/stats/mcnemar';

/** Two-sided exact binomial p at p = 1/2 with BigInt binomial coefficients: an independent reference. */
function exactP(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  let coef = 1n;
  let tail = 0n;
  for (let i = 0; i <= Math.min(b, c); i++) {
    tail += coef;
    coef = (coef * BigInt(m - i)) / BigInt(i + 1);
  }
  return Math.min(1, (2 * Number(tail)) / 2 ** m);
}

/** Correctness vectors realizing a paired table (both, aOnly, bOnly, neither), shuffled so order does not matter. */
function vectors(both: number, aOnly: number, bOnly: number, neither: number): [Uint8Array, Uint8Array] {
  const pairs: [number, number][] = [];
  for (const [n, x, y] of [[both, 1, 1], [aOnly, 1, 0], [bOnly, 0, 1], [neither, 0, 0]]) for (let i = 0; i < n; i++) pairs.push([x, y]);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  return [Uint8Array.from(pairs.map((p) => p[0])), Uint8Array.from(pairs.map((p) => p[1]))];
}

test('exact McNemar p: known values and BigInt enumeration', () => {
  assert.ok(Math.abs(mcnemarExactP(2, 8) - 0.109375) < 1e-12);
  assert.ok(Math.abs(mcnemarExactP(8, 2) - 0.109375) < 1e-12, 'symmetric');
  assert.ok(Math.abs(mcnemarExactP(0, 6) - 0.03125) < 1e-12);
  assert.equal(mcnemarExactP(0, 0), 1);
  assert.equal(mcnemarExactP(5, 5), 1);
  for (const [b, c] of [[0, 1], [1, 9], [3, 17], [12, 30], [40, 41], [100, 140], [480, 520]]) {
    const want = exactP(b, c);
    assert.ok(Math.abs(mcnemarExactP(b, c) - want) <= 1e-10 * Math.max(want, 1e-300) + 1e-15, `p(${b}, ${c}) = ${mcnemarExactP(b, c)} vs ${want}`);
  }
  assert.throws(() => mcnemarExactP(1.5, 2), /aOnly must be a count/);
});

test('the exact test never rejects more than 5% of the time under H0 (enumerated)', () => {
  for (const m of [10, 25, 60]) {
    let size = 0;
    for (let b = 0; b <= m; b++) if (mcnemarExactP(b, m - b) < 0.05) size += Number(binom(m, b)) / 2 ** m;
    assert.ok(size <= 0.05, `size at m=${m}: ${size}`);
    assert.ok(size > 0.01, `the test has some power at m=${m}: ${size}`);
  }
});
function binom(n: number, k: number): bigint {
  let c = 1n;
  for (let i = 0; i < k; i++) c = (c * BigInt(n - i)) / BigInt(i + 1);
  return c;
}

test('Newcombe method-10 CI: published value (Fagerland et al., Cavo 2012 table) and exact coverage', () => {
  const cavo = pairedDiffInterval({ both: 59, aOnly: 6, bOnly: 16, neither: 80 });
  assert.ok(Math.abs(cavo.lo - -0.1186) < 5e-5 && Math.abs(cavo.hi - -0.0046) < 5e-5, `Cavo: [${cavo.lo}, ${cavo.hi}] vs [-0.1186, -0.0046]`);
  const none = pairedDiffInterval({ both: 50, aOnly: 0, bOnly: 0, neither: 50 });
  assert.ok(none.lo < 0 && none.hi > 0, 'no discordant pairs: an interval around 0, not [0, 0]');
  // Exact coverage at n = 30: sum the multinomial probability of every table whose CI holds the true difference.
  const n = 30;
  const lf = [0];
  for (let i = 1; i <= n; i++) lf.push(lf[i - 1] + Math.log(i));
  for (const p of [[0.4, 0.1, 0.1, 0.4], [0.7, 0.1, 0.05, 0.15], [0.2, 0.3, 0.1, 0.4]]) {
    let cover = 0;
    for (let a = 0; a <= n; a++) for (let b = 0; a + b <= n; b++) for (let c = 0; a + b + c <= n; c++) {
      const d = n - a - b - c;
      const ci = pairedDiffInterval({ both: a, aOnly: b, bOnly: c, neither: d });
      if (ci.lo <= p[1] - p[2] && p[1] - p[2] <= ci.hi) {
        cover += Math.exp(lf[n] - lf[a] - lf[b] - lf[c] - lf[d] + a * Math.log(p[0]) + b * Math.log(p[1]) + c * Math.log(p[2]) + d * Math.log(p[3]));
      }
    }
    assert.ok(cover >= 0.94 && cover <= 0.999, `coverage at ${p}: ${cover}`);
  }
});

test('mcnemarExact on per-example vectors: counts, accuracies, diff = accA - accB, CI holds diff; bad input names the fix', () => {
  const [a, b] = vectors(59, 6, 16, 80);
  const r = mcnemarExact(a, b);
  assert.deepEqual([r.both, r.aOnly, r.bOnly, r.neither, r.n], [59, 6, 16, 80, 161]);
  assert.equal(r.accA, 65 / 161);
  assert.equal(r.accB, 75 / 161);
  assert.ok(Math.abs(r.diff - (r.accA - r.accB)) < 1e-15);
  assert.ok(Math.abs(r.pValue - exactP(6, 16)) < 1e-12);
  assert.ok(r.ci.lo <= r.diff && r.diff <= r.ci.hi);
  assert.deepEqual(r, mcnemarFromCounts(pairedCounts(a, b)));
  const swapped = mcnemarExact(b, a);
  assert.ok(Math.abs(swapped.ci.lo + r.ci.hi) < 1e-12 && Math.abs(swapped.ci.hi + r.ci.lo) < 1e-12, 'swapping a and b mirrors the CI');
  assert.ok(mcnemarExact(a, b, { level: 0.99 }).ci.lo < r.ci.lo, '99% is wider');
  assert.throws(() => mcnemarExact([1, 0, 1], [1, 0]), /a has 3 examples but b has 2.*SAME examples/);
  assert.throws(() => mcnemarExact([1, 0.5], [1, 0]), /correctness\[1\] is 0\.5/);
});
