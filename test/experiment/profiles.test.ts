import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeProfile, parseProfile, DEFAULT_PROFILE, NOTEBOOK_TIMEOUT_S, PROFILE_BUDGET_S, PROFILE_NAMES, PROFILES } from '../../lib/experiment/profiles';

function withProfileEnv<T>(value: string | undefined, fn: () => T): T {
  const old = process.env.GRADREG_PROFILE;
  if (value === undefined) delete process.env.GRADREG_PROFILE; else process.env.GRADREG_PROFILE = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.GRADREG_PROFILE; else process.env.GRADREG_PROFILE = old;
  }
}

test('activeProfile reads GRADREG_PROFILE and defaults to quick', () => {
  assert.equal(DEFAULT_PROFILE, 'quick');
  assert.equal(withProfileEnv(undefined, activeProfile), 'quick');
  assert.equal(withProfileEnv('', activeProfile), 'quick');
  assert.equal(withProfileEnv(' smoke ', activeProfile), 'smoke');
  assert.equal(withProfileEnv('paper', activeProfile), 'paper');
});

test('an unknown profile is an error naming the variable and the allowed names', () => {
  assert.throws(() => withProfileEnv('fast', activeProfile), /GRADREG_PROFILE="fast" is not a profile: use one of smoke, quick, paper/);
  // Names inherited from Object.prototype are not profiles.
  assert.throws(() => withProfileEnv('toString', activeProfile), /not a profile/);
  assert.throws(() => parseProfile('constructor', '--profile'), /--profile="constructor" is not a profile/);
});

test('every profile has a description and a runner timeout that grows with the profile', () => {
  assert.deepEqual(PROFILE_NAMES, ['smoke', 'quick', 'paper']);
  for (const p of PROFILE_NAMES) {
    assert.ok(PROFILES[p].length > 0);
    assert.ok(NOTEBOOK_TIMEOUT_S[p] > 0);
  }
  // smoke notebooks must finish in 90 s; the kill switch leaves room for a loaded machine but stays below quick's.
  assert.ok(NOTEBOOK_TIMEOUT_S.smoke >= 90 && NOTEBOOK_TIMEOUT_S.smoke < NOTEBOOK_TIMEOUT_S.quick);
  assert.ok(NOTEBOOK_TIMEOUT_S.quick >= 15 * 60 && NOTEBOOK_TIMEOUT_S.quick < NOTEBOOK_TIMEOUT_S.paper);
  // The kill switch sits above each budget the issue sets (smoke 90 s, quick 15 min).
  assert.deepEqual(PROFILE_BUDGET_S, { smoke: 90, quick: 900, paper: null });
  for (const p of PROFILE_NAMES) assert.ok(PROFILE_BUDGET_S[p] === null || NOTEBOOK_TIMEOUT_S[p] > PROFILE_BUDGET_S[p]!);
});
