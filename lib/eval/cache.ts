// Evaluation cache: one file per (model weights, attack, data subset, code version), so re-running a notebook with one attack's
// setting changed re-runs that attack only (issue 14 item 6). Keyed like the checkpoint cache: anything that can change an
// attack's per-example result is in the key, and a stale entry is never handed back:
// - the model: name, input shape, classes, parameter count, a digest of every weight and state tensor, and its logits() source
//   (a library SequentialModel: 'lib', its code is in the code digest);
// - the attack: name, threat model, resolved config, and the source text of its run() (a user-defined attack's code counts; a
//   library attack, lib/attacks/recipe.ts: 'lib'). Transpiled source differs between compilers (tslab in a notebook, tsx in a
//   job worker), so library code is never keyed by it: a worker's results are found by the notebook;
// - the data: a digest of the evaluated inputs and labels (the first n, exactly as evaluated);
// - how the attack is seeded and batched (seed, batch size, seeding scheme and position);
// - the code: a digest of the lib sources evaluation and the attacks import (followed transitively from lib/eval/robustness.ts,
//   lib/attacks/index.ts and lib/models/index.ts; lib/report is display only and left out), and the tfjs backend.
// Entries are JSON under <data>/eval-cache (dataDir(), GRADREG_DATA), written atomically; an unreadable entry is a miss.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../types';
import { dataDir, REPO_ROOT } from '../data/paths';
import { configHash } from '../experiment/params';
import { weightsDigest } from '../train/cache-key';
import { atomicWrite } from '../util/atomic-write';
import { isLibAttack } from '../attacks/recipe';
import { SequentialModel } from '../models/sequential';

/** Bump when the entry format or the meaning of a cached result changes. */
export const EVAL_CACHE_VERSION = 2;

/** Where cached evaluations live by default: <data>/eval-cache. */
export function evalCacheDir(): string {
  return path.join(dataDir(), 'eval-cache');
}

/** The roots whose transitive lib imports make up the evaluation code version. */
const CODE_ROOTS = ['lib/eval/robustness.ts', 'lib/attacks/index.ts', 'lib/models/index.ts'];

const IMPORT_RE = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/**
 * sha256 over the lib sources reachable by relative imports from `roots` (repo-relative paths), lib/report excluded. Read on
 * every call, so editing lib/ between notebook cells changes it. Throws when a root cannot be read (no .ts sources here).
 */
export function evalCodeDigest(roots: string[] = CODE_ROOTS, repo: string = REPO_ROOT): string {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const rel = path.relative(repo, file).split(path.sep).join('/');
    if (rel.startsWith('lib/report/')) return;
    const text = fs.readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const m of text.matchAll(IMPORT_RE)) {
      const base = path.resolve(path.dirname(file), m[1]);
      const target = [base, `${base}.ts`, path.join(base, 'index.ts')].find((p) => p.endsWith('.ts') && fs.existsSync(p));
      if (target) visit(target);
    }
  };
  for (const r of roots) visit(path.join(repo, r));
  const h = crypto.createHash('sha256');
  for (const f of [...seen.keys()].sort()) h.update(path.relative(repo, f)).update('\0').update(seen.get(f)!).update('\0');
  return h.digest('hex');
}

/**
 * What identifies the model: its shape, size, every weight, and the source text of its logits() (a wrapper written in a notebook,
 * e.g. an input transformation around a lib model, shares the weights but not this).
 */
export function modelKey(model: Model): Record<string, unknown> {
  return { name: model.name, inputShape: [...model.inputShape], numClasses: model.numClasses, params: model.paramCount(), weights: weightsDigest(model),
    logits: libLogits(model) ? 'lib' : crypto.createHash('sha256').update(String(model.logits)).digest('hex') };
}

/** A library model whose logits() is the library's own (not replaced on the instance). */
function libLogits(model: Model): boolean {
  return model instanceof SequentialModel && model.logits === SequentialModel.prototype.logits;
}

/** Incremental sha256 of the evaluated inputs and labels (feed the batches in order). */
export class DataDigest {
  private readonly h = crypto.createHash('sha256');
  private count = 0;
  add(x: tf.Tensor4D, y: tf.Tensor1D): void {
    const xs = x.dataSync() as Float32Array;
    const ys = Int32Array.from(y.dataSync());
    this.h.update(new Uint8Array(xs.buffer, xs.byteOffset, xs.byteLength)).update(new Uint8Array(ys.buffer));
    this.count += ys.length;
  }
  digest(): string {
    return `${this.count}:${this.h.digest('hex')}`;
  }
}

/** The attack's part of the key, or a reason it cannot be keyed (no config: its settings are unknown). */
export function attackKey(a: Attack): Record<string, unknown> | { uncacheable: string } {
  if (!a.config) return { uncacheable: `attack "${a.name}" has no config, so a change of its settings could not be detected` };
  // A transfer attack (sanity.ts TRANSFER_PREFIX, literal here to avoid an import cycle) depends on its source model's weights,
  // which the key does not cover.
  if (a.name.startsWith('transfer:')) return { uncacheable: `attack "${a.name}" is crafted on another model whose weights the key does not cover` };
  try {
    return { name: a.name, threat: a.threat, config: JSON.parse(JSON.stringify(a.config, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? `${v}` : v))),
      run: isLibAttack(a) ? 'lib' : crypto.createHash('sha256').update(String(a.run)).digest('hex') };
  } catch (e) {
    return { uncacheable: `attack "${a.name}" has a config that is not plain data (${(e as Error).message})` };
  }
}

export interface CacheContext {
  dir: string;
  code: string;
  model: Record<string, unknown>;
  data: string;
  seed: number;
  batchSize: number;
  seeding: string;
  backend: string;
}

/** The cache key (hex) of one attack at one position in the list under a context. */
export function evalCacheKey(ctx: CacheContext, attack: Record<string, unknown>, position: number | null): string {
  return configHash({ v: EVAL_CACHE_VERSION, code: ctx.code, model: ctx.model, data: ctx.data, seed: ctx.seed, batchSize: ctx.batchSize,
    seeding: ctx.seeding, position, backend: ctx.backend, attack }).slice(0, 32);
}

export interface CachedAttack {
  key: string;
  attack: string;
  n: number;
  /** Per-example robustness as a string of '0'/'1'. */
  correct: string;
  nonFinite: number;
  seconds: number;
  createdAt: string;
}

/** A hit, or undefined (missing, unreadable, or written for another key or n: never trusted). */
export function readCached(dir: string, key: string, n: number): { correct: Uint8Array; nonFinite: number; seconds: number } | undefined {
  const file = path.join(dir, `${key}.json`);
  let e: CachedAttack;
  try {
    e = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedAttack;
  } catch {
    return undefined;
  }
  if (!e || e.key !== key || e.n !== n || typeof e.correct !== 'string' || e.correct.length !== n || /[^01]/.test(e.correct)) return undefined;
  return { correct: Uint8Array.from(e.correct, (c) => (c === '1' ? 1 : 0)), nonFinite: Number(e.nonFinite) || 0, seconds: Number(e.seconds) || 0 };
}

/** Writes one entry atomically; a failure to write (read-only folder) is a warning, never a lost evaluation. */
export function writeCached(dir: string, entry: Omit<CachedAttack, 'createdAt'>): void {
  try {
    atomicWrite(path.join(dir, `${entry.key}.json`), JSON.stringify({ ...entry, createdAt: new Date().toISOString() }) + '\n');
  } catch (e) {
    console.warn(`⚠ evaluation cache: cannot write to ${dir} (${(e as Error).message}); results are not cached. Make the folder writable or set GRADREG_DATA.`);
  }
}

/** The context for one evaluation, or a reason the cache is off (warned by the caller). */
export function cacheContext(model: Model, data: string, o: { dir?: string; seed: number; batchSize: number; seeding: string }): CacheContext | { off: string } {
  let code: string;
  try {
    code = evalCodeDigest();
  } catch (e) {
    return { off: `the lib sources cannot be read to key the cache by code version (${(e as Error).message})` };
  }
  return { dir: o.dir ?? evalCacheDir(), code, model: modelKey(model), data, seed: o.seed, batchSize: o.batchSize, seeding: o.seeding, backend: tf.getBackend() };
}
