// Carlini & Wagner L2 (2017): a minimum-norm attack. x' = (tanh(w) + 1) / 2 keeps x' in [0,1] without clipping; Adam on w
// minimizes ||x' - x||^2 + c * f(x'), f = max(Z_y - max_{i!=y} Z_i, -kappa) (targeted: max(max_{i!=t} Z_i - Z_t, -kappa)) on
// logits Z. Per example, a binary search over c (as in the authors' code): c shrinks after a success, grows (x10 until a first
// success, then bisects) after a failure. Every binary step restarts w at x and Adam at zero. The result per example is the
// successful x' with the smallest L2 distance; an example never fooled comes back unchanged (the attack failed on it).
// With a finite eps, the perturbation is then scaled onto the L2 ball (as Foolbox does for minimization attacks), so robust
// accuracy at eps can be read off; the default eps is Infinity (unbounded; threat.eps is then Infinity, JSON null).
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../types';
import { tanh } from '../tf/safe-ops';
import { checkPositiveInt, project, runChecked, warnPixelEps } from './base';

export interface CwConfig {
  /** Initial trade-off constant c (authors' code: 1e-3 with 10k steps; default 1 for short runs). */
  c?: number;
  /** Confidence margin kappa >= 0 (paper: 0). */
  kappa?: number;
  /** Adam steps per binary-search step (paper: up to 10,000). */
  steps?: number;
  /** Adam learning rate on w (paper: 0.01 with 10k steps; default 0.05). */
  lr?: number;
  /** Binary-search steps over c; 1 = no search, c stays fixed (paper: 9). */
  binarySteps?: number;
  /** L2 budget the result is scaled onto (default Infinity: the unbounded minimum-norm attack). */
  eps?: number;
  targeted?: boolean;
}

/** Per-example CW objective term f [B] on logits: max(Z_y - max_{i!=y} Z_i, -kappa), or the targeted form. */
export function cwMarginLoss(logits: tf.Tensor2D, y: tf.Tensor1D, kappa: number, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const cls = targets ?? y;
    const one = tf.oneHot(cls, k).toFloat();
    const zc = tf.sum(tf.mul(logits, one), 1);
    // max over the other classes: the class itself pushed far below (a constant offset, so the gradient is the other max's).
    const zOther = tf.max(tf.sub(logits, tf.mul(one, 1e9)), 1);
    const margin = targets ? tf.sub(zOther, zc) : tf.sub(zc, zOther);
    return tf.maximum(margin, -kappa) as tf.Tensor1D;
  });
}

/** Per-example success of the CW criterion: the margin is at least kappa the right way (argmax changed / is the target). */
function cwSuccess(logits: tf.Tensor2D, y: tf.Tensor1D, kappa: number, targets?: tf.Tensor1D): Uint8Array {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const one = tf.oneHot(targets ?? y, k).toFloat();
    const zc = tf.sum(tf.mul(logits, one), 1);
    const zOther = tf.max(tf.sub(logits, tf.mul(one, 1e9)), 1);
    const ok = targets ? tf.greater(tf.sub(zc, zOther), kappa) : tf.greater(tf.sub(zOther, zc), kappa);
    return Uint8Array.from(ok.dataSync());
  });
}

function checkNonNegative(name: string, v: number, strictlyPositive = false): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && (strictlyPositive ? v > 0 : v >= 0))) {
    throw new Error(`cw: ${name} must be a finite number ${strictlyPositive ? '> 0' : '>= 0'}, got ${v}`);
  }
  return v;
}

/**
 * One Adam step (beta 0.9 / 0.999, eps 1e-8, bias-corrected, as tf.train.adam in the CW authors' code) minimizing: returns
 * [param', m', v'] and disposes nothing. t counts from 1. Per-tensor state, so every example's coordinates move independently.
 */
export function adamUpdate<T extends tf.Tensor>(param: T, grad: T, m: T, v: T, t: number, lr: number): [T, T, T] {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, 0.9), tf.mul(grad, 0.1));
    const v1 = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(grad), 0.001));
    const step = tf.div(tf.div(m1, 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(v1, 1 - 0.999 ** t)), 1e-8));
    return [tf.sub(param, tf.mul(step, lr)), m1, v1] as [T, T, T];
  });
}

/** x' = (tanh(w) + 1) / 2. */
function fromW(w: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(tf.add(tanh(w), 1), 0.5) as tf.Tensor4D;
}

export function cw(config: CwConfig = {}): Attack {
  const c0 = checkNonNegative('c', config.c ?? 1, true);
  const kappa = checkNonNegative('kappa', config.kappa ?? 0);
  const steps = checkPositiveInt('cw', 'steps', config.steps ?? 100);
  const lr = checkNonNegative('lr', config.lr ?? 0.05, true);
  const binarySteps = checkPositiveInt('cw', 'binarySteps', config.binarySteps ?? 5);
  const eps = config.eps ?? Infinity;
  if (!(eps >= 0)) throw new Error(`cw: eps must be >= 0 (an L2 budget in [0,1] pixel units) or Infinity, got ${eps}`);
  warnPixelEps('cw', 'l2', eps);
  const targeted = config.targeted ?? false;
  return {
    name: targeted ? 'cw-l2-targeted' : 'cw-l2',
    threat: { norm: 'l2', eps, targeted },
    config: { c: c0, kappa, steps, lr, binarySteps, eps, targeted },
    run(model, x, y, opts = {}) {
      const targets = targeted ? opts.targets : undefined;
      if (targeted && !targets) throw new Error('cw: a targeted attack needs opts.targets');
      return runChecked('cw', model, x, y, () => {
        const b = x.shape[0];
        // atanh of x scaled slightly inside (-1, 1): pixels at exactly 0 or 1 would need w = -+Infinity.
        const w0 = tf.tidy(() => tf.atanh(tf.mul(tf.sub(tf.mul(x, 2), 1), 1 - 1e-6))) as tf.Tensor4D;
        const c = new Float64Array(b).fill(c0);
        const lo = new Float64Array(b).fill(0);
        const hi = new Float64Array(b).fill(Infinity);
        const bestDist = new Float64Array(b).fill(Infinity);
        let best = x.clone();
        const total = binarySteps * steps;
        for (let bs = 0; bs < binarySteps; bs++) {
          const cT = tf.tensor1d(Float32Array.from(c));
          let w = w0.clone();
          let m = tf.zerosLike(w) as tf.Tensor4D;
          let v = tf.zerosLike(w) as tf.Tensor4D;
          const succeeded = new Uint8Array(b);
          for (let s = 0; s < steps; s++) {
            const { grad, dist, ok, xa } = cwStep(model, x, y, w, cT, kappa, targets);
            const next = adamUpdate(w, grad, m, v, s + 1, lr);
            // The iterate just evaluated (before this update) is a candidate: keep it where it fools with a smaller distance.
            const improve = new Uint8Array(b);
            for (let i = 0; i < b; i++) {
              if (ok[i]) { succeeded[i] = 1; if (dist[i] < bestDist[i]) { bestDist[i] = dist[i]; improve[i] = 1; } }
            }
            if (improve.some((u) => u)) {
              const mask = tf.tensor(improve, [b, 1, 1, 1], 'bool');
              const nb = tf.tidy(() => tf.where(tf.broadcastTo(mask, x.shape), xa, best)) as tf.Tensor4D;
              tf.dispose([mask, best]);
              best = nb;
            }
            tf.dispose([grad, xa, w, m, v]);
            [w, m, v] = next;
            opts.onProgress?.(bs * steps + s + 1, total);
          }
          // The last iterate is a candidate too.
          const last = tf.tidy(() => fromW(w));
          const lastOk = tf.tidy(() => cwSuccess(model.logits(last), y, kappa, targets));
          const lastDist = tf.tidy(() => Float32Array.from(tf.sum(tf.square(tf.sub(last, x)), [1, 2, 3]).dataSync()));
          const improve = new Uint8Array(b);
          for (let i = 0; i < b; i++) {
            if (lastOk[i]) { succeeded[i] = 1; if (lastDist[i] < bestDist[i]) { bestDist[i] = lastDist[i]; improve[i] = 1; } }
          }
          const mask = tf.tensor(improve, [b, 1, 1, 1], 'bool');
          const nb = tf.tidy(() => tf.where(tf.broadcastTo(mask, x.shape), last, best)) as tf.Tensor4D;
          tf.dispose([mask, best, last, cT, w, m, v]);
          best = nb;
          for (let i = 0; i < b; i++) {
            if (succeeded[i]) { hi[i] = Math.min(hi[i], c[i]); c[i] = (lo[i] + hi[i]) / 2; }
            else { lo[i] = Math.max(lo[i], c[i]); c[i] = Number.isFinite(hi[i]) ? (lo[i] + hi[i]) / 2 : c[i] * 10; }
          }
        }
        w0.dispose();
        if (!Number.isFinite(eps)) return best;
        const out = project(best, x, 'l2', eps);
        best.dispose();
        return out;
      });
    },
  };
}

/** One evaluation at w: gradient of sum(||x'-x||^2 + c f(x')) w.r.t. w, squared distances, success, and x'. */
function cwStep(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, w: tf.Tensor4D, c: tf.Tensor1D, kappa: number, targets?: tf.Tensor1D):
  { grad: tf.Tensor4D; dist: Float32Array; ok: Uint8Array; xa: tf.Tensor4D } {
  let xaOut: tf.Tensor4D | undefined;
  let distOut: tf.Tensor1D | undefined;
  let logitsOut: tf.Tensor2D | undefined;
  const grad = tf.grad((ww: tf.Tensor) => {
    const xa = fromW(ww as tf.Tensor4D);
    const dist = tf.sum(tf.square(tf.sub(xa, x)), [1, 2, 3]);
    const logits = model.logits(xa);
    xaOut = tf.keep(xa.clone());
    distOut = tf.keep(dist.clone()) as tf.Tensor1D;
    logitsOut = tf.keep(logits.clone());
    return tf.sum(tf.add(dist, tf.mul(c, cwMarginLoss(logits, y, kappa, targets))));
  })(w) as tf.Tensor4D;
  const ok = cwSuccess(logitsOut!, y, kappa, targets);
  const dist = Float32Array.from(distOut!.dataSync());
  tf.dispose([distOut!, logitsOut!]);
  return { grad, dist, ok, xa: xaOut! };
}
