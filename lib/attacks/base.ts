// What every attack shares: config checks, the loss it ascends, projections onto the threat model, random starts, and keeping
// per example the best adversarial input found across restarts.
import * as tf from '@tensorflow/tfjs';
import type { Attack, AttackRunOptions, Model, ThreatModel } from '../types';
import { withMode } from '../models/sequential';
import { crossEntropyPerExample } from '../tf/safe-ops';

export type AttackLoss = 'ce' | 'dlr' | 'cw';
export const ATTACK_LOSSES: readonly AttackLoss[] = ['ce', 'dlr', 'cw'];

export function checkEps(attack: string, eps: number): number {
  if (!(typeof eps === 'number' && Number.isFinite(eps) && eps >= 0)) {
    throw new Error(`${attack}: eps must be a finite number >= 0, got ${eps} (Linf/L2 budgets are in [0,1] pixel units, e.g. 0.3 for MNIST)`);
  }
  return eps;
}

/**
 * Warns (console.warn, once per attack construction) when a pixel-norm budget exceeds 1: inputs live in [0,1], so `eps: 8` almost
 * always meant 8/255, and an Linf budget above 1 allows any image. A warning, not an error: large L2/L1 radii can be intended.
 */
export function warnPixelEps(attack: string, norm: 'linf' | 'l2' | 'l1', eps: number): void {
  // Linf only: above 1 it allows any image, so it is a unit slip (8 for 8/255). L1/L2 radii above 1 are common (MNIST L2 2).
  if (norm !== 'linf' || !(Number.isFinite(eps) && eps > 1)) return;
  console.warn(`${attack}: eps ${eps} on [0,1] pixels (linf): did you mean ${eps}/255 = ${+(eps / 255).toFixed(5)}? An Linf budget above 1 allows any image in [0,1].`);
}

/** checkEps for budgets in [0,1] pixel units, with the eps > 1 warning. */
export function checkPixelEps(attack: string, norm: 'linf' | 'l2' | 'l1', eps: number): number {
  checkEps(attack, eps);
  warnPixelEps(attack, norm, eps);
  return eps;
}

export function checkPositiveInt(attack: string, name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${attack}: ${name} must be a positive integer, got ${v}`);
  return v;
}

export function checkOneOf<T>(attack: string, name: string, v: T, allowed: readonly T[]): T {
  if (!allowed.includes(v)) throw new Error(`${attack}: unknown ${name} ${JSON.stringify(v)}; use one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return v;
}

/**
 * Per-example loss to ascend [B]. 'ce' cross-entropy; 'cw' margin max_{i!=y} z_i - z_y; 'dlr' the difference of logits ratio
 * (Croce & Hein 2020): -(z_y - max_{i!=y} z_i) / (z_pi1 - z_pi3), scale invariant. Targeted: ascend toward `targets`; targeted DLR
 * is AutoAttack's -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2) (with fewer than 4 classes, z_pi3 replaces the mean).
 */
export function attackLoss(logits: tf.Tensor2D, y: tf.Tensor1D, loss: AttackLoss, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    if (loss === 'ce') return targets ? tf.neg(crossEntropyPerExample(logits, targets)) : crossEntropyPerExample(logits, y);
    const k = logits.shape[1];
    const oneY = tf.oneHot(y, k).toFloat();
    const zy = tf.sum(tf.mul(logits, oneY), 1);
    const others = tf.add(logits, tf.mul(oneY, -1e9));
    const zOther = targets ? tf.sum(tf.mul(logits, tf.oneHot(targets, k).toFloat()), 1) : tf.max(others, 1);
    const margin = tf.sub(zOther, zy);
    if (loss === 'cw') return margin as tf.Tensor1D;
    // The ranks come from topk (no gradient there); the values are read through constant one-hot masks so they differentiate.
    const ranksUsed = Math.min(targets ? 4 : 3, k);
    const idx = topkIndices(logits, ranksUsed);
    const valueAt = (r: number) => tf.sum(tf.mul(logits, tf.oneHot(tf.squeeze(idx.slice([0, r], [-1, 1]), [1]), k).toFloat()), 1);
    const low = targets && k >= 4 ? tf.mul(tf.add(valueAt(2), valueAt(3)), 0.5) : valueAt(Math.min(3, k) - 1);
    const denom = tf.add(tf.sub(valueAt(0), low), 1e-12);
    return tf.div(margin, denom) as tf.Tensor1D;
  });
}

/** Indices of the k largest entries per row, as a constant for autodiff (TopK has no gradient in tfjs). */
const topkRanks = (k: number) => tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x]);
  return { value: tf.topk(x, k).indices.toFloat(), gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => tf.zerosLike(saved[0]) };
}) as never) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;

function topkIndices(x: tf.Tensor2D, k: number): tf.Tensor2D {
  return tf.cast(topkRanks(k)(x), 'int32');
}

/** Gradient of the summed per-example loss w.r.t. the input, and the per-example loss and correctness at that input. */
export function lossAndGradient(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, loss: AttackLoss, targets?: tf.Tensor1D):
  { grad: tf.Tensor4D; loss: tf.Tensor1D; correct: tf.Tensor1D } {
  let lossOut: tf.Tensor1D | undefined;
  let logitsOut: tf.Tensor2D | undefined;
  const grad = tf.grad((xx: tf.Tensor) => {
    const logits = model.logits(xx as tf.Tensor4D);
    const l = attackLoss(logits, y, loss, targets);
    lossOut = tf.keep(l.clone());
    logitsOut = tf.keep(logits.clone());
    return tf.sum(l);
  })(x) as tf.Tensor4D;
  const correct = tf.tidy(() => tf.equal(tf.argMax(logitsOut!, 1), y).toFloat()) as tf.Tensor1D;
  logitsOut!.dispose();
  return { grad, loss: lossOut!, correct };
}

/** 1 where the attack succeeded on that example: misclassified (untargeted) or classified as the target (targeted). [B] float. */
export function successOf(logits: tf.Tensor2D, y: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => (targets ? tf.equal(tf.argMax(logits, 1), targets) : tf.notEqual(tf.argMax(logits, 1), y)).toFloat() as tf.Tensor1D);
}

/**
 * One attack iterate, scored: the gradient of the summed loss w.r.t. `v` (an image, or a flow field) where the logits are
 * `logitsOf(v)`, and per example the loss and whether the attack succeeds there. With `withGrad` false only a forward pass.
 */
export function scoreIterate(logitsOf: (v: tf.Tensor4D) => tf.Tensor2D, v: tf.Tensor4D, y: tf.Tensor1D, loss: AttackLoss, targets: tf.Tensor1D | undefined,
  withGrad: boolean): { grad?: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D } {
  if (!withGrad) {
    return tf.tidy(() => {
      const logits = logitsOf(v);
      return { loss: attackLoss(logits, y, loss, targets), fooled: successOf(logits, y, targets) };
    });
  }
  let lossOut: tf.Tensor1D | undefined;
  let fooledOut: tf.Tensor1D | undefined;
  const grad = tf.grad((vv: tf.Tensor) => {
    const logits = logitsOf(vv as tf.Tensor4D);
    const l = attackLoss(logits, y, loss, targets);
    lossOut = tf.keep(l.clone());
    fooledOut = tf.keep(successOf(logits, y, targets));
    return tf.sum(l);
  })(v) as tf.Tensor4D;
  return { grad, loss: lossOut!, fooled: fooledOut! };
}

/**
 * Per-example best point of a run (an image or a flow, [B,...]): `offer` keeps, per example, the better of the current best and a
 * new scored candidate (keepBetter's rule). The tracker owns its tensors; `offer` disposes nothing it is given.
 */
export class BestTracker {
  private best?: { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D };

  offer(x: tf.Tensor4D, loss: tf.Tensor1D, fooled: tf.Tensor1D): void {
    if (!this.best) { this.best = tf.tidy(() => ({ x: x.clone(), loss: loss.clone(), fooled: fooled.clone() })); return; }
    const nb = keepBetter(this.best, { x, loss, fooled });
    tf.dispose([this.best.x, this.best.loss, this.best.fooled]);
    this.best = nb;
  }

  /** Hands over the best point (the caller owns it) and forgets it. */
  take(): { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D } {
    if (!this.best) throw new Error('BestTracker: nothing was offered');
    const b = this.best;
    this.best = undefined;
    return b;
  }

  dispose(): void {
    if (this.best) tf.dispose([this.best.x, this.best.loss, this.best.fooled]);
    this.best = undefined;
  }
}

/** Clips onto the eps-ball around x (Linf or L2) and then onto [0,1]. */
export function project(xAdv: tf.Tensor4D, x: tf.Tensor4D, norm: 'linf' | 'l2', eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    let d = tf.sub(xAdv, x);
    if (norm === 'linf') d = tf.clipByValue(d, -eps, eps);
    else {
      const n = tf.sqrt(tf.add(tf.sum(tf.square(d), [1, 2, 3], true), 1e-12));
      d = tf.mul(d, tf.minimum(1, tf.div(eps, n)));
    }
    return tf.clipByValue(tf.add(x, d), 0, 1) as tf.Tensor4D;
  });
}

/** A uniformly random start inside the threat model (Linf: uniform in the box; L2: uniform direction, radius in [0, eps]). */
export function randomStart(x: tf.Tensor4D, norm: 'linf' | 'l2', eps: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === 'linf') return project(tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', seed)) as tf.Tensor4D, x, norm, eps);
    const d = tf.randomNormal(x.shape, 0, 1, 'float32', seed);
    const n = tf.sqrt(tf.sum(tf.square(d), [1, 2, 3], true));
    const r = tf.mul(tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, 'float32', seed + 1), eps);
    return project(tf.add(x, tf.mul(tf.div(d, n), r)) as tf.Tensor4D, x, norm, eps);
  });
}

/** Steepest-ascent step direction: sign for Linf, normalized gradient for L2. */
export function ascentDirection(g: tf.Tensor4D, norm: 'linf' | 'l2'): tf.Tensor4D {
  return tf.tidy(() => (norm === 'linf' ? tf.sign(g) : tf.div(g, tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3], true), 1e-12)))) as tf.Tensor4D);
}

/**
 * Keeps, per example, the better of two candidates: a misclassified one wins; between two of the same status, the higher loss.
 * Returns the new best and disposes nothing it was given.
 */
export function keepBetter(
  best: { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D }, cand: { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D },
): { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D } {
  return tf.tidy(() => {
    const better = tf.logicalOr(tf.greater(cand.fooled, best.fooled), tf.logicalAnd(tf.equal(cand.fooled, best.fooled), tf.greater(cand.loss, best.loss)));
    const b4 = tf.reshape(better, [-1, 1, 1, 1]);
    return {
      x: tf.where(tf.broadcastTo(b4, cand.x.shape), cand.x, best.x) as tf.Tensor4D,
      loss: tf.where(better, cand.loss, best.loss) as tf.Tensor1D,
      fooled: tf.where(better, cand.fooled, best.fooled) as tf.Tensor1D,
    };
  });
}

/** Runs an attack body in eval mode on a copy of the model's mode, with input checks. */
export function runChecked(name: string, model: Model, x: tf.Tensor4D, y: tf.Tensor1D, body: () => tf.Tensor4D): tf.Tensor4D {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw new Error(`${name}: inputs must be [B, ${h}, ${w}, ${c}] for ${model.name}, got [${x.shape}]`);
  }
  if (y.rank !== 1 || y.shape[0] !== x.shape[0]) throw new Error(`${name}: labels must be [${x.shape[0]}] class indices, got [${y.shape}]`);
  const [lo, hi] = tf.tidy(() => [tf.min(x).dataSync()[0], tf.max(x).dataSync()[0]]);
  if (lo < 0 || hi > 1) throw new Error(`${name}: inputs must lie in [0,1] (normalization belongs inside the model), got [${lo}, ${hi}]`);
  return withMode(model, 'eval', body);
}

export type { Attack, AttackRunOptions, ThreatModel };
