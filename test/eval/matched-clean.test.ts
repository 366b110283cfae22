import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateRobust, matchByClean } from '../../lib/eval/matched-clean';

test('matchByClean: each A point gets the B point closest in clean accuracy; pairs beyond the tolerance are marked unmatched', () => {
  const fgr = [{ id: 'f1', clean: 0.70, robust: 0.2 }, { id: 'f2', clean: 0.62, robust: 0.3 }, { id: 'f3', clean: 0.40, robust: 0.35 }];
  const igr = [{ id: 'i1', clean: 0.72, robust: 0.1 }, { id: 'i2', clean: 0.60, robust: 0.15 }];
  const m = matchByClean(fgr, igr, 0.05);
  assert.deepEqual(m.map((p) => [p.a.id, p.b.id, p.matched]), [['f1', 'i1', true], ['f2', 'i2', true], ['f3', 'i2', false]]);
  assert.ok(Math.abs(m[0].gap - -0.02) < 1e-12 && Math.abs(m[2].gap - -0.2) < 1e-12);
  assert.throws(() => matchByClean(fgr, igr, 5), /tolerance must be a clean-accuracy difference in \[0, 1\]/);
  assert.throws(() => matchByClean(fgr, [], 0.05), /both curves need points/);
  assert.throws(() => matchByClean([{ clean: 62 }], igr, 0.05), /clean accuracy must be a fraction in \[0, 1\], got 62/);
});

test('interpolateRobust: linear between neighbours in clean accuracy, exact at a point, undefined outside the curve', () => {
  const igr = [{ clean: 0.8, robust: 0.1 }, { clean: 0.6, robust: 0.3 }, { clean: 0.7, robust: 0.2 }];
  assert.ok(Math.abs(interpolateRobust(igr, 0.65)! - 0.25) < 1e-12);
  assert.equal(interpolateRobust(igr, 0.7), 0.2);
  assert.equal(interpolateRobust(igr, 0.5), undefined);
  assert.equal(interpolateRobust(igr, 0.85), undefined);
  assert.equal(interpolateRobust([], 0.5), undefined);
});
