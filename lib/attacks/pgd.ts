// PGD (Madry et al. 2018), Linf or L2, with random starts and restarts; per example the best restart is kept.
// MI-FGSM (Dong et al. 2018) is the same loop with a momentum on the L1-normalized gradient and no random start.
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { deriveSeed } from '../data/rng';
import { ascentDirection, ATTACK_LOSSES, checkEps, checkOneOf, checkPositiveInt, keepBetter, lossAndGradient, project, randomStart, runChecked, type AttackLoss } from './base';

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
}

export function pgd(config: PgdConfig): Attack {
  const name = config.momentum ? 'mifgsm' : 'pgd';
  const norm = checkOneOf(name, 'norm', config.norm ?? 'linf', ['linf', 'l2'] as const);
  const eps = checkEps(name, config.eps);
  const steps = checkPositiveInt(name, 'steps', config.steps);
  const restarts = checkPositiveInt(name, 'restarts', config.restarts ?? 1);
  const loss = checkOneOf(name, 'loss', config.loss ?? 'ce', ATTACK_LOSSES);
  const alpha = config.alpha ?? (2.5 * eps) / steps;
  if (!(alpha >= 0)) throw new Error(`${name}: alpha must be >= 0, got ${alpha}`);
  const start = config.randomStart ?? !config.momentum;
  const mu = config.momentum ?? 0;
  return {
    name: `${name}-${norm}${loss !== 'ce' ? `-${loss}` : ''}${config.targeted ? '-targeted' : ''}`,
    threat: { norm, eps, targeted: config.targeted ?? false },
    config: { norm, eps, steps, alpha, restarts, randomStart: start, loss, momentum: mu, targeted: config.targeted ?? false },
    run(model, x, y, opts = {}) {
      const targets = config.targeted ? opts.targets : undefined;
      if (config.targeted && !targets) throw new Error(`${name}: a targeted attack needs opts.targets`);
      return runChecked(name, model, x, y, () => {
        let best: { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D } | undefined;
        for (let r = 0; r < restarts; r++) {
          let xa = start && eps > 0 ? randomStart(x, norm, eps, deriveSeed(opts.seed ?? 0, r)) : x.clone();
          let g0: tf.Tensor4D | undefined = mu ? tf.zerosLike(x) : undefined;
          for (let s = 0; s < steps; s++) {
            const { grad, loss: l, correct } = lossAndGradient(model, xa, y, loss, targets);
            tf.dispose([l, correct]);
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
          const fin = lossAndGradient(model, xa, y, loss, targets);
          const cand = { x: xa, loss: fin.loss, fooled: tf.sub(1, fin.correct) as tf.Tensor1D };
          fin.grad.dispose();
          fin.correct.dispose();
          if (!best) best = cand;
          else {
            const nb = keepBetter(best, cand);
            tf.dispose([best.x, best.loss, best.fooled, cand.x, cand.loss, cand.fooled]);
            best = nb;
          }
        }
        tf.dispose([best!.loss, best!.fooled]);
        return best!.x;
      });
    },
  };
}

/** MI-FGSM: momentum iterative FGSM, the transfer attack (eps/steps step size, no random start). */
export function mifgsm(config: { eps: number; steps?: number; decay?: number; targeted?: boolean }): Attack {
  const steps = config.steps ?? 10;
  return pgd({ eps: config.eps, steps, alpha: config.eps / steps, momentum: config.decay ?? 1, randomStart: false, targeted: config.targeted });
}
