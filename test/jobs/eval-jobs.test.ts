// Evaluation jobs: strongEvaluations on the local runner (2 worker processes) gives the reports of the inline loop, the
// notebook's own pass finding every attack in the evaluation cache the workers filled; an attack or data that cannot travel
// is evaluated in this process with one line saying why; a worker refuses a job keyed under another code version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Attack } from '../../lib/types';
import { loadDataset } from '../../lib/data';
import type { ModelSpec } from '../../lib/models';
import { trainMethods } from '../../lib/experiment';
import { crossEntropyTerm } from '../../lib/train';
import { attackRecipe, buildAttack, fgsm, flowPgd, isLibAttack } from '../../lib/attacks';
import { attackKey, strongEvaluations, type StrongEvaluationOptions, type StrongReport } from '../../lib/eval';
import { makeEvalJob, runEvalJob } from '../../lib/jobs';
import { useBackend } from '../helpers';

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `gradreg-evaljobs-${tag}-`));
const spec: ModelSpec = { arch: 'mlp', hidden: [16], activation: 'relu' };

async function withJobs<T>(n: number, fn: () => Promise<T>): Promise<T> {
  process.env.GRADREG_JOBS = String(n);
  try { return await fn(); } finally { delete process.env.GRADREG_JOBS; }
}

/** Two small trained models and the data, trained once into their own data folder. */
async function setup() {
  await useBackend('cpu');
  process.env.GRADREG_DATA = tmp('train');
  const data = (await loadDataset('mnist')).take(256, { seed: 0, nTest: 64 });
  const trained = await trainMethods([{ id: 'standard', label: 'Standard', terms: () => [crossEntropyTerm()] }],
    { data, model: spec, seeds: [0, 1], train: { epochs: 2, batchSize: 32, optimizer: { kind: 'adam', lr: 3e-3 } }, runner: 'inline', log: () => undefined });
  return { data, models: trained.map((t) => t.model) };
}

const linf: StrongEvaluationOptions = { threat: 'linf', eps: [0.1], n: 24, budget: 'smoke', paperAttacks: (e) => fgsm({ eps: e }) };
const flow: StrongEvaluationOptions = { threat: 'flow', eps: [0.1], n: 24, budget: 'smoke', paperAttacks: (e) => flowPgd({ eps: e, steps: 3, protocol: 'paper' }) };

/** What a report says, without times and the cache flags. */
function numbers(r: StrongReport): unknown {
  return {
    clean: Array.from(r.clean.correct), worst: r.byEps.map((b) => Array.from(b.worst.correct)),
    results: r.results.map((x) => ({ attack: x.attack, eps: x.eps, role: x.role, correct: Array.from(x.correct) })),
    sanity: r.sanity.map((s) => [s.check, s.passed]),
  };
}

test('library attacks carry a recipe that rebuilds them with the same cache key; a modified attack does not', () => {
  const a = flowPgd({ eps: 0.05, steps: 7, protocol: 'paper' });
  assert.ok(isLibAttack(a));
  const r = attackRecipe(a);
  assert.deepEqual(r, { factory: 'flow-pgd', config: { eps: 0.05, steps: 7, protocol: 'paper' } });
  const b = buildAttack(JSON.parse(JSON.stringify(r)));
  assert.deepEqual(attackKey(b), attackKey(a));
  assert.equal((attackKey(a) as { run: string }).run, 'lib');
  const mine: Attack = { ...a, run: (m, x) => x.clone() };
  assert.equal(isLibAttack(mine), false);
  assert.equal(attackRecipe(mine), undefined);
  assert.notEqual((attackKey(mine) as { run: string }).run, 'lib', 'a modified attack is keyed by its own source');
});

test('strongEvaluations: 2 models on the local runner (2 processes) give the inline reports, every attack found cached', async () => {
  const { data, models } = await setup();
  const items = [{ label: 'A', model: models[0], options: linf }, { label: 'B', model: models[1], options: flow }];
  process.env.GRADREG_DATA = tmp('inline');
  const inline = await strongEvaluations(items, data, { runner: 'inline', log: () => undefined });
  process.env.GRADREG_DATA = tmp('local');
  const log: string[] = [];
  const local = await withJobs(2, () => strongEvaluations(items, data, { runner: 'local', log: (s) => log.push(s) }));
  assert.match(log[0] ?? '', /^evaluating: 2 jobs \(model x threat\) on the local runner \(2 worker processes/, log.join('\n'));
  for (let i = 0; i < items.length; i++) {
    assert.equal(local[i].cachedResults, local[i].results.length, `${items[i].label}: the notebook's pass found every attack the worker ran`);
    assert.equal(log.length, 1, 'no warning about results not found');
    assert.equal(inline[i].cachedResults, 0);
    assert.deepEqual(numbers(local[i]), numbers(inline[i]), `${items[i].label}: reports differ`);
  }
  assert.ok(local[0].results.some((r) => r.role === 'paper') && local[1].results.some((r) => r.role === 'convergence'));
  for (const m of models) m.dispose();
});

test('what cannot travel is evaluated here, with one line saying why', async () => {
  const { data, models } = await setup();
  process.env.GRADREG_DATA = tmp('stay');
  const mine: Attack = { ...fgsm({ eps: 0.1 }), name: 'my-fgsm', run: (m, x) => x.clone() };
  const log: string[] = [];
  const items = [
    { label: 'A', model: models[0], options: { ...linf, paperAttacks: [mine] } },
    { label: 'B', model: models[1], options: { ...linf, cache: false } },
  ];
  const reports = await withJobs(2, () => strongEvaluations(items, data, { runner: 'local', log: (s) => log.push(s) }));
  assert.deepEqual(log, [
    'A linf: evaluated in this process, not on the local runner: paper attack "my-fgsm" was not made by a library attack factory (gr.flowPgd, gr.apgd, ...)',
    'B linf: evaluated in this process, not on the local runner: cache: false (a worker hands its results back through the evaluation cache)',
  ]);
  assert.equal(reports.length, 2);
  for (const m of models) m.dispose();
});

test('a worker refuses an evaluation job keyed under another code version, and evaluates nothing', async () => {
  const { data, models } = await setup();
  const dir = process.env.GRADREG_DATA = tmp('refuse');
  const made = await makeEvalJob({ label: 'A', model: models[0], data, options: linf });
  assert.ok('job' in made, 'reason' in made ? made.reason : '');
  const job = { ...made.job, expect: { ...made.job.expect, code: 'another-commit' } };
  await assert.rejects(runEvalJob(job), /this process keys the evaluation cache by another code version than the submitter/);
  assert.equal(fs.existsSync(path.join(dir, 'eval-cache')), false, 'nothing was evaluated');
  // The job as made runs, and its cache entries are what strongEvaluations finds.
  const r = await runEvalJob(made.job);
  assert.equal(r.cachedResults, 0);
  const [rep] = await strongEvaluations([{ model: models[0], options: linf }], data, { runner: 'inline' });
  assert.equal(rep.cachedResults, rep.results.length);
  for (const m of models) m.dispose();
});
