// The per-attack evaluation cache (issue 14 item 6): a changed setting re-runs that attack only, a changed weight re-runs
// everything, cached results equal fresh ones, and nothing unkeyable or corrupt is trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../../lib/types';
import { fgsm, pgd } from '../../lib/attacks';
import { evalCodeDigest, evaluateRobustness, transferAttack, type EvaluateOptions } from '../../lib/eval';
import { useBackend } from '../helpers';

const SHAPE: [number, number, number] = [3, 3, 1];

function linear(seed: number): Model {
  const W = tf.variable(tf.randomNormal([9, 4], 0, 1, 'float32', seed));
  return {
    name: 'lin', inputShape: SHAPE, numClasses: 4, mode: 'eval', variables: [W], state: [],
    logits: (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], 9]) as tf.Tensor2D, W as tf.Tensor2D)),
    paramCount: () => 36, dispose: () => W.dispose(),
  };
}

/** The attack with a counter of its run() calls (one per batch); name, threat and config unchanged. */
function counted(a: Attack): Attack & { calls: number } {
  const c = { ...a, calls: 0, run: (...args: Parameters<Attack['run']>) => { c.calls++; return a.run(...args); } };
  return c;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-evalcache-'));
}

const summary = (r: ReturnType<typeof evaluateRobustness>) => r.attacks.map((a) => [a.attack, a.eps, a.acc, Array.from(a.correct)]);

test('cache: identical rerun runs nothing and equals the fresh result; one changed setting re-runs only that attack; a changed weight re-runs all', async () => {
  await useBackend('cpu');
  const dir = tmpDir();
  try {
    const m = linear(1);
    const x = tf.randomUniform([30, ...SHAPE], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tidy(() => tf.argMax(m.logits(x), 1).toInt()) as tf.Tensor1D;
    for (const seeding of ['position', 'identity'] as const) {
      fs.rmSync(dir, { recursive: true, force: true });
      const o: EvaluateOptions = { quiet: true, seed: 3, batchSize: 10, cache: true, cacheDir: dir, attackSeeds: seeding };
      const make = (steps: number) => [counted(fgsm({ eps: 0.1 })), counted(pgd({ eps: 0.1, steps, restarts: 2 })), counted(pgd({ eps: 0.2, steps: 5 }))];
      const a1 = make(5);
      const fresh = evaluateRobustness(m, { x, y }, a1, o);
      assert.deepEqual(a1.map((a) => a.calls), [3, 3, 3], 'first run: every attack on every batch');
      assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).length, 3, 'one entry per attack');
      const a2 = make(5);
      const again = evaluateRobustness(m, { x, y }, a2, o);
      assert.deepEqual(a2.map((a) => a.calls), [0, 0, 0], `${seeding}: an identical rerun runs nothing`);
      assert.deepEqual(summary(again), summary(fresh), 'cached result equals the fresh one');
      assert.ok(again.attacks.every((a) => a.cached === true));
      assert.deepEqual(again.attacks.map((a) => a.seconds), fresh.attacks.map((a) => a.seconds), 'the original run time is kept');
      assert.deepEqual(Array.from(again.cleanCorrect), Array.from(fresh.cleanCorrect));
      const a3 = make(7);
      const changed = evaluateRobustness(m, { x, y }, a3, o);
      assert.deepEqual(a3.map((a) => a.calls), [0, 3, 0], `${seeding}: only the attack whose steps changed re-runs`);
      assert.deepEqual([changed.attacks[0].cached, changed.attacks[1].cached, changed.attacks[2].cached], [true, undefined, true]);
      // Without the cache the changed attack gives what the cache-assisted run gave.
      const noCache = evaluateRobustness(m, { x, y }, make(7), { ...o, cache: false });
      assert.deepEqual(summary(changed), summary(noCache));
      // One weight changed: everything re-runs.
      const w0 = m.variables[0];
      const saved = w0.clone();
      w0.assign(tf.tidy(() => tf.add(w0, tf.oneHot([0], 36).reshape([9, 4]).mul(1e-3))));
      const a4 = make(5);
      evaluateRobustness(m, { x, y }, a4, o);
      assert.deepEqual(a4.map((a) => a.calls), [3, 3, 3], `${seeding}: a changed weight invalidates every entry`);
      w0.assign(saved);
      saved.dispose();
      // The same weights behind another forward pass (a wrapper, same name): a miss.
      const wrapped: Model = { ...m, logits: (xx) => tf.tidy(() => m.logits(tf.sub(1, xx) as tf.Tensor4D)) };
      const aw = make(5);
      evaluateRobustness(wrapped, { x, y }, aw, o);
      assert.deepEqual(aw.map((a) => a.calls), [3, 3, 3], `${seeding}: a wrapped model with the same weights is not handed the inner model's results`);
      // Another data subset (n) or batch size: a miss.
      const a5 = make(5);
      evaluateRobustness(m, { x, y }, a5, { ...o, n: 20 });
      assert.deepEqual(a5.map((a) => a.calls), [2, 2, 2], 'another subset re-runs');
      const a6 = make(5);
      evaluateRobustness(m, { x, y }, a6, { ...o, batchSize: 15 });
      assert.deepEqual(a6.map((a) => a.calls), [2, 2, 2], 'another batching re-runs');
    }
    tf.dispose([x, y]);
    m.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cache: corrupt entries are misses and get rewritten; attacks without config are never cached (warned); the cache is off by default', async () => {
  await useBackend('cpu');
  const dir = tmpDir();
  const warnings: string[] = [];
  const orig = console.warn;
  console.warn = (...a: unknown[]) => { warnings.push(a.join(' ')); };
  try {
    const m = linear(4);
    const x = tf.randomUniform([8, ...SHAPE], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tidy(() => tf.argMax(m.logits(x), 1).toInt()) as tf.Tensor1D;
    const o: EvaluateOptions = { quiet: true, cache: true, cacheDir: dir };
    const first = evaluateRobustness(m, { x, y }, [counted(pgd({ eps: 0.3, steps: 4 }))], o);
    const [entry] = fs.readdirSync(dir);
    const file = path.join(dir, entry);
    const good = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const bad of ['{ not json', JSON.stringify({ ...good, correct: good.correct.slice(1) }), JSON.stringify({ ...good, key: 'other' }), JSON.stringify({ ...good, correct: '2'.repeat(8) })]) {
      fs.writeFileSync(file, bad);
      const a = counted(pgd({ eps: 0.3, steps: 4 }));
      const r = evaluateRobustness(m, { x, y }, [a], o);
      assert.equal(a.calls, 1, `a corrupt entry (${bad.slice(0, 30)}) is not trusted`);
      assert.deepEqual(Array.from(r.attacks[0].correct), Array.from(first.attacks[0].correct));
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).correct, good.correct, 'the entry is rewritten');
    }
    const noConfig: Attack & { calls: number } = counted({ name: 'plain', threat: { norm: 'linf', eps: 0 }, run: (_m, xx) => xx.clone() });
    evaluateRobustness(m, { x, y }, [noConfig], o);
    evaluateRobustness(m, { x, y }, [noConfig], o);
    assert.equal(noConfig.calls, 2);
    assert.ok(warnings.some((w) => /not cached: attack "plain" has no config/.test(w)), warnings.join('\n'));
    // A transfer attack depends on its source model's weights: never cached.
    const src = linear(8);
    const tr = counted(transferAttack({ name: 'src', model: src }, pgd({ eps: 0.3, steps: 2 })));
    evaluateRobustness(m, { x, y }, [tr], o);
    evaluateRobustness(m, { x, y }, [tr], o);
    assert.equal(tr.calls, 2);
    assert.ok(warnings.some((w) => /not cached: attack "transfer:pgd-linf@src" is crafted on another model/.test(w)), warnings.join('\n'));
    src.dispose();
    const before = fs.readdirSync(dir).length;
    const off = counted(pgd({ eps: 0.3, steps: 4 }));
    evaluateRobustness(m, { x, y }, [off], { quiet: true, cacheDir: dir });
    assert.equal(off.calls, 1, 'evaluateRobustness does not use the cache unless asked');
    assert.equal(fs.readdirSync(dir).length, before);
    tf.dispose([x, y]);
    m.dispose();
  } finally {
    console.warn = orig;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('identity seeding: adding or reordering attacks leaves each attack\'s numbers unchanged', async () => {
  await useBackend('cpu');
  const m = linear(6);
  const x = tf.randomUniform([24, ...SHAPE], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tidy(() => tf.argMax(m.logits(x), 1).toInt()) as tf.Tensor1D;
  const o: EvaluateOptions = { quiet: true, seed: 9, batchSize: 8, attackSeeds: 'identity' };
  const seen: number[][] = [];
  const spy = (): Attack => ({ name: 'spy', threat: { norm: 'linf', eps: 0.1 }, config: { k: 1 }, run: (_m, xx, _y, ro) => { seen.at(-1)!.push(ro!.seed!); return xx.clone(); } });
  const p = () => pgd({ eps: 0.15, steps: 3, restarts: 1 });
  seen.push([]);
  const alone = evaluateRobustness(m, { x, y }, [p(), spy()], o);
  seen.push([]);
  const withOthers = evaluateRobustness(m, { x, y }, [fgsm({ eps: 0.2 }), pgd({ eps: 0.3, steps: 2 }), spy(), p()], o);
  assert.deepEqual(seen[1], seen[0], 'the same seeds, batch by batch, wherever the attack stands in the list');
  assert.equal(new Set(seen[0]).size, 3, 'a different seed per batch');
  assert.deepEqual(Array.from(withOthers.attacks[3].correct), Array.from(alone.attacks[0].correct));
  seen.push([]);
  evaluateRobustness(m, { x, y }, [spy(), fgsm({ eps: 0.2 })], { ...o, attackSeeds: 'position' });
  seen.push([]);
  evaluateRobustness(m, { x, y }, [fgsm({ eps: 0.2 }), spy()], { ...o, attackSeeds: 'position' });
  assert.notDeepEqual(seen[3], seen[2], 'position seeding (the default, today\'s numbers) depends on the index');
  assert.throws(() => evaluateRobustness(m, { x, y }, [p()], { ...o, attackSeeds: 'random' as never }), /attackSeeds must be 'position' or 'identity'/);
  tf.dispose([x, y]);
  m.dispose();
});

test('evalCodeDigest follows relative imports from the roots, ignores lib/report and unrelated files', () => {
  const repo = tmpDir();
  try {
    const w = (rel: string, text: string) => { fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true }); fs.writeFileSync(path.join(repo, rel), text); };
    w('lib/eval/robustness.ts', "import { a } from '../attacks/a';\nimport { bar } from '../report/progress';\nexport const r = a;\n");
    w('lib/attacks/a.ts', "import { deriveSeed } from '../data/rng';\nexport const a = 1;\n");
    w('lib/data/rng.ts', 'export const deriveSeed = 1;\n');
    w('lib/report/progress.ts', 'export const bar = 1;\n');
    w('lib/train/trainer.ts', 'export const t = 1;\n');
    const roots = ['lib/eval/robustness.ts'];
    const d0 = evalCodeDigest(roots, repo);
    assert.equal(evalCodeDigest(roots, repo), d0, 'stable');
    w('lib/report/progress.ts', 'export const bar = 2;\n');
    w('lib/train/trainer.ts', 'export const t = 2;\n');
    assert.equal(evalCodeDigest(roots, repo), d0, 'display code and code not imported do not count');
    w('lib/data/rng.ts', 'export const deriveSeed = 2;\n');
    const d1 = evalCodeDigest(roots, repo);
    assert.notEqual(d1, d0, 'a transitive import counts');
    w('lib/attacks/a.ts', "import { deriveSeed } from '../data/rng';\nexport const a = 2;\n");
    assert.notEqual(evalCodeDigest(roots, repo), d1);
    assert.throws(() => evalCodeDigest(['lib/missing.ts'], repo), /ENOENT/);
    // The real repository's digest is computable.
    assert.match(evalCodeDigest(), /^[0-9a-f]{64}$/);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
});
