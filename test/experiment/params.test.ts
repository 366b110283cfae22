import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { resolveParams, check, configHash } from '../../lib/experiment/params';
import type { ProfileName } from '../../lib/experiment/profiles';

interface P { eps: number; epochs: number; attacks: string[]; name: string }

const BY_PROFILE: Record<ProfileName, P> = {
  smoke: { eps: 0.1, epochs: 1, attacks: ['fgsm'], name: 's' },
  quick: { eps: 0.2, epochs: 5, attacks: ['fgsm', 'pgd'], name: 'q' },
  paper: { eps: 0.3, epochs: 100, attacks: ['fgsm', 'pgd', 'cw'], name: 'p' },
};

const positiveEps = (p: P) => check(p.eps >= 0, 'eps', `must be >= 0, got ${p.eps}`);

test('resolveParams picks the active profile (GRADREG_PROFILE) or the one asked for', () => {
  const old = process.env.GRADREG_PROFILE;
  process.env.GRADREG_PROFILE = 'smoke';
  try {
    assert.deepEqual(resolveParams(BY_PROFILE), { ...BY_PROFILE.smoke, profile: 'smoke' });
    assert.deepEqual(resolveParams(BY_PROFILE, {}, { profile: 'paper' }), { ...BY_PROFILE.paper, profile: 'paper' });
  } finally {
    if (old === undefined) delete process.env.GRADREG_PROFILE; else process.env.GRADREG_PROFILE = old;
  }
});

test('overrides replace the profile values; undefined overrides are ignored; the input objects stay untouched', () => {
  const before = JSON.stringify(BY_PROFILE);
  const p = resolveParams(BY_PROFILE, { epochs: 2, eps: undefined, attacks: ['pgd'] }, { profile: 'quick' });
  assert.deepEqual(p, { eps: 0.2, epochs: 2, attacks: ['pgd'], name: 'q', profile: 'quick' });
  assert.equal(JSON.stringify(BY_PROFILE), before);
});

test('an unknown key is an error naming the key and the allowed keys', () => {
  assert.throws(() => resolveParams(BY_PROFILE, { epoch: 3 } as Partial<P>, { profile: 'quick' }),
    /unknown parameter "epoch": allowed are eps, epochs, attacks, name/);
  // Object.prototype names are not parameters either.
  assert.throws(() => resolveParams(BY_PROFILE, { toString: 'x' } as unknown as Partial<P>, { profile: 'quick' }), /unknown parameter "toString"/);
});

test('a value of the wrong type is an error naming the key, the expected and the given type', () => {
  assert.throws(() => resolveParams(BY_PROFILE, { epochs: '5' } as unknown as Partial<P>, { profile: 'quick' }),
    /parameter "epochs" must be of type number \(profile quick has 5\), got string "5"/);
  assert.throws(() => resolveParams(BY_PROFILE, { attacks: 'pgd' } as unknown as Partial<P>, { profile: 'quick' }),
    /parameter "attacks" must be of type array/);
});

test('the validator runs on the merged values (as third argument or as opts.validate)', () => {
  assert.throws(() => resolveParams(BY_PROFILE, { eps: -0.1 }, positiveEps), /parameter "eps" must be >= 0, got -0.1/);
  assert.throws(() => resolveParams(BY_PROFILE, { eps: -1 }, { profile: 'smoke', validate: positiveEps }), /parameter "eps" must be >= 0, got -1/);
  assert.equal(resolveParams(BY_PROFILE, { eps: 0 }, { profile: 'smoke', validate: positiveEps }).eps, 0);
});

test('a missing profile entry is a clear error', () => {
  const partial = { smoke: BY_PROFILE.smoke } as Record<ProfileName, P>;
  assert.throws(() => resolveParams(partial, {}, { profile: 'paper' }), /no parameters for profile "paper": byProfile must have the keys smoke, quick, paper/);
});

test('configHash is sha256 of JSON with sorted keys at every depth', () => {
  const h = configHash({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } });
  const expected = crypto.createHash('sha256').update('{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}').digest('hex');
  assert.equal(h, expected);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(configHash({ a: { c: 'z', d: [1, { x: 1, y: 2 }] }, b: 1 }), h);
});

test('configHash tells apart what JSON would conflate, and treats undefined fields as absent', () => {
  assert.notEqual(configHash({ eps: 0.1 }), configHash({ eps: 0.2 }));
  assert.notEqual(configHash([1, 2]), configHash([2, 1]));
  assert.notEqual(configHash({ eps: NaN }), configHash({ eps: null }));
  assert.notEqual(configHash({ eps: Infinity }), configHash({ eps: -Infinity }));
  assert.equal(configHash({ a: 1, b: undefined }), configHash({ a: 1 }));
});

test('configHash refuses what has no stable meaning (class instances, functions)', () => {
  class Thing { x = 1; }
  assert.throws(() => configHash({ model: { w: new Thing() } }), /configHash: config\.model\.w is a Thing: pass plain data/);
  assert.throws(() => configHash({ f: () => 1 }), /configHash: config\.f is a function/);
  assert.throws(() => configHash([1, new Map()]), /config\[1\] is a Map/);
});
