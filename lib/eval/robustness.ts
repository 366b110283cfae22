// Robust accuracy per attack and eps, and the per-example worst case over every attack run (evaluation.md).
import * as tf from '@tensorflow/tfjs';
import type { Attack, DataSet, Model, Norm } from '../types';
import { withMode } from '../models/sequential';
import { deriveSeed, makeRng } from '../data/rng';
import { gridToPixels } from '../tf/warp';
import { progress } from '../report/progress';
import { eventLoopTurner } from '../util/event-loop';
import { configHash } from '../experiment/params';
import { attackKey, cacheContext, DataDigest, evalCacheKey, readCached, writeCached, type CacheContext } from './cache';

export interface AttackResult {
  attack: string;
  norm: Norm;
  eps: number;
  /** Flow attacks: eps in pixels along the width (grid units * (W-1)/2). */
  epsPixels?: number;
  /** Targeted attacks ran against seeded random targets (randomTargets); accuracy still counts correct labels. */
  targeted?: boolean;
  /** The attack's settings (Attack.config). */
  config?: Record<string, unknown>;
  /** Robust accuracy: correct on the adversarial input (and on the clean one). */
  acc: number;
  correct: Uint8Array;
  seconds: number;
  /** Taken from the evaluation cache (cache.ts) instead of run; `seconds` is then the original run's time. */
  cached?: boolean;
  /**
   * Examples whose logits on the attacked input were NaN or infinite: counted as not robust (the model gives no prediction
   * there) and warned about. Absent when 0.
   */
  nonFinite?: number;
}

export interface RobustnessReport {
  n: number;
  clean: number;
  cleanCorrect: Uint8Array;
  attacks: AttackResult[];
  seconds: number;
  /** The model's number of classes (chance = 1 / numClasses), for the sanity checks. */
  numClasses?: number;
}

export type EvalData = DataSet | { x: tf.Tensor4D; y: tf.Tensor1D };

/** Per example: the prediction is the label (and the logits are finite), and the logits are finite. */
/**
 * Per example: correct (prediction = label, logits finite) and finite logits. Checks the logits' shape. Runs in the model's
 * current mode: callers put it in eval mode.
 */
export function predictCorrect(where: string, model: Model, x: tf.Tensor4D, y: tf.Tensor1D): { correct: Uint8Array; finite: Uint8Array } {
  return tf.tidy(() => {
    const z = model.logits(x);
    if (z.rank !== 2 || z.shape[0] !== x.shape[0] || z.shape[1] !== model.numClasses) {
      throw new Error(`${where}: ${model.name}.logits returned shape [${z.shape}] for ${x.shape[0]} inputs; expected [${x.shape[0]}, ${model.numClasses}] (numClasses)`);
    }
    const finite = tf.all(tf.isFinite(z), 1);
    const correct = tf.logicalAnd(tf.equal(tf.argMax(z, 1), tf.cast(y, 'int32')), finite);
    return { correct: Uint8Array.from(correct.dataSync()), finite: Uint8Array.from(finite.dataSync()) };
  });
}

/** Test examples start .. start+m-1 (of a DataSet's test split, or of the given tensors) as one batch; the caller disposes it. */
export function evalSlice(data: EvalData, start: number, m: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  if ('x' in data) return { x: data.x.slice([start, 0, 0, 0], [m, -1, -1, -1]), y: data.y.slice([start], [m]) };
  return data.batch('test', Int32Array.from({ length: m }, (_, i) => start + i));
}

/** Batches of the first n test examples (or of the given tensors); the caller disposes each. */
export function* evalBatches(data: EvalData, n: number, batchSize: number): Generator<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
  for (let s = 0; s < n; s += batchSize) yield evalSlice(data, s, Math.min(batchSize, n - s));
}

/**
 * Checks what an evaluation is given before any work (issue 16: bad input must be an error naming the argument, never a
 * plausible number): data shapes against the model, labels (integers in [0, numClasses)), n, batchSize, seed. Returns the
 * resolved n (the first n test examples, at most all), batchSize and seed. Inputs themselves are checked by checkInputs.
 */
export function checkEvaluation(where: string, model: Model, data: EvalData, opts: { n?: number; batchSize?: number; seed?: number } = {},
  defaultBatch = 250): { n: number; batchSize: number; seed: number } {
  if (!model || typeof model.logits !== 'function' || !model.inputShape || model.inputShape.length !== 3) {
    throw new Error(`${where}: model must be a Model (with logits(x) and inputShape), got ${typeof model}`);
  }
  const [h, w, c] = model.inputShape;
  let total: number;
  let labels: ArrayLike<number>;
  if (data && typeof data === 'object' && 'x' in data) {
    const { x, y } = data;
    if (!(x instanceof tf.Tensor) || !(y instanceof tf.Tensor)) throw new Error(`${where}: data must be a DataSet or { x: Tensor4D, y: Tensor1D }; x and y must be tensors`);
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw new Error(`${where}: data.x must be [N, ${h}, ${w}, ${c}] for ${model.name}, got [${x.shape}]`);
    }
    if (y.rank !== 1) throw new Error(`${where}: data.y must be a 1-D tensor of class indices, got shape [${y.shape}]`);
    if (y.shape[0] !== x.shape[0]) {
      throw new Error(`${where}: data.x has ${x.shape[0]} examples but data.y has ${y.shape[0]} labels; pass one label per example`);
    }
    total = x.shape[0];
    labels = y.dataSync() as ArrayLike<number>;
  } else if (data && typeof data === 'object' && typeof (data as DataSet).batch === 'function') {
    const ds = data as DataSet;
    if (ds.shape[0] !== h || ds.shape[1] !== w || ds.shape[2] !== c) {
      throw new Error(`${where}: data set ${ds.name} has images [${ds.shape}] but ${model.name} takes [${model.inputShape}]`);
    }
    total = ds.size('test');
    labels = ds.labels('test');
  } else {
    throw new Error(`${where}: data must be a DataSet or { x: Tensor4D, y: Tensor1D }, got ${data === null ? 'null' : typeof data}`);
  }
  if (opts.n !== undefined && !(Number.isInteger(opts.n) && opts.n > 0)) {
    throw new Error(`${where}: n must be a positive integer (the first n test examples), got ${opts.n}`);
  }
  const bs = opts.batchSize ?? defaultBatch;
  if (!(Number.isInteger(bs) && bs > 0)) throw new Error(`${where}: batchSize must be a positive integer, got ${opts.batchSize}`);
  const seed = opts.seed ?? 0;
  if (!(Number.isInteger(seed) && seed >= 0)) throw new Error(`${where}: seed must be a non-negative integer, got ${opts.seed}`);
  const n = Math.min(opts.n ?? total, total);
  if (!(n > 0)) throw new Error(`${where}: there are no test examples to evaluate (the data has ${total})`);
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!(Number.isInteger(v) && v >= 0 && v < model.numClasses)) {
      throw new Error(`${where}: label ${i} is ${v}; labels must be integer class indices in [0, ${model.numClasses}) for ${model.name}` +
        (Number.isInteger(v) ? '' : ' (fractional: pass class indices, not one-hot rows or probabilities)'));
    }
  }
  return { n, batchSize: bs, seed };
}

/** Inputs of one batch starting at example `offset`: finite and in [0,1] (normalization belongs inside the model). */
export function checkEvalInputs(where: string, x: tf.Tensor4D, offset: number): void {
  const { bad, lo, hi } = tf.tidy(() => {
    const flat = tf.reshape(x, [x.shape[0], -1]);
    const perEx = tf.any(tf.logicalNot(tf.isFinite(flat)), 1);
    return { bad: Uint8Array.from(perEx.dataSync()), lo: tf.min(flat).dataSync()[0], hi: tf.max(flat).dataSync()[0] };
  });
  const first = bad.findIndex((v) => v !== 0);
  if (first >= 0) {
    const count = bad.reduce((p, v) => p + (v ? 1 : 0), 0);
    throw new Error(`${where}: data inputs are NaN or infinite in ${count} example(s) of ${offset}..${offset + x.shape[0] - 1} (first: example ${offset + first}); clean the data`);
  }
  if (lo < 0 || hi > 1) throw new Error(`${where}: data inputs must lie in [0,1] (normalization belongs inside the model), got values in [${lo}, ${hi}] among examples ${offset}..${offset + x.shape[0] - 1}`);
}

/**
 * What an attack returned: finite, in [0,1], and (Linf, L2, L1) within its budget of the clean input. A broken (e.g. user-written)
 * attack is an error naming it, never a robust accuracy measured on inputs outside the threat model.
 */
function checkAdversarial(where: string, a: Attack, x: tf.Tensor4D, xa: tf.Tensor4D): void {
  const { norm, eps } = a.threat;
  const { finite, lo, hi, dist } = tf.tidy(() => {
    const d = tf.reshape(tf.sub(xa, x), [x.shape[0], -1]);
    const dist = norm === 'linf' ? tf.max(tf.abs(d)) : norm === 'l2' ? tf.max(tf.sqrt(tf.sum(tf.square(d), 1))) : norm === 'l1' ? tf.max(tf.sum(tf.abs(d), 1)) : tf.scalar(0);
    return { finite: tf.all(tf.isFinite(xa)).dataSync()[0], lo: tf.min(xa).dataSync()[0], hi: tf.max(xa).dataSync()[0], dist: dist.dataSync()[0] };
  });
  if (!finite) throw new Error(`${where}: attack "${a.name}" returned NaN or infinite inputs`);
  if (lo < -1e-6 || hi > 1 + 1e-6) throw new Error(`${where}: attack "${a.name}" returned inputs outside [0,1] (values in [${lo}, ${hi}]); attacks must clip to the input box`);
  if ((norm === 'linf' || norm === 'l2' || norm === 'l1') && Number.isFinite(eps) && dist > eps * (1 + 1e-5) + 1e-6) {
    throw new Error(`${where}: attack "${a.name}" moved an input by ${dist} (${norm}), more than its budget eps ${eps}; its numbers would not belong to the threat model`);
  }
}

/**
 * Runs every attack on the first `n` test examples, batch by batch, in eval mode. An example counts as robust to an attack when it
 * is classified correctly both clean and attacked. Targeted attacks get seeded random targets (randomTargets).
 */
export interface EvaluateOptions {
  /** First n test examples (default all; a positive integer). */
  n?: number;
  batchSize?: number;
  seed?: number;
  /** No progress bar. */
  quiet?: boolean;
  /** Called after each (batch, attack) with (done, total) units of work. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Per-attack evaluation cache (cache.ts): an attack whose result is cached for this model's weights, data subset, seeding and
   * code version is not run again. Default off here (strongEvaluation turns it on).
   */
  cache?: boolean;
  /** Folder of the evaluation cache (default <data>/eval-cache). */
  cacheDir?: string;
  /**
   * How each attack's random seed is derived: 'position' (default; from its index in the list) or 'identity' (from its name,
   * threat and config: adding, removing or reordering attacks leaves every other attack's numbers, and cache entries, unchanged;
   * two identical attacks in one list then get the same seed).
   */
  attackSeeds?: 'position' | 'identity';
}

/**
 * Targets for a targeted attack: a seeded uniformly random class other than the label (Carlini & Wagner's "random target").
 * The caller disposes.
 */
export function randomTargets(y: tf.Tensor1D, numClasses: number, seed: number): tf.Tensor1D {
  if (numClasses < 2) throw new Error(`randomTargets: needs at least 2 classes, got ${numClasses}`);
  const rng = makeRng(seed);
  const t = Int32Array.from(y.dataSync(), (v) => (v + 1 + Math.floor(rng() * (numClasses - 1))) % numClasses);
  return tf.tensor1d(t, 'int32');
}

export function evaluateRobustness(model: Model, data: EvalData, attacks: Attack[], opts: EvaluateOptions = {}): RobustnessReport {
  const steps = robustnessSteps(model, data, attacks, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * evaluateRobustness, letting the event loop turn about once a second between (batch, attack) units: in a notebook its
 * progress bar is then live (tslab sends output only when the event loop turns). Same numbers.
 */
export async function evaluateRobustnessAsync(model: Model, data: EvalData, attacks: Attack[], opts: EvaluateOptions = {}): Promise<RobustnessReport> {
  const steps = robustnessSteps(model, data, attacks, opts);
  const turnEventLoop = eventLoopTurner();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await turnEventLoop();
  }
}

/** A 32-bit number from an attack's name, threat and config: its seed stream under attackSeeds 'identity'. */
function attackIdentity(a: Attack): number {
  let key: string;
  try {
    key = configHash({ name: a.name, threat: a.threat, config: a.config ?? null });
  } catch {
    key = configHash({ name: a.name, threat: a.threat });
  }
  return parseInt(key.slice(0, 8), 16);
}

/**
 * The evaluation, one (batch, attack) unit per step (drain it for the result; evaluateRobustness and the async twin do).
 * `where` names the caller in error messages.
 */
export function* robustnessSteps(model: Model, data: EvalData, attacks: Attack[], opts: EvaluateOptions = {}, where = 'evaluateRobustness'):
  Generator<void, RobustnessReport> {
  if (!Array.isArray(attacks)) throw new Error(`${where}: attacks must be an array of attacks, got ${typeof attacks}`);
  attacks.forEach((a, i) => {
    if (!a || typeof a.run !== 'function' || typeof a.name !== 'string' || !a.threat) throw new Error(`${where}: attacks[${i}] is not an Attack (name, threat, run)`);
  });
  const { n, batchSize: bs, seed } = checkEvaluation(where, model, data, opts);
  const seeding = opts.attackSeeds ?? 'position';
  if (seeding !== 'position' && seeding !== 'identity') throw new Error(`${where}: attackSeeds must be 'position' or 'identity', got ${JSON.stringify(seeding)}`);
  const t0 = Date.now();
  // Inputs checked before any attack runs (and digested for the cache key).
  const digest = opts.cache ? new DataDigest() : undefined;
  for (let off = 0, it = evalBatches(data, n, bs), b = it.next(); !b.done; off += b.value.x.shape[0], b = it.next()) {
    try {
      checkEvalInputs(where, b.value.x, off);
      digest?.add(b.value.x, b.value.y);
    } finally {
      tf.dispose([b.value.x, b.value.y]);
    }
  }
  const streams = attacks.map((a, k) => (seeding === 'identity' ? attackIdentity(a) : k));
  const keys: (string | undefined)[] = attacks.map(() => undefined);
  const hits: (ReturnType<typeof readCached>)[] = attacks.map(() => undefined);
  let ctx: CacheContext | undefined;
  if (digest) {
    const c = cacheContext(model, digest.digest(), { dir: opts.cacheDir, seed, batchSize: bs, seeding });
    if ('off' in c) console.warn(`⚠ ${where}: evaluation cache off: ${c.off}`);
    else ctx = c;
  }
  if (ctx) {
    for (const [k, a] of attacks.entries()) {
      const ak = attackKey(a);
      if ('uncacheable' in ak) { console.warn(`⚠ ${where}: not cached: ${ak.uncacheable}`); continue; }
      keys[k] = evalCacheKey(ctx, ak, seeding === 'position' ? k : null);
      hits[k] = readCached(ctx.dir, keys[k]!, n);
    }
  }
  const cleanCorrect = new Uint8Array(n);
  const results: AttackResult[] = attacks.map((a) => ({
    attack: a.name, norm: a.threat.norm, eps: a.threat.eps, ...(a.threat.targeted ? { targeted: true } : {}),
    ...(a.threat.norm === 'flow' ? { epsPixels: gridToPixels(a.threat.eps, model.inputShape[1]) } : {}),
    ...(a.config ? { config: a.config } : {}),
    acc: 0, correct: new Uint8Array(n), seconds: 0,
  }));
  const nonFinite = attacks.map(() => 0);
  const toRun = attacks.map((_, k) => k).filter((k) => !hits[k]);
  const units = Math.ceil(n / bs) * toRun.length;
  let doneUnits = 0;
  const bar = opts.quiet || units === 0 ? undefined : progress(units, `attack ${model.name}`);
  const prevMode = model.mode;
  model.mode = 'eval';
  try {
    let off = 0;
    let bi = 0;
    for (const { x, y } of evalBatches(data, n, bs)) {
      try {
        const clean = predictCorrect(where, model, x, y);
        const bad = clean.finite.findIndex((v) => !v);
        if (bad >= 0) {
          throw new Error(`${where}: ${model.name} gives NaN or infinite logits on clean test example ${off + bad}` +
            ` (${clean.finite.reduce((p, v) => p + (v ? 0 : 1), 0)} of batch ${off}..${off + x.shape[0] - 1}); fix the model before measuring robustness`);
        }
        cleanCorrect.set(clean.correct, off);
        for (const k of toRun) {
          const a = attacks[k];
          const ta = Date.now();
          const aSeed = deriveSeed(seed, bi, streams[k]);
          let targets: tf.Tensor1D | undefined;
          let xa: tf.Tensor4D | undefined;
          try {
            targets = a.threat.targeted ? randomTargets(y, model.numClasses, deriveSeed(aSeed, 1)) : undefined;
            xa = a.run(model, x, y, { seed: aSeed, targets });
            if (!(xa instanceof tf.Tensor) || xa.shape.join() !== x.shape.join()) {
              throw new Error(`${where}: attack "${a.name}" returned ${xa instanceof tf.Tensor ? `shape [${xa.shape}]` : String(xa)} for inputs [${x.shape}]; an attack returns adversarial inputs of the input's shape`);
            }
            checkAdversarial(where, a, x, xa);
            const adv = predictCorrect(where, model, xa, y);
            for (let i = 0; i < adv.correct.length; i++) {
              results[k].correct[off + i] = adv.correct[i] & clean.correct[i];
              if (!adv.finite[i]) nonFinite[k]++;
            }
          } finally {
            tf.dispose([...(xa instanceof tf.Tensor ? [xa] : []), ...(targets ? [targets] : [])]);
          }
          results[k].seconds += (Date.now() - ta) / 1000;
          bar?.tick(1, `${a.name} eps ${a.threat.eps}`);
          opts.onProgress?.(++doneUnits, units);
          // The caller may let the event loop turn here; the model stays in eval mode meanwhile.
          yield;
        }
        off += x.shape[0];
        bi++;
      } finally {
        tf.dispose([x, y]);
      }
    }
  } finally {
    model.mode = prevMode;
  }
  bar?.done();
  for (const [k, r] of results.entries()) {
    const hit = hits[k];
    if (hit) {
      r.correct = hit.correct;
      r.seconds = hit.seconds;
      r.cached = true;
      nonFinite[k] = hit.nonFinite;
    } else if (ctx && keys[k]) {
      writeCached(ctx.dir, { key: keys[k]!, attack: r.attack, n, correct: Array.from(r.correct, (v) => (v ? '1' : '0')).join(''), nonFinite: nonFinite[k], seconds: r.seconds });
    }
    if (nonFinite[k] > 0) {
      r.nonFinite = nonFinite[k];
      console.warn(`⚠ ${where}: ${model.name} gives NaN or infinite logits on ${nonFinite[k]} of ${n} inputs attacked by ${r.attack} (eps ${r.eps}); counted as not robust`);
    }
    r.acc = mean(r.correct);
  }
  return { n, clean: mean(cleanCorrect), cleanCorrect, attacks: results, seconds: (Date.now() - t0) / 1000, numClasses: model.numClasses };
}

export function mean(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return a.length ? s / a.length : NaN;
}

/** Per-example worst case over the given attack results: robust only if robust to every one of them. */
export function worstCase(results: AttackResult[], cleanCorrect: Uint8Array): { acc: number; correct: Uint8Array } {
  const correct = Uint8Array.from(cleanCorrect);
  for (const r of results) for (let i = 0; i < correct.length; i++) correct[i] &= r.correct[i];
  return { acc: mean(correct), correct };
}

/** Robust accuracy per eps: the per-example worst case over all attacks with that (norm, eps). Sorted by eps. */
export function worstCaseByEps(report: RobustnessReport, norm?: Norm): { eps: number; acc: number; attacks: string[] }[] {
  const byEps = new Map<number, AttackResult[]>();
  for (const r of report.attacks) {
    if (norm && r.norm !== norm) continue;
    byEps.set(r.eps, [...(byEps.get(r.eps) ?? []), r]);
  }
  return [...byEps.entries()].sort((a, b) => a[0] - b[0]).map(([eps, rs]) => ({ eps, acc: worstCase(rs, report.cleanCorrect).acc, attacks: rs.map((r) => r.attack) }));
}

/** Accuracy of one attack across eps (for accuracy-vs-eps curves). */
export function attackCurve(report: RobustnessReport, attack: string): { eps: number[]; acc: number[] } {
  const rs = report.attacks.filter((r) => r.attack === attack).sort((a, b) => a.eps - b.eps);
  return { eps: rs.map((r) => r.eps), acc: rs.map((r) => r.acc) };
}

/** Test accuracy under additive Gaussian noise (clipped to [0,1]), per sigma: Lyu et al.'s evaluation. */
export function noiseAccuracy(model: Model, data: EvalData, sigmas: number[], opts: { n?: number; seed?: number; batchSize?: number } = {}): { sigma: number; acc: number }[] {
  const where = 'noiseAccuracy';
  if (!Array.isArray(sigmas)) throw new Error(`${where}: sigmas must be an array of noise standard deviations, e.g. [0.1, 0.3]`);
  for (const s of sigmas) if (!(typeof s === 'number' && Number.isFinite(s) && s >= 0)) throw new Error(`${where}: every sigma must be a finite number >= 0, got ${s}`);
  const { n, batchSize, seed } = checkEvaluation(where, model, data, opts, 500);
  return sigmas.map((sigma, si) => {
    let correct = 0;
    let bi = 0;
    withMode(model, 'eval', () => {
      for (const { x, y } of evalBatches(data, n, batchSize)) {
        try {
          checkEvalInputs(where, x, bi * batchSize);
          const xn = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', deriveSeed(seed, si, bi))), 0, 1) as tf.Tensor4D);
          try {
            const p = predictCorrect(where, model, xn, y);
            correct += p.correct.reduce((a, v) => a + v, 0);
          } finally {
            xn.dispose();
          }
        } finally {
          tf.dispose([x, y]);
        }
        bi++;
      }
    });
    return { sigma, acc: correct / n };
  });
}
