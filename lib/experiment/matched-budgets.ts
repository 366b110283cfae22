// Budgets for the members of Lyu et al.'s family that are comparable across norms: eps_p is chosen so that the first-order loss
// increase eps_p * ||g||_q (q the dual of p) matches, on average over a batch, that of the Linf member, eps * ||g||_1. The same
// number in every norm (an L1 ball of 0.1 moves one pixel by 0.1) would make p = 1 a no-op and favour p = inf by construction.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { dualNorm, lossInputGradient, type PerturbationNorm } from '../regularizers/input-gradient';

export interface MatchedBudget {
  p: PerturbationNorm;
  eps: number;
  /** Mean over the batch of ||g||_q, the dual norm the member penalizes. */
  meanDualNorm: number;
}

/**
 * eps_p = epsInf * mean ||g||_1 / mean ||g||_q(p) for each p, from the input gradients of `model` on (x, y) in eval mode.
 * p = 'inf' returns epsInf itself.
 */
export function matchedBudgets(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, epsInf: number, norms: readonly PerturbationNorm[]): MatchedBudget[] {
  if (!(Number.isFinite(epsInf) && epsInf > 0)) throw new Error(`matchedBudgets: epsInf must be a number > 0, got ${epsInf}`);
  if (norms.length === 0) throw new Error('matchedBudgets: norms is empty; give e.g. [1, 2, "inf"]');
  const means = withMode(model, 'eval', () => tf.tidy(() => {
    const g = lossInputGradient(model, x, y);
    const m = (p: PerturbationNorm) => tf.mean(dualNorm(g, p)).dataSync()[0];
    return { ref: m('inf'), per: norms.map((p) => ({ p, mean: m(p) })) };
  }));
  if (!(means.ref > 0)) throw new Error('matchedBudgets: the input gradients are zero on this batch; use a trained model and correctly labelled inputs');
  return means.per.map(({ p, mean }) => ({ p, eps: p === 'inf' ? epsInf : (epsInf * means.ref) / mean, meanDualNorm: mean }));
}
