// The strong protocol's L1 threat: APGD-L1 (CE, DLR) + Square-L1 + FGM-L1, the extended grid out to the distance to the grey
// image, every sanity check passing on an ordinary MLP, the budget in words; and robustness.ts rejects an "L1" attack that leaves its L1 ball.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../../lib/types';
import { defaultLargeEps, describeBudget, STRONG_BUDGETS, strongAttacks, strongEvaluation, strongTable, evaluateRobustness } from '../../lib/eval';
import { trainedMnistMlp } from '../attacks/small-models';
import { captureWarnings, useBackend } from '../helpers';

test('strong L1 evaluation: ensemble, large-eps grid to the grey image, black-box check, table budget; sane on a trained MLP', async () => {
  await useBackend('cpu');
  assert.deepEqual(strongAttacks('l1', [5], 'quick').map((a) => a.name), ['apgd-ce-l1', 'apgd-dlr-l1', 'square-l1', 'fgm-l1']);
  const [ce, , sq, single] = strongAttacks('l1', [5], 'quick');
  assert.equal(sq.config?.queries, STRONG_BUDGETS.quick.queries);
  assert.equal(ce.config?.steps, STRONG_BUDGETS.quick.steps);
  assert.equal(ce.config?.restarts, STRONG_BUDGETS.quick.restarts);
  assert.equal(single.config?.steps, 1);
  assert.deepEqual(ce.threat, { norm: 'l1', eps: 5, targeted: false });
  assert.deepEqual(defaultLargeEps('l1', [5, 10], [28, 28, 1]), [40, 392]);
  const { model, x, y } = await trainedMnistMlp(16);
  const r = captureWarnings(() => strongEvaluation(model, { x, y }, { threat: 'l1', eps: [8, 2], budget: { preset: 'smoke', steps: 10, queries: 1000 }, quiet: true, cache: false, seed: 1 })).value;
  assert.equal(r.threat, 'l1');
  assert.deepEqual(r.largeEps, [32, 392]);
  assert.deepEqual(r.byEps.map((b) => b.eps), [2, 8]);
  const check = (re: RegExp) => r.sanity.filter((c) => re.test(c.check)).map((c) => c.status);
  assert.deepEqual(check(/square-l1 does not beat white-box/), ['pass', 'pass'], JSON.stringify(r.sanity));
  assert.deepEqual(check(/large eps reaches ~chance \(l1, eps 392\)/), ['pass'], JSON.stringify(r.sanity));
  assert.ok(check(/iterative .*single-step|single-step/).every((s) => s === 'pass'), JSON.stringify(r.sanity));
  assert.ok(r.byEps[1].worst.acc <= r.byEps[0].worst.acc, 'the worst case cannot rise with eps');
  assert.ok(r.byEps[1].worst.acc < r.clean.acc, 'L1 eps 8 fools part of an undefended MLP');
  assert.equal(describeBudget(r), 'APGD-L1 10 steps x 1 restarts, Square-L1 1000 queries');
  const rows = strongTable(r);
  assert.equal(rows[0].threat, 'l1');
  assert.match(String(rows[0]['apgd-ce-l1']), /^\d+% \[\d+, \d+\]$/);
  tf.dispose([x, y]);
  model.dispose();
});

test('an L1 attack that moves an input by more than its L1 budget is an error, not a number (robustness.ts validation)', async () => {
  await useBackend('cpu');
  const { model, x, y } = await trainedMnistMlp(4);
  // Each pixel moves by 0.01 (an L1 distance of about 7.8 per image, under a budget of 1): inside any Linf 0.01 ball, outside L1 1.
  const cheat: Attack = { name: 'cheat-l1', threat: { norm: 'l1', eps: 1 }, config: {}, run: (_m, xx) => tf.tidy(() => tf.clipByValue(tf.add(xx, 0.01), 0, 1) as tf.Tensor4D) };
  assert.throws(() => evaluateRobustness(model, { x, y }, [cheat], { quiet: true, cache: false }), /attack "cheat-l1" moved an input by [\d.]+ \(l1\), more than its budget eps 1/);
  const fair: Attack = { ...cheat, name: 'fair-l1', threat: { norm: 'l1', eps: 8 } };
  assert.equal(evaluateRobustness(model, { x, y }, [fair], { quiet: true, cache: false }).attacks[0].attack, 'fair-l1');
  tf.dispose([x, y]);
  model.dispose();
});
