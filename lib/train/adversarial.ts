// Adversarial training as loss terms: the adversarial inputs are made in `prepare` (outside the gradient tape, so no gradient
// flows through the attack), and `value` is the loss at them. The trainer runs `prepare` in eval mode, as the TRADES reference
// code does (model.eval() while attacking); Madry's code attacks with the training-mode graph, which differs only for batch norm.
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, Model } from '../types';
import { fgsm } from '../attacks/fgsm';
import { pgd } from '../attacks/pgd';
import { flowPgd } from '../attacks/flow-pgd';
import { checkPositiveInt, project } from '../attacks/base';
import { crossEntropy, logSoftmax, softmax } from '../tf/safe-ops';
import { withRecipe } from './term-recipe';
import { shardRows } from './batch-shard';

function need(name: string, v: tf.Tensor4D | undefined): tf.Tensor4D {
  if (!v) throw new Error(`${name}: no adversarial batch (this term must be trained by lib/train's trainer, which calls prepare())`);
  return v;
}

function checkEps(name: string, eps: number): void {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`${name}: eps must be >= 0, got ${eps}`);
}

/** FGSM adversarial training (Goodfellow et al. 2015): CE at x + eps sign(grad). Pair with a clean CE term for their 50/50 mix. */
export function fgsmAT(cfg: { eps: number; weight?: number }): LossTerm {
  checkEps('fgsmAT', cfg.eps);
  const atk = fgsm({ eps: cfg.eps });
  return withRecipe('fgsmAT', [cfg], {
    name: 'fgsm-at', weight: cfg.weight ?? 1, config: { eps: cfg.eps },
    prepare: (model, x, y) => atk.run(model, x, y),
    value: (model, _x, y, ctx) => crossEntropy(model.logits(need('fgsmAT', ctx.prepared)), y),
  });
}

/** PGD adversarial training (Madry et al. 2018): CE at the PGD point (random start). Replaces the clean CE. */
export function pgdAT(cfg: { eps: number; steps: number; alpha?: number; norm?: 'linf' | 'l2'; weight?: number }): LossTerm {
  checkEps('pgdAT', cfg.eps);
  const alpha = cfg.alpha ?? (2.5 * cfg.eps) / cfg.steps;
  const atk = pgd({ eps: cfg.eps, steps: cfg.steps, alpha, norm: cfg.norm ?? 'linf', randomStart: true, bestIterate: false });
  return withRecipe('pgdAT', [cfg], {
    name: 'pgd-at', weight: cfg.weight ?? 1, config: { eps: cfg.eps, steps: cfg.steps, alpha, norm: cfg.norm ?? 'linf' },
    prepare: (model, x, y, ctx) => atk.run(model, x, y, { seed: ctx.seed }),
    value: (model, _x, y, ctx) => crossEntropy(model.logits(need('pgdAT', ctx.prepared)), y),
  });
}

/**
 * KL(p(x) || p(x')) per batch mean, second-order safe. The clean forward comes last so that, in train mode, batch norm folds the
 * clean batch's statistics into its running ones (the trainer commits the last forward's moments).
 */
function klTerm(model: Model, x: tf.Tensor4D, xa: tf.Tensor4D): tf.Scalar {
  const lq = logSoftmax(model.logits(xa));
  const clean = model.logits(x);
  return tf.mean(tf.sum(tf.mul(softmax(clean), tf.sub(logSoftmax(clean), lq)), 1)) as tf.Scalar;
}

/**
 * TRADES (Zhang et al. 2019): beta * KL(f(x) || f(x')), x' maximizing the KL in the Linf ball (start x + 0.001 N(0,1), `steps`
 * signed steps of size alpha). The method is [crossEntropyTerm(), trades({beta, ...})] (weight = beta).
 */
export function trades(cfg: { beta: number; eps: number; steps: number; alpha?: number }): LossTerm {
  checkEps('trades', cfg.eps);
  if (!(cfg.beta >= 0)) throw new Error(`trades: beta must be >= 0, got ${cfg.beta}`);
  checkPositiveInt('trades', 'steps', cfg.steps);
  const alpha = cfg.alpha ?? (2.5 * cfg.eps) / cfg.steps;
  if (!(Number.isFinite(alpha) && alpha >= 0)) throw new Error(`trades: alpha must be >= 0, got ${alpha}`);
  return withRecipe('trades', [cfg], {
    name: 'trades-kl', weight: cfg.beta, config: { eps: cfg.eps, steps: cfg.steps, alpha },
    prepare: (model, x, _y, ctx) => {
      // A shard of a split batch takes its rows of the whole batch's start (batch-shard.ts): same step as unsplit.
      const noise = (n: number) => tf.randomNormal([n, ...x.shape.slice(1)], 0, 0.001, 'float32', ctx.seed);
      let xa = tf.tidy(() => project(tf.add(x, shardRows(ctx.shard, x.shape[0], noise)) as tf.Tensor4D, x, 'linf', cfg.eps));
      const pClean = tf.tidy(() => softmax(model.logits(x)));
      for (let s = 0; s < cfg.steps; s++) {
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(pClean, tf.neg(logSoftmax(model.logits(xx as tf.Tensor4D))))))(xa);
        const next = tf.tidy(() => project(tf.add(xa, tf.mul(tf.sign(g), alpha)) as tf.Tensor4D, x, 'linf', cfg.eps));
        tf.dispose([g, xa]);
        xa = next;
      }
      pClean.dispose();
      return xa;
    },
    value: (model, x, _y, ctx) => klTerm(model, x, need('trades', ctx.prepared)),
  });
}

/** Flow-field adversarial training (Xia & Li's "adversarial deformation training"): CE at the flow-PGD point. */
export function flowAT(cfg: { eps: number; steps: number; weight?: number }): LossTerm {
  checkEps('flowAT', cfg.eps);
  // The paper's attack (zero start, K steps of eps/K, CE, last iterate), not the strong evaluation default.
  const atk = flowPgd({ eps: cfg.eps, steps: cfg.steps, protocol: 'paper' });
  return withRecipe('flowAT', [cfg], {
    name: 'flow-at', weight: cfg.weight ?? 1, config: { eps: cfg.eps, steps: cfg.steps },
    prepare: (model, x, y, ctx) => atk.run(model, x, y, { seed: ctx.seed }),
    value: (model, _x, y, ctx) => crossEntropy(model.logits(need('flowAT', ctx.prepared)), y),
  });
}
