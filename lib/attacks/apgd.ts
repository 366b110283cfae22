// APGD (Croce & Hein 2020, AutoAttack's white-box component) with the CE or DLR loss: step size 2*eps halved at checkpoints
// when progress stalls, momentum 0.75, restarts from the best point. Per-example step sizes and bookkeeping as in the paper.
// Returned per example: the last misclassified iterate if any iterate was misclassified (the paper's x_best_adv; with CE the
// highest-loss point need not be misclassified), else the highest-loss iterate. Targeted: ascends toward opts.targets (CE toward
// the target, or the margin z_t - z_y over the DLR denominator); AutoAttack's APGD-T instead loops over the top-9 classes.
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { deriveSeed } from '../data/rng';
import { ascentDirection, checkOneOf, checkPixelEps, checkPositiveInt, keepBetter, lossAndGradient, project, randomStart, runChecked } from './base';

export interface ApgdConfig {
  norm?: 'linf' | 'l2';
  eps: number;
  steps?: number;
  restarts?: number;
  loss?: 'ce' | 'dlr';
  /** rho of the step-size condition (paper: 0.75). */
  rho?: number;
  targeted?: boolean;
}

/** Checkpoint iterations w_j = ceil(p_j * n), p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06). */
export function apgdCheckpoints(n: number): number[] {
  const p = [0, 0.22];
  while (p[p.length - 1] < 1) p.push(p[p.length - 1] + Math.max(p[p.length - 1] - p[p.length - 2] - 0.03, 0.06));
  return [...new Set(p.filter((q) => q <= 1).map((q) => Math.ceil(q * n - 1e-9)))];
}

export function apgd(config: ApgdConfig): Attack {
  const norm = checkOneOf('apgd', 'norm', config.norm ?? 'linf', ['linf', 'l2'] as const);
  const eps = checkPixelEps('apgd', norm, config.eps);
  const steps = checkPositiveInt('apgd', 'steps', config.steps ?? 100);
  const restarts = checkPositiveInt('apgd', 'restarts', config.restarts ?? 1);
  const loss = checkOneOf('apgd', 'loss', config.loss ?? 'ce', ['ce', 'dlr'] as const);
  const rho = config.rho ?? 0.75;
  const checkpoints = apgdCheckpoints(steps);
  const targeted = config.targeted ?? false;
  return {
    name: `apgd-${targeted ? 't-' : ''}${loss}${norm === 'l2' ? '-l2' : ''}`,
    threat: { norm, eps, targeted },
    config: { norm, eps, steps, restarts, loss, rho, targeted },
    run(model, x, y, opts = {}) {
      const targets = targeted ? opts.targets : undefined;
      if (targeted && !targets) throw new Error('apgd: a targeted attack needs opts.targets');
      return runChecked('apgd', model, x, y, () => {
        const b = x.shape[0];
        let best: { x: tf.Tensor4D; loss: tf.Tensor1D; fooled: tf.Tensor1D } | undefined;
        for (let r = 0; r < restarts; r++) {
          const eta = new Float32Array(b).fill(2 * eps);
          let xk = eps > 0 ? randomStart(x, norm, eps, deriveSeed(opts.seed ?? 0, r, 7)) : x.clone();
          let first = lossAndGradient(model, xk, y, loss, targets);
          let gk = first.grad;
          let fk = Float32Array.from(first.loss.dataSync());
          let xmax = xk.clone();
          let fmax = Float32Array.from(fk);
          let gmax = gk.clone();
          let fooledAny = tf.sub(1, first.correct) as tf.Tensor1D;
          let xAdv = xk.clone();
          tf.dispose([first.loss, first.correct]);
          let xprev = xk.clone();
          const increases = new Int32Array(b);
          let lastCk = 0;
          let etaAtLast = Float32Array.from(eta);
          let fmaxAtLast = Float32Array.from(fmax);
          for (let k = 0; k < steps; k++) {
            const etaT = tf.tensor(eta, [b, 1, 1, 1]);
            const next = tf.tidy(() => {
              const z = project(tf.add(xk, tf.mul(ascentDirection(gk, norm), etaT)) as tf.Tensor4D, x, norm, eps);
              if (k === 0) return z;
              const a = 0.75;
              return project(tf.add(tf.add(xk, tf.mul(tf.sub(z, xk), a)), tf.mul(tf.sub(xk, xprev), 1 - a)) as tf.Tensor4D, x, norm, eps);
            });
            etaT.dispose();
            xprev.dispose();
            xprev = xk;
            xk = next;
            const res = lossAndGradient(model, xk, y, loss, targets);
            gk.dispose();
            gk = res.grad;
            const fnew = res.loss.dataSync();
            const [nowFooled, nowAdv] = tf.tidy(() => {
              const wrong = tf.sub(1, res.correct);
              return [tf.maximum(fooledAny, wrong), tf.where(tf.broadcastTo(tf.reshape(tf.cast(wrong, 'bool'), [b, 1, 1, 1]), xk.shape), xk, xAdv)];
            }) as [tf.Tensor1D, tf.Tensor4D];
            tf.dispose([fooledAny, xAdv]);
            fooledAny = nowFooled;
            xAdv = nowAdv;
            const improved = new Uint8Array(b);
            for (let i = 0; i < b; i++) {
              if (fnew[i] > fk[i]) increases[i]++;
              if (fnew[i] > fmax[i]) { fmax[i] = fnew[i]; improved[i] = 1; }
              fk[i] = fnew[i];
            }
            const imp = tf.tensor(improved, [b], 'bool');
            const upd = tf.tidy(() => {
              const m4 = tf.broadcastTo(tf.reshape(imp, [b, 1, 1, 1]), xk.shape);
              return [tf.where(m4, xk, xmax), tf.where(m4, gk, gmax)];
            });
            tf.dispose([imp, xmax, gmax, res.loss, res.correct]);
            [xmax, gmax] = upd as [tf.Tensor4D, tf.Tensor4D];
            if (checkpoints.includes(k + 1) && k + 1 < steps) {
              const span = k + 1 - lastCk;
              const restart = new Uint8Array(b);
              for (let i = 0; i < b; i++) {
                const c1 = increases[i] < rho * span;
                const c2 = etaAtLast[i] === eta[i] && fmaxAtLast[i] === fmax[i];
                if (c1 || c2) { eta[i] /= 2; restart[i] = 1; }
                increases[i] = 0;
              }
              // Halved examples continue from their best point.
              const rs = tf.tensor(restart, [b], 'bool');
              const moved = tf.tidy(() => {
                const m4 = tf.broadcastTo(tf.reshape(rs, [b, 1, 1, 1]), xk.shape);
                return [tf.where(m4, xmax, xk), tf.where(m4, gmax, gk)];
              });
              tf.dispose([rs, xk, gk]);
              [xk, gk] = moved as [tf.Tensor4D, tf.Tensor4D];
              fk = Float32Array.from(fk.map((v, i) => (restart[i] ? fmax[i] : v)));
              lastCk = k + 1;
              etaAtLast = Float32Array.from(eta);
              fmaxAtLast = Float32Array.from(fmax);
            }
            opts.onProgress?.(r * steps + k + 1, restarts * steps);
          }
          const xr = tf.tidy(() => tf.where(tf.broadcastTo(tf.reshape(tf.cast(fooledAny, 'bool'), [b, 1, 1, 1]), x.shape), xAdv, xmax)) as tf.Tensor4D;
          const fin = lossAndGradient(model, xr, y, loss, targets);
          const cand = { x: xr, loss: fin.loss, fooled: tf.sub(1, fin.correct) as tf.Tensor1D };
          tf.dispose([fin.grad, fin.correct, xk, xprev, gk, gmax, fooledAny, xAdv, xmax]);
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
