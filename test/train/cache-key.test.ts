// The checkpoint cache key covers code: the lib training sources and each term's own source (or cacheId). An edit must never
// hand back the old model; a term that cannot be keyed turns the cache off with a warning; the header key is verified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, Model } from '../../lib/types';
import { loadMnist } from '../../lib/data';
import { createModel, type ModelSpec } from '../../lib/models';
import { crossEntropy } from '../../lib/tf/safe-ops';
import {
  crossEntropyTerm, LIB_ROOT, libDigest, loadCheckpoint, saveCheckpoint, sourceDigest, termIdentity, train, trainKey, TRAINING_SOURCES,
} from '../../lib/train';
import { useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-key-'));
const spec: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16 };
const data = loadMnist().take(256, { seed: 2, nTest: 64 });
const cfg = { epochs: 1, batchSize: 64, optimizer: { kind: 'adam' as const, lr: 3e-3 }, seed: 5 };
const make = () => createModel(spec, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });

// Two versions of "the same" user term (same name, no config): an edit of its code between two runs.
const mine = (): LossTerm => ({ name: 'mine', weight: 1, value: (m, x, y) => crossEntropy(m.logits(x), y) });
const mineEdited = (): LossTerm => ({ name: 'mine', weight: 1, value: (m, x, y) => tf.mul(crossEntropy(m.logits(x), y), 2) as tf.Scalar });

test('a term edited under the same name (no config) changes the key and is retrained, not loaded from cache', async () => {
  await useBackend('wasm');
  const key = (t: LossTerm[]) => { const m = make(); const k = trainKey(m, data, cfg, { terms: t, modelKey: spec }); m.dispose(); return k; };
  assert.equal(key([mine()]), key([mine()]), 'the same code in a fresh object keys the same');
  assert.notEqual(key([mine()]), key([mineEdited()]), 'edited code, same name and weight: another key');
  assert.notEqual(key([{ ...mine(), prepare: (_m, x) => x.clone() }]), key([mine()]), 'prepare is part of the code');
  // Built-in terms too: their settings (config) and their code.
  assert.notEqual(key([crossEntropyTerm()]), key([{ ...crossEntropyTerm(), config: { smoothing: 0.1 } }]));
  assert.notEqual(key([crossEntropyTerm()]), key([{ ...crossEntropyTerm(), value: mineEdited().value }]));
  // An explicit cacheId stands for the code: equal ids key equal, another id another key.
  assert.equal(key([{ ...mine(), cacheId: 'v1' }]), key([{ ...mineEdited(), cacheId: 'v1' }]));
  assert.notEqual(key([{ ...mine(), cacheId: 'v1' }]), key([{ ...mine(), cacheId: 'v2' }]));
  assert.throws(() => termIdentity({ ...mine(), cacheId: '' }), /loss term "mine": cacheId must be a non-empty string, got ""/);

  const a = await train(make(), data, cfg, { terms: [mine()], modelKey: spec, quiet: true });
  assert.equal(a.fromCache, false);
  const again = await train(make(), data, cfg, { terms: [mine()], modelKey: spec, quiet: true });
  assert.equal(again.fromCache, true, 'unchanged code: cache hit');
  const edited = await train(make(), data, cfg, { terms: [mineEdited()], modelKey: spec, quiet: true });
  assert.equal(edited.fromCache, false, 'edited code: retrained');
  assert.notEqual(edited.key, a.key);
  assert.notEqual(edited.history[0].loss, a.history[0].loss, 'the edited term really trained (its loss is doubled)');
});

test('a term that cannot be keyed turns the cache off with a warning (no checkpoint), unless it has a cacheId', async () => {
  await useBackend('wasm');
  const bound: LossTerm = { name: 'bound', weight: 1, value: function (this: { s: number }, m: Model, x: tf.Tensor4D, y: tf.Tensor1D) { return tf.mul(crossEntropy(m.logits(x), y), this.s) as tf.Scalar; }.bind({ s: 1 }) };
  const logged: string[] = [];
  const before = fs.existsSync(path.join(process.env.GRADREG_DATA!, 'checkpoints')) ? fs.readdirSync(path.join(process.env.GRADREG_DATA!, 'checkpoints')).length : 0;
  const r = await train(make(), data, { ...cfg, seed: 6 }, { terms: [bound], modelKey: spec, quiet: true, log: (s) => logged.push(s) });
  assert.match(logged.join('\n'), /warning: loss term "bound": the source of its value\/prepare cannot be read .*give it a cacheId.*the checkpoint cache is off for this run/);
  assert.equal(r.key, '');
  assert.equal(r.checkpoint, '');
  assert.equal(r.fromCache, false);
  assert.match(r.warnings.join('\n'), /cache is off/);
  const after = fs.readdirSync(path.join(process.env.GRADREG_DATA!, 'checkpoints')).length;
  assert.equal(after, before, 'no checkpoint written');
  // Config that is not plain data (a class instance) cannot be keyed either.
  class Settings { constructor(readonly s = 1) {} }
  const odd: LossTerm = { ...mine(), name: 'odd', config: { s: new Settings() } as unknown as Record<string, unknown> };
  const logged2: string[] = [];
  const r2 = await train(make(), data, { ...cfg, seed: 6 }, { terms: [odd], modelKey: spec, quiet: true, log: (s) => logged2.push(s) });
  assert.equal(r2.key, '');
  assert.match(logged2.join('\n'), /loss term "odd": its config cannot be keyed \(configHash: config\.s is a Settings/);
  // With a cacheId the bound term is keyed and cached.
  const r3 = await train(make(), data, { ...cfg, seed: 6 }, { terms: [{ ...bound, cacheId: 'bound-v1' }], modelKey: spec, quiet: true });
  assert.notEqual(r3.key, '');
  assert.equal((await train(make(), data, { ...cfg, seed: 6 }, { terms: [{ ...bound, cacheId: 'bound-v1' }], modelKey: spec, quiet: true })).fromCache, true);
});

test('the checkpoint header key is verified on load: a file under another key is moved aside and retrained', async () => {
  await useBackend('wasm');
  const r = await train(make(), data, { ...cfg, seed: 7 }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true });
  const ck = loadCheckpoint(r.checkpoint);
  assert.equal(ck.header.key, r.key);
  // A sound checkpoint of another run copied onto this run's file name.
  const m = make();
  const { tensors: _t, sha256: _s, ...head } = ck.header;
  await saveCheckpoint(r.checkpoint, { ...head, key: 'another-run-key' },
    { variables: m.variables, state: m.state, optimizer: ck.groups.optimizer.map((a, i) => tf.tensor(a, ck.header.tensors.filter((t) => t.group === 'optimizer')[i].shape)) });
  const logged: string[] = [];
  const r2 = await train(make(), data, { ...cfg, seed: 7 }, { terms: [crossEntropyTerm()], modelKey: spec, quiet: true, log: (s) => logged.push(s) });
  assert.equal(r2.fromCache, false);
  assert.match(logged.join('\n'), /warning: checkpoint .* was written under the key "another-run-key", not [0-9a-f]{24} \(copied or renamed\?\); moved aside to .*retraining from scratch/);
  m.dispose();
});

test('the lib digest changes when a training source changes (temp copy), and is cached per process', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-lib-'));
  const put = (rel: string, text: string) => { fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true }); fs.writeFileSync(path.join(root, rel), text); };
  put('regularizers/penalty.ts', 'export const k = 1;\n');
  put('train/trainer.ts', 'export const t = 1;\n');
  put('types.ts', 'export type X = 1;\n');
  put('report/figures.ts', 'export const f = 1;\n');
  put('regularizers/notes.md', 'not code\n');
  const d0 = libDigest(root);
  assert.equal(libDigest(root), d0);
  assert.equal(sourceDigest(root), d0);
  put('report/figures.ts', 'export const f = 2; // a figure edit cannot change the weights\n');
  put('regularizers/notes.md', 'still not code\n');
  assert.equal(libDigest(root), d0, 'report/ and non-.ts files are not training sources');
  put('regularizers/penalty.ts', 'export const k = 2; // edited\n');
  const d1 = libDigest(root);
  assert.notEqual(d1, d0, 'editing a regularizer changes the digest');
  put('regularizers/another.ts', '');
  assert.notEqual(libDigest(root), d1, 'a new file changes it');
  fs.renameSync(path.join(root, 'regularizers/another.ts'), path.join(root, 'regularizers/renamed.ts'));
  assert.notEqual(libDigest(root), d1, 'a rename changes it');
  // Same size, new content and mtime: still seen (the per-process cache checks sizes and mtimes).
  const f = path.join(root, 'types.ts');
  const d2 = libDigest(root);
  fs.writeFileSync(f, 'export type X = 2;\n');
  fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
  assert.notEqual(libDigest(root), d2);
  assert.throws(() => libDigest(path.join(root, 'nowhere')), /cannot read the lib sources under .*nowhere/);
  // The real lib: the cached digest is the digest of its training sources.
  assert.equal(libDigest(), sourceDigest(LIB_ROOT, TRAINING_SOURCES));
});

test('every lib file the trainer, models and regularizers import is a training source (or declared harmless)', () => {
  const harmless = ['report/', 'util/', 'experiment/params.ts']; // progress bar, atomic write + event loop, key formatting
  const seen = new Set<string>();
  const isHarmless = (rel: string) => harmless.some((h) => rel === h || rel.startsWith(h));
  const visit = (rel: string) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    if (isHarmless(rel)) return; // what a progress bar imports cannot change the weights either
    const text = fs.readFileSync(path.join(LIB_ROOT, rel), 'utf8');
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]));
      visit(fs.existsSync(path.join(LIB_ROOT, `${target}.ts`)) ? `${target}.ts` : `${target}/index.ts`);
    }
  };
  for (const root of ['train/index.ts', 'models/index.ts', 'regularizers/index.ts', 'data/index.ts']) visit(root);
  const covered = (rel: string) => TRAINING_SOURCES.some((s) => rel === s || rel.startsWith(`${s}/`)) || isHarmless(rel);
  assert.deepEqual([...seen].filter((r) => !covered(r)), [], 'add these to TRAINING_SOURCES (lib/train/cache-key.ts) or explain why they cannot change the weights');
  assert.ok(seen.has('train/trainer.ts') && seen.has('tf/safe-ops.ts'));
});
