// The convergence check's tolerance is "at most 2/n": doubling the steps may cost exactly 2 examples and pass, 3 fail, whatever
// the counts (in doubles, 19/150 - 2/150 is just below 17/150, which failed a check that should pass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convergenceFromResults, type AttackResult } from '../../lib/eval';
import { captureWarnings } from '../helpers';

const result = (robust: number, n: number): AttackResult => {
  const correct = new Uint8Array(n);
  correct.fill(1, 0, robust);
  return { attack: 'flow-pgd', norm: 'flow', eps: 0.05, acc: robust / n, correct, nonFinite: 0, seconds: 0 } as unknown as AttackResult;
};

test('convergence: losing exactly 2 of n examples passes for every count, losing 3 fails', () => {
  for (const n of [100, 150, 300]) {
    for (let k = 3; k <= n; k++) {
      const two = captureWarnings(() => convergenceFromResults(result(k, n), result(k - 2, n), 40)).value;
      assert.equal(two.passed, true, `${k} -> ${k - 2} of ${n}`);
      const three = captureWarnings(() => convergenceFromResults(result(k, n), result(k - 3, n), 40)).value;
      assert.equal(three.passed, false, `${k} -> ${k - 3} of ${n}`);
    }
  }
});
