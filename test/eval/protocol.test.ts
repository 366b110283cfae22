// The strong protocol (issue 14 item 2-3): budgets, ensembles per threat model, a masked model fails its sanity checks while an
// ordinary trained one passes them, paper-protocol columns, intervals, caching and cards from a strong report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../lib/types';
import { flowPgd } from '../../lib/attacks';
import {
  defaultLargeEps, describeSettings, resolveBudget, resultCard, saveResultCard, STRONG_BUDGETS, strongAttacks, strongEvaluation, strongEvaluationAsync, strongTable,
  type StrongReport,
} from '../../lib/eval';
import { wilson } from '../../lib/stats';
import { trainedMnistMlp } from '../attacks/small-models';
import { useBackend, captureWarnings } from '../helpers';

let trained: Promise<Awaited<ReturnType<typeof trainedMnistMlp>>> | undefined;
const mlp = () => (trained ??= (async () => { await useBackend('cpu'); return trainedMnistMlp(40); })());


const status = (r: StrongReport, re: RegExp) => r.sanity.filter((c) => re.test(c.check)).map((c) => c.status);

test('budgets: presets per profile, fields over a preset, errors; ensembles and the extended eps grid per threat model', () => {
  assert.deepEqual(resolveBudget('quick'), STRONG_BUDGETS.quick);
  assert.ok(STRONG_BUDGETS.quick.queries >= 1000, 'the quick preset gives Square enough queries for the black-box check to count');
  assert.ok(STRONG_BUDGETS.quick.steps >= 50 && STRONG_BUDGETS.paper.steps >= 100);
  assert.deepEqual(resolveBudget({ preset: 'paper', steps: 7 }), { ...STRONG_BUDGETS.paper, steps: 7, name: 'paper+custom' });
  assert.throws(() => resolveBudget('fast' as never), /strong budget "fast" is not a preset: use one of smoke, quick, paper/);
  assert.throws(() => resolveBudget({ steps: 0 }), /budget.steps must be a positive integer, got 0/);
  assert.throws(() => resolveBudget({ queries: 10.5 }), /budget.queries must be a positive integer, got 10.5/);
  assert.deepEqual(strongAttacks('linf', [0.1, 0.3], 'quick').map((a) => `${a.name}@${a.threat.eps}`),
    ['apgd-ce@0.1', 'apgd-dlr@0.1', 'square@0.1', 'fgsm@0.1', 'apgd-ce@0.3', 'apgd-dlr@0.3', 'square@0.3', 'fgsm@0.3']);
  assert.deepEqual(strongAttacks('l2', [0.5], 'quick').map((a) => a.name), ['apgd-ce-l2', 'apgd-dlr-l2', 'fgm-l2']);
  assert.deepEqual(strongAttacks('flow', [0.05], 'quick').map((a) => a.name), ['flow-pgd', 'flow-fgsm', 'flow-square', 'stadv', 'adef']);
  const [fp, , sq, st, ad] = strongAttacks('flow', [0.05], 'quick');
  assert.equal(fp.config?.protocol, 'strong');
  assert.equal(fp.config?.restarts, STRONG_BUDGETS.quick.restarts);
  assert.equal(sq.config?.queries, STRONG_BUDGETS.quick.queries);
  assert.equal(st.config?.eps, 0.05, 'stAdv is bounded to the same eps');
  assert.equal(ad.config?.eps, 0.05, 'ADef is bounded to the same eps');
  const fgm = strongAttacks('l2', [0.5], 'quick')[2];
  assert.equal(fgm.config?.steps, 1);
  assert.equal(fgm.config?.alpha, 0.5, 'FGM-L2: one step of length eps');
  assert.deepEqual(defaultLargeEps('linf', [0.1, 0.3], [28, 28, 1]), [0.5]);
  assert.deepEqual(defaultLargeEps('linf', [0.05], [28, 28, 1]), [0.2, 0.5]);
  assert.deepEqual(defaultLargeEps('l2', [0.5], [28, 28, 1]), [2, 14]);
  assert.deepEqual(defaultLargeEps('flow', [0.05, 0.02], [28, 28, 1]), [0.2]);
  assert.deepEqual(defaultLargeEps('flow', [0.3], [28, 28, 1]), [1]);
  assert.throws(() => strongAttacks('l0' as never, [0.1]), /threat must be one of 'linf', 'l2', 'l1', 'flow', got "l0"/);
  assert.throws(() => strongAttacks('linf', []), /eps must be a non-empty array/);
});

test('strong Linf evaluation: an ordinary trained MLP passes every sanity check; the same MLP behind input quantization fails them', async () => {
  const { model, x, y } = await mlp();
  const budget = { preset: 'quick' as const, steps: 20, restarts: 1, queries: 1000 };
  const before = tf.memory().numTensors;
  const ok = captureWarnings(() => strongEvaluation(model, { x, y }, { threat: 'linf', eps: [0.1], budget, quiet: true, cache: false, seed: 1 }));
  assert.equal(tf.memory().numTensors, before, 'strongEvaluation leaks tensors');
  const r = ok.value;
  assert.deepEqual(ok.warnings, [], 'no check fails on an ordinary model');
  assert.ok(r.sanity.every((c) => c.status === 'pass'), JSON.stringify(r.sanity.map((c) => [c.status, c.check, c.detail])));
  for (const kind of [/iterative beats single-step/, /monotonically/, /large eps reaches ~chance/, /square does not beat white-box/, /gradients finite/, /doubling steps/]) {
    assert.deepEqual(status(r, kind), ['pass'], `${kind} must be present and pass`);
  }
  assert.deepEqual(r.largeEps, [0.4, 0.5]);
  assert.equal(r.curve.at(-1)!.acc.acc, 0, 'eps 0.5 Linf leaves nothing robust on an undefended MLP');
  // Intervals on every number, the worst case is per example over the ensemble.
  const row = r.byEps[0];
  const k = row.worst.correct.reduce((a, v) => a + v, 0);
  assert.deepEqual({ lo: row.worst.lo, hi: row.worst.hi }, wilson(k, r.n));
  assert.ok(row.worst.acc <= Math.min(...row.attacks.map((a) => a.acc.acc)));
  assert.deepEqual(row.worst.attacks, ['apgd-ce', 'apgd-dlr', 'square', 'fgsm']);
  assert.ok(r.results.every((q) => q.ci.lo <= q.acc && q.acc <= q.ci.hi));
  assert.equal(r.clean.acc, 1);
  assert.equal(r.convergence?.steps, 20);
  assert.match(describeSettings(r).join('\n'), /apgd-ce eps 0.1 \[ensemble\]: norm "linf", steps 20, restarts 1/);

  // Quantized input (round(4x)/4): zero input gradients, the classic masked defense.
  const masked: Model = { ...model, name: 'quantized-mlp', logits: (xx) => tf.tidy(() => model.logits(tf.div(tf.round(tf.mul(xx, 4)), 4) as tf.Tensor4D)) } as Model;
  const bad = captureWarnings(() => strongEvaluation(masked, { x, y }, { threat: 'linf', eps: [0.1], budget, quiet: true, cache: false, seed: 1 }));
  const failed = bad.value.sanity.filter((c) => c.status === 'fail');
  assert.ok(failed.length >= 1, JSON.stringify(bad.value.sanity));
  assert.deepEqual(status(bad.value, /gradients finite/), ['fail']);
  assert.ok(failed.some((c) => /large eps|does not beat white-box/.test(c.check)), `the attack-based checks must see the masking too: ${JSON.stringify(failed.map((c) => c.check))}`);
  assert.ok(failed.every((c) => typeof c.diagnosis === 'string' && c.diagnosis.length > 20), 'each failure carries a diagnosis');
  assert.equal(bad.warnings.length, failed.length, 'one warning per failed check');
  assert.ok(bad.value.byEps[0].worst.acc < bad.value.byEps[0].attacks.find((a) => a.attack === 'apgd-ce')!.acc.acc,
    'Square finds what the masked gradients hide, and the worst case counts it');
});

test('strong flow evaluation: paper protocol as its own column, black-box check n/a with too few queries, cached rerun identical, async equal, card', async () => {
  const { model, x, y } = await mlp();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-strong-'));
  try {
    const xs = x.slice([0, 0, 0, 0], [8, -1, -1, -1]);
    const ys = y.slice([0], [8]);
    const opts = {
      threat: 'flow' as const, eps: [0.05, 0.02], budget: { preset: 'smoke' as const, steps: 3, queries: 20, stadvSteps: 3, adefIter: 2 },
      paperAttacks: (eps: number) => flowPgd({ eps, steps: 3, protocol: 'paper' }), quiet: true, seed: 2, cacheDir: dir,
    };
    const first = captureWarnings(() => strongEvaluation(model, { x: xs, y: ys }, opts)).value;
    assert.equal(first.cachedResults, 0);
    assert.equal(first.headlineEps, 0.05);
    assert.deepEqual(first.largeEps, [0.2]);
    assert.deepEqual(first.byEps.map((b) => b.eps), [0.02, 0.05], 'ascending');
    assert.equal(first.byEps[1].epsPixels, 0.05 * 27 / 2);
    for (const b of first.byEps) {
      assert.deepEqual(b.paper.map((p) => p.attack), ['flow-pgd-paper']);
      assert.ok(!b.worst.attacks.includes('flow-pgd-paper'), 'the paper attack is a column, not in the worst case');
      assert.deepEqual(b.attacks.map((a) => a.attack), ['flow-pgd', 'flow-fgsm', 'flow-square', 'stadv', 'adef']);
    }
    const sq = first.sanity.filter((c) => /flow-square/.test(c.check));
    assert.ok(sq.length === 2 && sq.every((c) => c.status !== 'pass'), `20 queries cannot pass the black-box check: ${JSON.stringify(sq)}`);
    assert.ok(sq.every((c) => c.status === 'fail' || /too few to expose masking/.test(c.detail)));
    assert.ok(first.results.some((r) => r.role === 'convergence' && r.eps === 0.05 && r.config?.steps === 6));
    assert.ok(!first.report.attacks.some((r) => first.results.find((q) => q === r)?.role === 'paper'), 'report holds what counts');
    // Rerun: every attack from the cache, the same numbers.
    const again = captureWarnings(() => strongEvaluation(model, { x: xs, y: ys }, opts)).value;
    assert.equal(again.cachedResults, again.results.length);
    const nums = (r: StrongReport) => r.results.map((q) => [q.attack, q.eps, q.role, Array.from(q.correct)]);
    assert.deepEqual(nums(again), nums(first));
    assert.deepEqual(again.sanity.map((c) => [c.check, c.status]), first.sanity.map((c) => [c.check, c.status]));
    const asyncR = (await (async () => {
      const orig = console.warn;
      console.warn = () => {};
      try { return await strongEvaluationAsync(model, { x: xs, y: ys }, { ...opts, cache: false }); } finally { console.warn = orig; }
    })());
    assert.deepEqual(nums(asyncR), nums(first), 'async twin, no cache: the same numbers');
    // A card from the strong report: intervals everywhere, the protocol, the paper column.
    const card = resultCard({ method: 'none', dataset: 'mnist', model, seed: 2, report: first });
    assert.equal(card.protocol?.threat, 'flow');
    assert.equal(card.protocol?.budget.steps, 3);
    assert.deepEqual(card.paperProtocol?.map((p) => [p.attack, p.eps]), [['flow-pgd-paper', 0.02], ['flow-pgd-paper', 0.05]]);
    assert.ok(card.robustAcc.every((a) => a.ci.lo <= a.acc && a.acc <= a.ci.hi && a.role !== undefined));
    assert.ok(card.worstCaseByEps.every((w) => w.ci.lo <= w.acc && w.acc <= w.ci.hi));
    assert.deepEqual(card.threatModels, [{ norm: 'flow', eps: 0.05 }, { norm: 'flow', eps: 0.02 }]);
    assert.ok(card.sanity.some((c) => c.status === 'n/a'));
    const cards = path.join(dir, 'cards');
    const file = saveResultCard(card, cards, 'none-seed2');
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).protocol.budget.name, 'smoke+custom');
    for (const bad of ['../../x', '../x', 'a/b', '.hidden', '', 'x y']) {
      assert.throws(() => saveResultCard(card, cards, bad), /saveResultCard: name .* is not a plain file name/, bad);
    }
    assert.deepEqual(fs.readdirSync(cards), ['none-seed2.json']);
    // Table rows: one per eps, every number with its interval at the resolution n = 8 supports, the budget stated.
    const rows = strongTable([{ label: 'none', report: first }]);
    assert.deepEqual(rows.map((r) => r['eps (grid)']), [0.02, 0.05]);
    assert.equal(rows[1]['eps (px)'], 0.675);
    for (const r of rows) {
      for (const col of ['clean', 'worst case', 'flow-pgd', 'stadv', 'flow-pgd-paper (paper protocol)']) assert.match(String(r[col]), /^\d+% \[\d+, \d+\]$/, col);
      assert.equal(r.budget, 'flow PGD 3 steps x 1 restarts, flow Square 20 queries, stAdv 3 steps, ADef 2 iterations');
      assert.match(String(r.sanity), /^pass \(\d+ n\/a\)$|^FAIL: /);
    }
    tf.dispose([xs, ys]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('strong L2 evaluation: APGD L2 + FGM-L2, the gradient-free check is listed as n/a (the kit has no L2 black-box attack); bad options are errors', async () => {
  const { model, x, y } = await mlp();
  const xs = x.slice([0, 0, 0, 0], [12, -1, -1, -1]);
  const ys = y.slice([0], [12]);
  const r = captureWarnings(() => strongEvaluation(model, { x: xs, y: ys }, { threat: 'l2', eps: [1], budget: { preset: 'smoke', steps: 5 }, largeEps: [14], quiet: true, cache: false })).value;
  assert.deepEqual(r.byEps[0].attacks.map((a) => a.attack), ['apgd-ce-l2', 'apgd-dlr-l2', 'fgm-l2']);
  assert.deepEqual(status(r, /gradient-free attack/), ['n/a']);
  assert.deepEqual(status(r, /large eps reaches ~chance \(l2, eps 14\)/), ['pass']);
  const base = { threat: 'linf' as const, eps: [0.1], quiet: true, cache: false };
  assert.throws(() => strongEvaluation(model, { x: xs, y: ys }, { ...base, headlineEps: 0.2 }), /headlineEps 0.2 is not in eps \[0.1\]/);
  assert.throws(() => strongEvaluation(model, { x: xs, y: ys }, { ...base, eps: [-1] }), /every eps entry must be a finite number >= 0, got -1/);
  assert.throws(() => strongEvaluation(model, { x: xs, y: ys }, { ...base, n: 1.5 }), /strongEvaluation: n must be a positive integer/);
  assert.throws(() => strongEvaluation(model, { x: xs, y: ys.slice([0], [11]) }, base), /strongEvaluation: data.x has 12 examples but data.y has 11 labels/);
  tf.dispose([xs, ys]);
});
