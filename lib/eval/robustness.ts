// Robust accuracy per attack and eps, and the per-example worst case over every attack run (evaluation.md).
import * as tf from '@tensorflow/tfjs';
import type { Attack, DataSet, Model, Norm } from '../types';
import { withMode } from '../models/sequential';
import { deriveSeed, makeRng } from '../data/rng';
import { gridToPixels } from '../tf/warp';
import { progress } from '../report/progress';
import { eventLoopTurner } from '../util/event-loop';

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
}

export interface RobustnessReport {
  n: number;
  clean: number;
  cleanCorrect: Uint8Array;
  attacks: AttackResult[];
  seconds: number;
}

export type EvalData = DataSet | { x: tf.Tensor4D; y: tf.Tensor1D };

function predictCorrect(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): Uint8Array {
  return tf.tidy(() => tf.equal(tf.argMax(model.logits(x), 1), y).dataSync() as unknown as Uint8Array).map((v) => (v ? 1 : 0));
}

/** Batches of the first n test examples (or of the given tensors). */
function* evalBatches(data: EvalData, n: number, batchSize: number): Generator<{ x: tf.Tensor4D; y: tf.Tensor1D; own: boolean }> {
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    if ('x' in data) {
      yield { x: data.x.slice([s, 0, 0, 0], [m, -1, -1, -1]), y: data.y.slice([s], [m]), own: true };
    } else {
      const b = data.batch('test', Int32Array.from({ length: m }, (_, i) => s + i));
      yield { ...b, own: true };
    }
  }
}

/**
 * Runs every attack on the first `n` test examples, batch by batch, in eval mode. An example counts as robust to an attack when it
 * is classified correctly both clean and attacked. Targeted attacks get seeded random targets (randomTargets).
 */
export interface EvaluateOptions {
  /** First n test examples (default all). */
  n?: number;
  batchSize?: number;
  seed?: number;
  /** No progress bar. */
  quiet?: boolean;
  /** Called after each (batch, attack) with (done, total) units of work. */
  onProgress?: (done: number, total: number) => void;
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

/** The evaluation, one (batch, attack) unit per step. */
function* robustnessSteps(model: Model, data: EvalData, attacks: Attack[], opts: EvaluateOptions): Generator<void, RobustnessReport> {
  const total = 'x' in data ? data.x.shape[0] : data.size('test');
  const n = Math.min(opts.n ?? total, total);
  if (!(n > 0)) throw new Error(`evaluateRobustness: n must be >= 1, got ${opts.n}`);
  const bs = opts.batchSize ?? 250;
  const t0 = Date.now();
  const cleanCorrect = new Uint8Array(n);
  const results: AttackResult[] = attacks.map((a) => ({
    attack: a.name, norm: a.threat.norm, eps: a.threat.eps, ...(a.threat.targeted ? { targeted: true } : {}),
    ...(a.threat.norm === 'flow' ? { epsPixels: gridToPixels(a.threat.eps, model.inputShape[1]) } : {}),
    ...(a.config ? { config: a.config } : {}),
    acc: 0, correct: new Uint8Array(n), seconds: 0,
  }));
  const units = Math.ceil(n / bs) * attacks.length;
  let doneUnits = 0;
  const bar = opts.quiet ? undefined : progress(units, `attack ${model.name}`);
  const prevMode = model.mode;
  model.mode = 'eval';
  try {
    let off = 0;
    let bi = 0;
    for (const { x, y } of evalBatches(data, n, bs)) {
      const c = predictCorrect(model, x, y);
      cleanCorrect.set(c, off);
      for (const [k, a] of attacks.entries()) {
        const ta = Date.now();
        const seed = deriveSeed(opts.seed ?? 0, bi, k);
        const targets = a.threat.targeted ? randomTargets(y, model.numClasses, deriveSeed(seed, 1)) : undefined;
        const xa = a.run(model, x, y, { seed, targets });
        const ca = predictCorrect(model, xa, y);
        tf.dispose([xa, ...(targets ? [targets] : [])]);
        for (let i = 0; i < ca.length; i++) results[k].correct[off + i] = ca[i] & c[i];
        results[k].seconds += (Date.now() - ta) / 1000;
        bar?.tick(1, `${a.name} eps ${a.threat.eps}`);
        opts.onProgress?.(++doneUnits, units);
        // The caller may let the event loop turn here; the model stays in eval mode meanwhile.
        yield;
      }
      off += c.length;
      bi++;
      tf.dispose([x, y]);
    }
  } finally {
    model.mode = prevMode;
  }
  bar?.done();
  for (const r of results) r.acc = mean(r.correct);
  return { n, clean: mean(cleanCorrect), cleanCorrect, attacks: results, seconds: (Date.now() - t0) / 1000 };
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
  const total = 'x' in data ? data.x.shape[0] : data.size('test');
  const n = Math.min(opts.n ?? total, total);
  return sigmas.map((sigma, si) => {
    if (!(sigma >= 0)) throw new Error(`noiseAccuracy: sigma must be >= 0, got ${sigma}`);
    let correct = 0;
    let bi = 0;
    withMode(model, 'eval', () => {
      for (const { x, y } of evalBatches(data, n, opts.batchSize ?? 500)) {
        correct += tf.tidy(() => {
          const xn = tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', deriveSeed(opts.seed ?? 0, si, bi))), 0, 1) as tf.Tensor4D;
          return tf.sum(tf.equal(tf.argMax(model.logits(xn), 1), y)).dataSync()[0];
        });
        tf.dispose([x, y]);
        bi++;
      }
    });
    return { sigma, acc: correct / n };
  });
}
