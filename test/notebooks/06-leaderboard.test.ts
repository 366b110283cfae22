// Notebook 06 (leaderboard) as a document: no outputs, every profile validated, every method of issue 21, lambdas chosen on
// the validation split (never the test set), the three white-box threats and transfer per model, and every output
// (table, Pareto figure per threat, cost figure, cards, generated summary). Running it is npm test's smoke pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const file = path.resolve(__dirname, '..', '..', 'notebooks', '06-leaderboard.ipynb');
const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string[]; outputs?: unknown[]; execution_count?: unknown }[] };
const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join(''));
const all = code.join('\n');

test('notebook 06: committed without outputs; parameters cell with the three profiles, validation and the validation split', () => {
  for (const c of nb.cells.filter((x) => x.cell_type === 'code')) {
    assert.deepEqual(c.outputs, []);
    assert.equal(c.execution_count, null);
  }
  assert.match(code[0], /import \* as gr from "\.\/lib\/index";/);
  for (const p of ['smoke', 'quick', 'paper']) assert.match(code[0], new RegExp(`\\b${p}: \\{ dataset:`), `profile ${p}`);
  for (const k of ['valSize', 'maxCleanDrop', 'lambdas', 'evalN', 'linfEps', 'l2Eps', 'flowEps', 'surrogates', 'seeds']) assert.match(code[0], new RegExp(`\\b${k}:`), `parameter ${k}`);
  assert.match(code[0], /validate: \(p\) =>/);
  assert.match(code[0], /gr\.validationSplit\(full, \{ n: P\.trainSize, nTest: P\.testSize, nVal: P\.valSize/);
  assert.match(code[code.length - 1], /closeBrowser\(\)/, 'closeBrowser last');
});

test('notebook 06: every method of issue 21 under one training config', () => {
  for (const id of ['standard', 'fgsm-at', 'pgd-at', 'trades', 'igr', 'fd-igr', 'lyu-p2', 'lyu-pinf', 'jacobian', 'sigr', 'j-sigr', 'sagr', 'adv-gsct', 'fgr', 'fgr-flow-at']) {
    assert.match(all, new RegExp(`id: [\`"]${id}`), `method ${id}`);
  }
  assert.match(all, /gr\.crossEntropyTerm\(0\.5\), gr\.fgsmAT\(\{ eps: P\.atEps, weight: 0\.5 \}\)/, "FGSM-AT is Goodfellow's 50/50 mix");
  assert.equal((all.match(/train: trainCfg/g) ?? []).length, 3, 'leaderboard methods, surrogates and FGR + flow AT share one training config');
});

test('notebook 06: lambdas chosen on validation only; threats, transfer, outputs', () => {
  assert.match(all, /gr\.selectLambdas\(families, trained, val, \{ reference, maxDrop: P\.maxCleanDrop \}\)/);
  assert.doesNotMatch(all.split('selectLambdas')[0].split('const families')[1] ?? '', /"test"/, 'no test data before the selection');
  assert.match(all, /"lambda-selection"/);
  for (const t of ['linf', 'l2', 'flow']) assert.match(all, new RegExp(`threat: "${t}" as const`), `threat ${t}`);
  assert.match(all, /strongEvaluations\(models\.flatMap\(\(m\) => threats\.map\(\(th\) => \(\{[^;]*model: m\.t\.model,\s*options: \{ \.\.\.th, n: P\.evalN/);
  assert.match(all, /gr\.mifgsm\(/);
  assert.match(all, /gr\.transferMatrix\(surrogates/);
  for (const name of ['leaderboard', 'comparisons', 'sanity-checks', 'robustness-vs-cost', 'training-checks']) assert.match(all, new RegExp(`"${name}"`), `output ${name}`);
  assert.match(all, /`pareto-\$\{/, 'one Pareto figure per threat');
  assert.match(all, /saveLeaderboardCard\(/);
  assert.match(all, /leaderboardSummary\(entries/);
  assert.match(all, /"\/summary\.md"/);
});
