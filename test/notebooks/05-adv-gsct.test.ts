// Notebook 05 (Adv-GSCT) as a document: no outputs, every profile validated, the five methods and the ablation, cost taken
// from the training history, the strong protocol per model, every claim G1-G4 of papers.md with a computed verdict.
// (Running it is npm test's smoke pass; this test reads the cells.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const file = path.resolve(__dirname, '..', '..', 'notebooks', '05-adv-gsct.ipynb');
const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string[]; outputs?: unknown[]; execution_count?: unknown }[] };
const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join(''));
const all = code.join('\n');

test('notebook 05: parameters cell with the three profiles and validation, imports by file', () => {
  assert.match(code[0], /import \* as gr from "\.\/lib\/index";/);
  for (const p of ['smoke', 'quick', 'paper']) assert.match(code[0], new RegExp(`\\b${p}: \\{ dataset:`), `profile ${p}`);
  for (const k of ['lambdaSal', 'lambdaPseudo', 'distance', 'topK', 'trainEps', 'pgdSteps', 'attackSteps', 'squareQueries', 'seeds']) {
    assert.match(code[0], new RegExp(`\\b${k}:`), `parameter ${k}`);
  }
  assert.match(code[0], /validate: \(p\) =>/);
  assert.match(code[0], /loadDataset\(/);
  assert.match(code[code.length - 1], /closeBrowser\(\)/, 'closeBrowser last');
});

test('notebook 05: methods, cost, strong protocol per model, claims G1-G4 computed', () => {
  for (const id of ['standard', 'fgsm-at', 'pgd-at', 'gsct-no-pseudo', 'adv-gsct']) assert.match(all, new RegExp(`id: "${id}"`), `method ${id}`);
  assert.match(all, /gsct\(0\)/, 'the ablation has lambdaPseudo = 0');
  assert.match(all, /gr\.secondsPerEpoch\(/, 'cost from the training history');
  assert.match(all, /strongEvaluations\(trained\.map\(\(t\) => \(\{[^;]*model: t\.model/, 'strong protocol on every trained model');
  assert.match(all, /sanity-checks/, 'per-model sanity table');
  for (const id of ['G1', 'G2', 'G3', 'G4']) assert.match(all, new RegExp(`"${id}"`), `claim ${id}`);
  assert.match(all, /publishClaims\(claims, NB\)/);
  for (const name of ['robust-accuracy-vs-eps', 'results', 'robustness-vs-cost', 'consensus-over-training', 'saliency-grid', 'target-saliency']) {
    assert.match(all, new RegExp(`"${name}"`), `output ${name}`);
  }
});
