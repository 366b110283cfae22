// Square Attack, Linf (Andriushchenko et al. 2020): gradient-free random search with square-shaped updates at the corners of the
// eps-box. A score-based attack that does not use gradients: if it beats PGD, the gradients are masked.
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../types';
import { makeRng } from '../data/rng';
import { attackLoss, checkPixelEps, checkPositiveInt, runChecked } from './base';

export interface SquareConfig {
  eps: number;
  queries?: number;
  pInit?: number;
  /** Search toward opts.targets: minimizes max_{i!=t} z_i - z_t (the paper's targeted attack minimizes CE; same stopping rule). */
  targeted?: boolean;
}

/** The paper's schedule of the fraction of pixels changed per query (for 10k queries; rescaled to the query budget). */
export function pSelection(pInit: number, it: number, n: number): number {
  const i = Math.floor((it / n) * 10000);
  const cuts = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  let p = pInit;
  for (const c of cuts) if (i > c) p /= 2;
  return p;
}

/** Per example, what the search drives below 0: z_y - max_{i!=y} z_i, or (targeted) max_{i!=t} z_i - z_t. */
function margins(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, targets?: tf.Tensor1D): Float32Array {
  return tf.tidy(() => (targets ? attackLoss(model.logits(x), targets, 'cw') : tf.neg(attackLoss(model.logits(x), y, 'cw'))).dataSync() as Float32Array);
}

/**
 * The random searches keep their state in JS arrays; this reads the margins of the examples `idx` (rows of `src`, laid out
 * [idx.length, h, w, c]) so each query forwards only the examples not yet fooled.
 */
export function marginReader(model: Model, shape: readonly [number, number, number], y: tf.Tensor1D, targets?: tf.Tensor1D): (idx: number[], src: Float32Array) => Float32Array {
  const [h, w, c] = shape;
  const yAll = y.dataSync();
  const tAll = targets?.dataSync();
  return (idx, src) => {
    const xb = tf.tensor4d(src, [idx.length, h, w, c]);
    const yb = tf.tensor1d(Int32Array.from(idx, (i) => yAll[i]), 'int32');
    const tb = tAll ? tf.tensor1d(Int32Array.from(idx, (i) => tAll[i]), 'int32') : undefined;
    const out = margins(model, xb, yb, tb);
    tf.dispose([xb, yb, ...(tb ? [tb] : [])]);
    return out;
  };
}

export function square(config: SquareConfig): Attack {
  const eps = checkPixelEps('square', 'linf', config.eps);
  const queries = checkPositiveInt('square', 'queries', config.queries ?? 1000);
  const pInit = config.pInit ?? 0.05;
  if (!(typeof pInit === 'number' && pInit > 0 && pInit <= 1)) throw new Error(`square: pInit must be in (0, 1] (fraction of pixels in the first squares; paper: 0.05), got ${pInit}`);
  const targeted = config.targeted ?? false;
  return {
    name: targeted ? 'square-targeted' : 'square',
    threat: { norm: 'linf', eps, targeted },
    config: { eps, queries, pInit, targeted },
    run(model, x, y, opts = {}) {
      const targets = targeted ? opts.targets : undefined;
      if (targeted && !targets) throw new Error('square: a targeted attack needs opts.targets');
      return runChecked('square', model, x, y, () => {
        const [b, h, w, c] = x.shape;
        const rng = makeRng(opts.seed ?? 0);
        const xs = x.dataSync() as Float32Array;
        const per = h * w * c;
        // Init: vertical stripes of +-eps (the paper's initialization).
        const adv = new Float32Array(xs.length);
        for (let i = 0; i < b; i++) for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++) {
          const s = rng() < 0.5 ? -eps : eps;
          for (let row = 0; row < h; row++) { const k = i * per + (row * w + col) * c + ch; adv[k] = Math.min(1, Math.max(0, xs[k] + s)); }
        }
        const margin = marginReader(model, [h, w, c], y, targets);
        const all = Array.from({ length: b }, (_, i) => i);
        const m = margin(all, adv);
        const cand = new Float32Array(b * per);
        for (let q = 0; q < queries && eps > 0; q++) {
          // A tie (margin 0) is not a success: argMax may still pick the label.
          const active = all.filter((i) => m[i] >= 0);
          if (active.length === 0) break;
          const p = pSelection(pInit, q, queries);
          const side = Math.max(1, Math.min(h - 1, Math.round(Math.sqrt(p * h * w))));
          const view = cand.subarray(0, active.length * per);
          active.forEach((i, j) => {
            view.set(adv.subarray(i * per, (i + 1) * per), j * per);
            const r0 = Math.floor(rng() * (h - side + 1)), c0 = Math.floor(rng() * (w - side + 1));
            for (let ch = 0; ch < c; ch++) {
              const s = rng() < 0.5 ? -eps : eps;
              for (let row = r0; row < r0 + side; row++) for (let col = c0; col < c0 + side; col++) {
                const o = (row * w + col) * c + ch;
                view[j * per + o] = Math.min(1, Math.max(0, xs[i * per + o] + s));
              }
            }
          });
          const mc = margin(active, view);
          active.forEach((i, j) => {
            if (mc[j] < m[i]) { m[i] = mc[j]; adv.set(view.subarray(j * per, (j + 1) * per), i * per); }
          });
          opts.onProgress?.(q + 1, queries);
        }
        return tf.tensor4d(adv, x.shape);
      });
    },
  };
}
