// The checkpoint cache key: everything that changes the trained weights, including the CODE that trains them. A key that
// missed the code would hand back an old model under a new label after an edit to a regularizer, a model or a user's term.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSet, LossTerm, Model } from '../types';
import { backendReport } from '../backend';
import { configHash } from '../experiment/params';
import { termRecipe } from './term-recipe';

/** Bump when a change to the trainer changes the numbers it produces or what a checkpoint means. */
export const TRAINER_VERSION = 2;

/**
 * The lib sources (relative to lib/) whose edits can change a trained model, hashed into every key:
 * train/ (trainer, optimizers, terms, augmentation), models/ (architectures, initialization), regularizers/ (penalties),
 * tf/ (our kernels and second-order-safe ops every forward/backward runs through), attacks/ (adversarial-training terms
 * and penalties build on them; a user term may call any attack), data/ (readers, subsets, shuffling, normalization),
 * saliency/ (input-gradient maps a penalty of one's own may use), types.ts and backend.ts (kernel registration),
 * jobs/term-factories.ts (which factory a recipe names: job workers and data-parallel shard threads rebuild terms with it).
 * Left out on purpose, since they cannot change the weights: report/ (progress bars, figures), eval/ (runs after
 * training), experiment/ (parameters, method lists; configHash only formats the key), util/ (atomic writes, event loop).
 */
export const TRAINING_SOURCES: readonly string[] = [
  'train', 'models', 'regularizers', 'tf', 'attacks', 'data', 'saliency', 'types.ts', 'backend.ts', 'jobs/term-factories.ts',
];

/** lib/ as seen from this file (in a tslab kernel this is notebooks/lib, a symlink to lib/: reads go through it). */
export const LIB_ROOT = path.resolve(__dirname, '..');

/** A run that cannot be keyed (unreadable sources, a term without readable code or plain-data config): the cache is off. */
export class UncacheableError extends Error {}

function listSources(root: string, entries: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = fs.statSync(abs);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) walk(path.join(rel, name));
    } else if (rel.endsWith('.ts')) {
      out.push(rel.split(path.sep).join('/'));
    }
  };
  for (const e of entries) {
    if (fs.existsSync(path.join(root, e))) walk(e);
  }
  return out.sort();
}

/** sha256 over the relative paths and contents of the .ts files under `entries` of `root` (folders are walked). */
export function sourceDigest(root: string, entries: readonly string[] = TRAINING_SOURCES): string {
  const h = crypto.createHash('sha256');
  for (const rel of listSources(root, entries)) h.update(rel).update('\0').update(fs.readFileSync(path.join(root, rel))).update('\0');
  return h.digest('hex');
}

// Per process and root; reused while no file's size or mtime changed, so an edit between notebook cells is still seen.
const digests = new Map<string, { signature: string; digest: string }>();

/** The digest of the training sources (TRAINING_SOURCES) under `root` (default: this lib/). Cached per process. */
export function libDigest(root: string = LIB_ROOT): string {
  try {
    const files = listSources(root, TRAINING_SOURCES);
    if (files.length === 0) throw new Error('no .ts files found');
    const signature = files.map((f) => { const s = fs.statSync(path.join(root, f)); return `${f}:${s.size}:${s.mtimeMs}`; }).join('|');
    const hit = digests.get(root);
    if (hit && hit.signature === signature) return hit.digest;
    const digest = sourceDigest(root, TRAINING_SOURCES);
    digests.set(root, { signature, digest });
    return digest;
  } catch (e) {
    throw new UncacheableError(`cannot read the lib sources under ${root} to key the checkpoint cache (${(e as Error).message})`);
  }
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

/**
 * What identifies a term's code and settings in the key: name, weight, config, and one of: its `cacheId` (when given, it
 * replaces the source); for a library term (one with a recipe, lib/train/term-recipe.ts) `lib:<factory>` + its arguments,
 * its code being in the lib digest; otherwise the source text of `value` and `prepare`. The source covers a term written
 * in a notebook, whose code lib's digest cannot see; it does not cover values the term reads from variables around it
 * (put those in `config`). Throws UncacheableError when the term's
 * code cannot be read (a bound or native function) and no cacheId is given, or its config is not plain data.
 */
export function termIdentity(t: LossTerm): Record<string, unknown> {
  if (t.cacheId !== undefined && !(typeof t.cacheId === 'string' && t.cacheId.length > 0)) {
    throw new Error(`loss term "${t.name}": cacheId must be a non-empty string, got ${JSON.stringify(t.cacheId)}`);
  }
  let config: string;
  try {
    config = configHash(t.config ?? null);
  } catch (e) {
    throw new UncacheableError(`loss term "${t.name}": its config cannot be keyed (${(e as Error).message})`);
  }
  let code: string;
  const recipe = termRecipe(t);
  let recipeArgs: string | undefined;
  try { recipeArgs = recipe ? configHash(recipe.args) : undefined; } catch { recipeArgs = undefined; } // not plain data: hash the source
  if (t.cacheId !== undefined) {
    code = `cacheId:${t.cacheId}`;
  } else if (recipe && recipeArgs !== undefined) {
    // A library term: its code is in the lib digest; the factory and its arguments say which term it is, whatever compiler
    // produced the running code (tslab's TypeScript in a notebook, esbuild in a worker).
    code = `lib:${recipe.factory}:${recipeArgs}`;
  } else {
    const parts = [t.value, t.prepare].map((f) => (typeof f === 'function' ? Function.prototype.toString.call(f) : ''));
    if (parts.some((s) => NATIVE.test(s))) {
      throw new UncacheableError(`loss term "${t.name}": the source of its value/prepare cannot be read (a bound or native function); give it a cacheId that you change whenever its code changes`);
    }
    code = crypto.createHash('sha256').update(parts.join('\0')).digest('hex');
  }
  return { name: t.name, weight: t.weight, config, code };
}

/**
 * A digest of the model's weights and state before training: the initialization seed (which the trainer cannot see) and any
 * warm start are then part of the cache key, so a model built with another seed is never handed someone else's weights.
 */
export function weightsDigest(model: Model): string {
  const h = crypto.createHash('sha256');
  for (const v of [...model.variables, ...model.state]) {
    const d = v.dataSync() as Float32Array;
    h.update(v.shape.join('x')).update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

/**
 * The cache key: trainer version, lib digest, model (key, name, size, initial weights), data (name, sizes), training config,
 * each term's identity (termIdentity) and the backend family. Throws UncacheableError when the run cannot be keyed.
 */
export function trainKey(model: Model, data: DataSet, cfg: unknown, opts: { terms: LossTerm[]; modelKey: unknown }): string {
  return configHash({
    v: TRAINER_VERSION, lib: libDigest(), model: opts.modelKey, modelName: model.name, params: model.paramCount(), init: weightsDigest(model),
    data: data.name, n: [data.size('train'), data.size('test')], cfg, terms: opts.terms.map(termIdentity), backend: backendReport().family,
  }).slice(0, 24);
}
