// APGD-L1 (Croce & Hein 2021, "Mind the box: l1-APGD for sparse adversarial attacks"; AutoAttack's L1 APGD), CE or DLR loss.
// Each step moves eta along the sparse steepest-ascent direction (sign of the gradient on the top-k coordinates that can still
// move, L1 norm 1) and projects exactly onto the L1 ball intersected with the [0,1] box (l1.ts). Every 4% of the steps
// (a checkpoint) the sparsity adapts to the best point found so far (k = ||x_best - x||_0 / 1.5), and the step size is reset
// to eps where that sparsity fell by more than 5% (the iterate restarts from the best point), else divided by 1.5, within
// [eps/10, eps]. Start: a normal perturbation projected onto the threat model; restarts from fresh seeds. Returned per
// example: the best point over every iterate of every restart (a misclassified one wins; else the highest loss), as PGD does.
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { deriveSeed } from '../data/rng';
import { BestTracker, checkOneOf, checkPixelEps, checkPositiveInt, runChecked, scoreIterate } from './base';
import { randomStartL1, sparseDirectionRow, writeProjectedRow } from './l1';

export interface ApgdL1Config {
  /** L1 budget in [0,1] pixel units (MNIST: 10 is the common choice, Tramer & Boneh 2019). */
  eps: number;
  steps?: number;
  restarts?: number;
  loss?: 'ce' | 'dlr';
  /** Initial fraction of coordinates a step moves (paper: 0.2). */
  topk?: number;
  /** Start from a random point of the threat model (default true); false starts at the clean input. */
  randomStart?: boolean;
  targeted?: boolean;
}

export function apgdL1(config: ApgdL1Config): Attack {
  const eps = checkPixelEps('apgd-l1', 'l1', config.eps);
  const steps = checkPositiveInt('apgd-l1', 'steps', config.steps ?? 100);
  const restarts = checkPositiveInt('apgd-l1', 'restarts', config.restarts ?? 1);
  const loss = checkOneOf('apgd-l1', 'loss', config.loss ?? 'ce', ['ce', 'dlr'] as const);
  const topk0 = config.topk ?? 0.2;
  if (!(topk0 > 0 && topk0 <= 1)) throw new Error(`apgd-l1: topk must be a fraction in (0, 1], got ${topk0}`);
  const start = checkOneOf('apgd-l1', 'randomStart', config.randomStart ?? true, [true, false]);
  const targeted = config.targeted ?? false;
  const every = Math.max(Math.floor(0.04 * steps), 1);
  return {
    name: `apgd-${targeted ? 't-' : ''}${loss}-l1`,
    threat: { norm: 'l1', eps, targeted },
    config: { norm: 'l1', eps, steps, restarts, loss, topk: topk0, randomStart: start, checkpointEvery: every, targeted },
    run(model, x, y, opts = {}) {
      const targets = targeted ? opts.targets : undefined;
      if (targeted && !targets) throw new Error('apgd-l1: a targeted attack needs opts.targets');
      return runChecked('apgd-l1', model, x, y, () => {
        const logitsOf = (v: tf.Tensor4D) => model.logits(v);
        const b = x.shape[0];
        const d = x.size / b;
        const xs = x.dataSync();
        const best = new BestTracker();
        for (let r = 0; r < restarts; r++) {
          const x0 = start && eps > 0 ? randomStartL1(x, eps, deriveSeed(opts.seed ?? 0, r, 11)) : x.clone();
          const xa = Float32Array.from(x0.dataSync());
          x0.dispose();
          const eta = new Float64Array(b).fill(eps);
          const topk = new Float64Array(b).fill(topk0);
          const spOld = new Float64Array(b).fill(d);
          const score = () => {
            const xt = tf.tensor4d(xa, x.shape);
            const it = scoreIterate(logitsOf, xt, y, loss, targets, true);
            best.offer(xt, it.loss, it.fooled);
            const out = { g: Float32Array.from(it.grad!.dataSync()), f: Float32Array.from(it.loss.dataSync()) };
            tf.dispose([xt, it.grad!, it.loss, it.fooled]);
            return out;
          };
          let { g, f } = score();
          // The highest-loss point of this restart and its gradient: where a checkpoint sends a stalled example back to.
          const xBest = Float32Array.from(xa);
          const gBest = Float32Array.from(g);
          const fBest = Float32Array.from(f);
          for (let k = 0; k < steps; k++) {
            for (let e = 0; e < b; e++) {
              const o = e * d;
              const xr = xa.subarray(o, o + d);
              const u = sparseDirectionRow(g.subarray(o, o + d), xr, topk[e]);
              const v = new Float64Array(d);
              for (let i = 0; i < d; i++) v[i] = xr[i] + eta[e] * u[i] - xs[o + i];
              writeProjectedRow(xa, o, v, xs.subarray(o, o + d), eps);
            }
            ({ g, f } = score());
            for (let e = 0; e < b; e++) {
              if (f[e] > fBest[e]) {
                fBest[e] = f[e];
                xBest.set(xa.subarray(e * d, (e + 1) * d), e * d);
                gBest.set(g.subarray(e * d, (e + 1) * d), e * d);
              }
            }
            if ((k + 1) % every === 0 && k + 1 < steps) {
              for (let e = 0; e < b; e++) {
                const o = e * d;
                let sp = 0;
                for (let i = 0; i < d; i++) if (xBest[o + i] !== xs[o + i]) sp++;
                const sparser = sp / spOld[e] < 0.95;
                topk[e] = sp / d / 1.5;
                eta[e] = sparser ? eps : Math.min(eps, Math.max(eps / 10, eta[e] / 1.5));
                spOld[e] = sp;
                if (sparser) {
                  xa.set(xBest.subarray(o, o + d), o);
                  g.set(gBest.subarray(o, o + d), o);
                }
              }
            }
            opts.onProgress?.(r * steps + k + 1, restarts * steps);
          }
        }
        const out = best.take();
        tf.dispose([out.loss, out.fooled]);
        return out.x;
      });
    },
  };
}
