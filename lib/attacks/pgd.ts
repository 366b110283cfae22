// PGD (Madry et al. 2018), Linf or L2, with random starts and restarts. Per example the result is the best point found: with
// `bestIterate` (default) the best over every iterate of every restart (a misclassified iterate wins over a correct one; between
// two of the same status, the higher attack loss), so "a hit at any step counts"; with `bestIterate: false` the best over the
// restarts' last iterates only (Madry's attack). The first restart uses seed deriveSeed(seed, 0) whatever the restart count, so
// more restarts or best-iterate tracking only ever add candidates: never a higher robust accuracy for the same seed.
// MI-FGSM (Dong et al. 2018) is the same loop with a momentum on the L1-normalized gradient and no random start.
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { deriveSeed } from '../data/rng';
import { ascentDirection, ATTACK_LOSSES, BestTracker, checkOneOf, checkPixelEps, checkPositiveInt, project, randomStart, runChecked, scoreIterate, type AttackLoss } from './base';

export interface PgdConfig {
  norm?: 'linf' | 'l2';
  eps: number;
  steps: number;
  /** Step size; default 2.5 * eps / steps (Madry et al.). */
  alpha?: number;
  restarts?: number;
  randomStart?: boolean;
  loss?: AttackLoss;
  targeted?: boolean;
  /** MI-FGSM momentum decay (0 = plain PGD). */
  momentum?: number;
  /** Keep per example the best iterate over all steps (default true); false = the last iterate of each restart. */
  bestIterate?: boolean;
}

export function pgd(config: PgdConfig): Attack {
  const name = config.momentum ? 'mifgsm' : 'pgd';
  const norm = checkOneOf(name, 'norm', config.norm ?? 'linf', ['linf', 'l2'] as const);
  const eps = checkPixelEps(name, norm, config.eps);
  const steps = checkPositiveInt(name, 'steps', config.steps);
  const restarts = checkPositiveInt(name, 'restarts', config.restarts ?? 1);
  const loss = checkOneOf(name, 'loss', config.loss ?? 'ce', ATTACK_LOSSES);
  const alpha = config.alpha ?? (2.5 * eps) / steps;
  if (!(alpha >= 0)) throw new Error(`${name}: alpha must be >= 0, got ${alpha}`);
  const start = config.randomStart ?? !config.momentum;
  const mu = config.momentum ?? 0;
  const bestIterate = checkOneOf(name, 'bestIterate', config.bestIterate ?? true, [true, false]);
  const targeted = config.targeted ?? false;
  return {
    name: `${name}-${norm}${loss !== 'ce' ? `-${loss}` : ''}${targeted ? '-targeted' : ''}`,
    threat: { norm, eps, targeted },
    config: { norm, eps, steps, alpha, restarts, randomStart: start, loss, momentum: mu, bestIterate, targeted },
    run(model, x, y, opts = {}) {
      const targets = targeted ? opts.targets : undefined;
      if (targeted && !targets) throw new Error(`${name}: a targeted attack needs opts.targets`);
      return runChecked(name, model, x, y, () => {
        const logitsOf = (v: tf.Tensor4D) => model.logits(v);
        const best = new BestTracker();
        for (let r = 0; r < restarts; r++) {
          let xa = start && eps > 0 ? randomStart(x, norm, eps, deriveSeed(opts.seed ?? 0, r)) : x.clone();
          let g0: tf.Tensor4D | undefined = mu ? tf.zerosLike(x) : undefined;
          for (let s = 0; s < steps; s++) {
            const it = scoreIterate(logitsOf, xa, y, loss, targets, true);
            const grad = it.grad!;
            // The iterate the gradient was taken at is a candidate too (x_0 .. x_{K-1}; x_K is scored after the loop).
            if (bestIterate) best.offer(xa, it.loss, it.fooled);
            tf.dispose([it.loss, it.fooled]);
            let dir: tf.Tensor4D;
            if (g0) {
              const g1 = tf.tidy(() => tf.add(tf.mul(g0!, mu), tf.div(grad, tf.add(tf.mean(tf.abs(grad), [1, 2, 3], true), 1e-12)))) as tf.Tensor4D;
              g0.dispose();
              g0 = g1;
              dir = ascentDirection(g1, norm);
            } else dir = ascentDirection(grad, norm);
            const next = tf.tidy(() => project(tf.add(xa, tf.mul(dir, alpha)) as tf.Tensor4D, x, norm, eps));
            tf.dispose([grad, dir, xa]);
            xa = next;
            opts.onProgress?.(r * steps + s + 1, restarts * steps);
          }
          g0?.dispose();
          const fin = scoreIterate(logitsOf, xa, y, loss, targets, false);
          best.offer(xa, fin.loss, fin.fooled);
          tf.dispose([xa, fin.loss, fin.fooled]);
        }
        const b = best.take();
        tf.dispose([b.loss, b.fooled]);
        return b.x;
      });
    },
  };
}

/** MI-FGSM: momentum iterative FGSM, the transfer attack (eps/steps step size, no random start). */
export function mifgsm(config: { eps: number; steps?: number; decay?: number; targeted?: boolean; bestIterate?: boolean }): Attack {
  const steps = config.steps ?? 10;
  return pgd({ eps: config.eps, steps, alpha: config.eps / steps, momentum: config.decay ?? 1, randomStart: false, targeted: config.targeted, bestIterate: config.bestIterate });
}
