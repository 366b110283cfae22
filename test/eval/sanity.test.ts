// Sanity checks that can fail for the right reason (issue 14 item 3): status pass/fail/n-a, a near-chance threshold with the
// interval's slack, a black-box attack with too few queries is 'n/a' (never 'pass'), every failure carries a diagnosis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttackResult, RobustnessReport } from '../../lib/eval';
import { DIAGNOSIS, sanityChecks, sanitySummary } from '../../lib/eval';
import { wilson } from '../../lib/stats';

type Spec = Omit<AttackResult, 'correct' | 'seconds'>;

function report(attacks: Spec[], n = 100, numClasses?: number): RobustnessReport {
  const full = attacks.map((a) => ({ ...a, seconds: 0, correct: Uint8Array.from({ length: n }, (_, i) => (i < Math.round(a.acc * n) ? 1 : 0)) }));
  return { n, clean: 1, cleanCorrect: new Uint8Array(n).fill(1), attacks: full, seconds: 0, ...(numClasses ? { numClasses } : {}) };
}

function silent<T>(fn: () => T): T {
  const orig = console.warn;
  console.warn = () => {};
  try { return fn(); } finally { console.warn = orig; }
}

const find = (cs: ReturnType<typeof sanityChecks>, re: RegExp) => {
  const c = cs.filter((k) => re.test(k.check));
  assert.equal(c.length, 1, `one check matching ${re}: ${JSON.stringify(cs.map((k) => k.check))}`);
  return c[0];
};

test('black-box check: too few queries and not beating white-box is n/a, beating is a fail whatever the queries, enough queries pass', () => {
  const pgd = { attack: 'apgd-ce', norm: 'linf' as const, eps: 0.1, acc: 0.3 };
  const sq = (acc: number, queries?: number): Spec => ({ attack: 'square', norm: 'linf', eps: 0.1, acc, ...(queries !== undefined ? { config: { queries } } : {}) });
  const few = find(silent(() => sanityChecks(report([pgd, sq(0.5, 100)]))), /square does not beat/);
  assert.equal(few.status, 'n/a');
  assert.equal(few.passed, true, 'passed (compatibility) means "not failed"');
  assert.match(few.detail, /100 queries, fewer than 1000: too few to expose masking/);
  assert.equal(few.diagnosis, undefined, 'no diagnosis unless it failed');
  const beats = find(silent(() => sanityChecks(report([pgd, sq(0.1, 100)]))), /square does not beat/);
  assert.equal(beats.status, 'fail');
  assert.equal(beats.passed, false);
  assert.equal(beats.diagnosis, DIAGNOSIS.blackBox);
  assert.equal(find(sanityChecks(report([pgd, sq(0.5, 1000)])), /square does not beat/).status, 'pass');
  assert.equal(find(sanityChecks(report([pgd, sq(0.5, 500)]), { minQueries: 500 }), /square does not beat/).status, 'pass');
  assert.equal(find(sanityChecks(report([pgd, { attack: 'flow-square', norm: 'linf', eps: 0.1, acc: 0.5, config: { queries: 20 } }])), /flow-square/).status, 'n/a');
  assert.equal(find(sanityChecks(report([pgd, { attack: 'transfer:pgd@m', norm: 'linf', eps: 0.1, acc: 0.5 }])), /transfer/).status, 'pass', 'a transfer attack has no query budget');
});

test('large eps: passes when the 95% interval reaches chance (1/numClasses), fails above it; the threshold can be set', () => {
  const r = (acc: number, numClasses?: number) => report([
    { attack: 'apgd-ce', norm: 'linf', eps: 0.1, acc: 0.5 }, { attack: 'apgd-ce', norm: 'linf', eps: 0.5, acc },
  ], 100, numClasses);
  // 14/100: Wilson lower end 0.085 <= 0.1 (chance with 10 classes): consistent with chance.
  assert.ok(wilson(14, 100).lo <= 0.1 && wilson(20, 100).lo > 0.1);
  const near = find(sanityChecks(r(0.14, 10)), /large eps reaches ~chance/);
  assert.equal(near.status, 'pass');
  assert.match(near.detail, /14% \[9, 22\] at eps 0.5 \(chance 10%\)/);
  const far = find(silent(() => sanityChecks(r(0.2, 10))), /large eps/);
  assert.equal(far.status, 'fail');
  assert.equal(far.diagnosis, DIAGNOSIS.largeEps);
  // Two classes: chance is 50%.
  assert.equal(find(sanityChecks(r(0.45, 2)), /large eps/).status, 'pass');
  assert.equal(find(silent(() => sanityChecks(r(0.45, 10))), /large eps/).status, 'fail');
  assert.equal(find(sanityChecks(r(0.45, 10), { largeEpsMax: 0.5 }), /large eps/).status, 'pass');
  assert.throws(() => sanityChecks(r(0.1), { largeEpsMax: 10 }), /largeEpsMax must be an accuracy in \[0, 1\], got 10/);
});

test('complete mode lists every kind of check, n/a with the reason when the report cannot support it', () => {
  const only = report([{ attack: 'apgd-ce', norm: 'linf', eps: 0.1, acc: 0.3 }]);
  assert.deepEqual(sanityChecks(only).map((c) => c.check), [], 'without complete: only checks that apply (as before)');
  const cs = sanityChecks(only, { complete: true });
  assert.deepEqual(cs.map((c) => c.status), ['n/a', 'n/a', 'n/a', 'pass']);
  assert.match(find(cs, /iterative beats single-step/).detail, /no single-step attack \(fgsm, fgm-l2, fgm-l1, flow-fgsm\)/);
  assert.match(find(cs, /monotonically/).detail, /only 1 eps evaluated/);
  assert.match(find(cs, /gradient-free/).detail, /no gradient-free or transfer attack/);
  assert.equal(find(cs, /logits finite/).status, 'pass');
});

test('every failure carries its diagnosis; single-step and monotone failures are diagnosed as such', () => {
  const cs = silent(() => sanityChecks(report([
    { attack: 'fgsm', norm: 'linf', eps: 0.1, acc: 0.1 }, { attack: 'apgd-ce', norm: 'linf', eps: 0.1, acc: 0.3 },
    { attack: 'apgd-ce', norm: 'linf', eps: 0.2, acc: 0.5 },
  ], 100, 10)));
  assert.equal(find(cs, /iterative beats single-step/).diagnosis, DIAGNOSIS.singleStep);
  assert.equal(find(cs, /monotonically/).diagnosis, DIAGNOSIS.monotone);
  for (const c of cs) assert.equal(c.diagnosis !== undefined, c.status === 'fail', c.check);
  const flowSingle = silent(() => sanityChecks(report([{ attack: 'flow-fgsm', norm: 'flow', eps: 0.05, acc: 0.1 }, { attack: 'flow-pgd', norm: 'flow', eps: 0.05, acc: 0.4 }])));
  assert.equal(find(flowSingle, /iterative beats single-step \(flow-fgsm/).status, 'fail');
});

test('sanitySummary: one table cell that never calls an n/a a plain pass', () => {
  const mk = (status: 'pass' | 'fail' | 'n/a', check: string) => ({ check, status, passed: status !== 'fail', detail: '' });
  assert.equal(sanitySummary([mk('pass', 'a'), mk('pass', 'b')]), 'pass');
  assert.equal(sanitySummary([mk('pass', 'a'), mk('n/a', 'b'), mk('n/a', 'c')]), 'pass (2 n/a)');
  assert.equal(sanitySummary([mk('fail', 'a'), mk('n/a', 'b'), mk('fail', 'c')]), 'FAIL: a; c');
});
