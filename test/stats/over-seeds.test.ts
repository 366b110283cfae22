import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyOverSeeds } from '../../lib/stats/over-seeds';
import { countInterval } from '../../lib/stats/intervals';

test('accuracyOverSeeds: one seed keeps its Wilson interval; several give the mean with a t-interval over seeds', () => {
  const one = accuracyOverSeeds([countInterval(93, 150)]);
  assert.equal(one.seeds, 1);
  assert.equal(one.interval, 'Wilson');
  assert.equal(one.acc, 0.62);
  assert.equal(one.text, '62.0% [54.0, 69.4]');
  // 0.60, 0.62, 0.64: mean 0.62, sd 0.02, t_{0.975, 2} = 4.3027 -> half-width 4.3027 * 0.02 / sqrt(3) = 0.04968.
  const three = accuracyOverSeeds([countInterval(90, 150), countInterval(93, 150), countInterval(96, 150)]);
  assert.equal(three.seeds, 3);
  assert.equal(three.interval, 't over seeds');
  assert.ok(Math.abs(three.acc - 0.62) < 1e-12);
  assert.ok(Math.abs(three.sd - 0.02) < 1e-12);
  assert.ok(Math.abs(three.lo - (0.62 - 0.049682)) < 1e-5 && Math.abs(three.hi - (0.62 + 0.049682)) < 1e-5, `${three.lo} ${three.hi}`);
  assert.equal(three.text, '62.0% [57.0, 67.0] (sd 2.0, 3 seeds)');
  // Clipped to [0, 1].
  const high = accuracyOverSeeds([countInterval(150, 150), countInterval(140, 150)]);
  assert.equal(high.hi, 1);
  assert.throws(() => accuracyOverSeeds([]), /non-empty array, one accuracy interval per seed/);
});
