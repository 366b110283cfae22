// Every library loss-term factory: its terms carry a recipe that survives JSON and rebuilds a term with the same cache
// identity, keyed by the factory's name (not by compiled source). A spread copy or a replaced function loses the recipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LossTerm } from '../../lib/types';
import { termIdentity, termRecipe } from '../../lib/train';
import { regularizer } from '../../lib/regularizers';
import { buildTerm, serializableRecipe, TERM_FACTORIES } from '../../lib/jobs';

// One valid call per factory, with non-default arguments where there are any.
const SAMPLES: Record<string, unknown[]> = {
  crossEntropyTerm: [0.5],
  fgsmAT: [{ eps: 0.1, weight: 0.5 }],
  pgdAT: [{ eps: 0.1, steps: 2, norm: 'l2' }],
  trades: [{ beta: 3, eps: 0.1, steps: 2 }],
  flowAT: [{ eps: 0.05, steps: 2 }],
  inputGradientPenalty: [{ p: 'inf', eps: 0.1, form: 'perturbation' }],
  doubleBackprop: [{ weight: 2 }],
  finiteDifferenceGradientPenalty: [{ h: 0.02 }],
  jacobianNorm: [{ weight: 0.1, projections: 2 }],
  sigr: [{ mask: 'blur', topK: 0.3 }],
  jsigr: [{ jacobianWeight: 0.5, patch: 7 }],
  sagr: [{ trueWeight: 0.2, falseWeight: 1 }],
  saliencyConsensus: [{ eps: 0.1, distance: 'l2' }],
  flowGradient: [{ lambda: 100, randomStartSigma: 0.01 }],
};

const make = (name: string, args: unknown[]) => (TERM_FACTORIES[name] as (...a: unknown[]) => LossTerm)(...args);

test('every factory that tags its terms (withRecipe in lib/) is in the registry, and every registered one has a sample here', () => {
  const lib = path.resolve(__dirname, '../../lib');
  const tagged = new Set<string>();
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/withRecipe\('([A-Za-z]+)'/g)) tagged.add(m[1]);
    }
  };
  walk(lib);
  assert.deepEqual([...tagged].sort(), Object.keys(TERM_FACTORIES).sort());
  assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(TERM_FACTORIES).sort());
});

for (const [name, args] of Object.entries(SAMPLES)) {
  test(`${name}: build, serialize to JSON, rebuild: same identity, keyed as lib:${name}`, () => {
    const t = make(name, args);
    const r = serializableRecipe(t);
    assert.ok('recipe' in r, 'reason' in r ? r.reason : '');
    assert.equal(r.recipe.factory, name);
    const rebuilt = buildTerm(JSON.parse(JSON.stringify(r.recipe)));
    assert.deepEqual(termIdentity(rebuilt), termIdentity(t));
    assert.match(String(termIdentity(t).code), new RegExp(`^lib:${name}:[0-9a-f]{64}$`));
    assert.equal(rebuilt.name, t.name);
    assert.equal(rebuilt.weight, t.weight);
  });
}

test('other arguments, other identity; the recipe is a copy (editing the config afterwards changes nothing)', () => {
  const cfg = { eps: 0.1, steps: 2 };
  const a = make('pgdAT', [cfg]);
  cfg.steps = 3;
  const b = make('pgdAT', [cfg]);
  assert.notDeepEqual(termIdentity(a), termIdentity(b));
  assert.deepEqual(termRecipe(a)?.args, [{ eps: 0.1, steps: 2 }]);
});

test('a spread copy or a replaced function has no recipe: keyed by its own source, and it cannot travel', () => {
  const base = make('crossEntropyTerm', [1]);
  const mine: LossTerm = { ...base, value: (m, x) => m.logits(x).sum() };
  assert.equal(termRecipe(mine), undefined);
  assert.match(String(termIdentity(mine).code), /^[0-9a-f]{64}$/);
  const r = serializableRecipe(mine);
  assert.ok('reason' in r && /not made by a library factory/.test(r.reason));
  const patched = make('doubleBackprop', [{}]) as { value: LossTerm['value'] };
  patched.value = (m, x) => m.logits(x).sum();
  assert.equal(termRecipe(patched as unknown as LossTerm), undefined);
});

test('the regularizer(name, config) registry returns tagged terms; an unknown factory in a job is a clear error', () => {
  assert.equal(termRecipe(regularizer('sagr', { trueWeight: 0.1 }))?.factory, 'sagr');
  assert.throws(() => buildTerm({ factory: 'nope', args: [] }), /unknown loss-term factory "nope".*crossEntropyTerm/);
});

test('arguments that do not survive JSON (Infinity) keep the term in-process', () => {
  const r = serializableRecipe(make('crossEntropyTerm', [Infinity]));
  assert.ok('reason' in r && /change through JSON/.test(r.reason), JSON.stringify(r));
});
