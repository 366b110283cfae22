// Input-gradient family: penalties on g = dL/dx, L the per-example cross-entropy.
//
// Follows the papers:
// - Lyu, Huang, Liang 2015 (from the abstract and secondary notes, full text unavailable): min L(x) + eps ||g||_q, q the dual of the
//   perturbation norm p, which is the first-order expansion of max_{||r||_p <= eps} L(x + r); p = inf gives FGSM training.
// - Drucker & LeCun 1992 / Ross & Doshi-Velez 2018 double backprop: 1/2 ||g||_2^2.
// - Finlay & Oberman 2019: ||g||^2 by a finite difference along the detached direction d = g/||g||: no second derivatives.
// Our choices (exposed as options or documented here):
// - Every penalty is per example (g_b = dCE_b/dx_b) and averaged over the batch; Lyu's eps sits inside the penalty value
//   (value = eps ||g||_q), so weight = 1 reproduces the paper's objective.
// - Lyu's perturbation form value = CE(clip(x + eps r_p(g), 0, 1)), r_p(g) = argmax_{||r||_p <= 1} <r, g> detached: sign(g) for
//   p = inf, g/||g||_2 for p = 2, the signed coordinate of max |g| for p = 1. It REPLACES the clean CE (replacesCrossEntropy).
//   clip: true keeps inputs in [0,1] (set false for the exact first-order equivalence with the penalty form).
// - Finite differences: value = 1/2 mean_b ((CE_b(x_b + h d_b) - CE_b(x_b)) / h)^2, i.e. the same scale as double backprop.
// - ||g||_2 uses sqrt(sum g^2 + 1e-12) so the weight gradient is finite at g = 0.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { crossEntropyPerExample } from '../tf/safe-ops';
import type { Regularizer } from './regularizer';
import { untaped } from './detached';
import { checkBoolean, checkKeys, checkNumber, checkOneOf, checkWeight } from './validate';
import { withRecipe } from '../train/term-recipe';

export type PerturbationNorm = 1 | 2 | 'inf';
export const PERTURBATION_NORMS: readonly PerturbationNorm[] = [1, 2, 'inf'];
export type InputGradientForm = 'penalty' | 'perturbation';
export const INPUT_GRADIENT_FORMS: readonly InputGradientForm[] = ['penalty', 'perturbation'];

const NORM_EPS = 1e-12;

/** Per-example input gradient of the cross-entropy, [B,H,W,C]; differentiable w.r.t. the weights (double backprop). */
export function lossInputGradient(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  // Summing per-example losses gives each example its own gradient (examples do not interact, batch norm in train mode aside).
  return tf.grad((xx: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(xx as tf.Tensor4D), y)))(x) as tf.Tensor4D;
}

function rows(t: tf.Tensor): tf.Tensor2D {
  return tf.reshape(t, [t.shape[0], -1]) as tf.Tensor2D;
}

function l2Rows(g2d: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.add(tf.sum(tf.square(g2d), 1), NORM_EPS)) as tf.Tensor1D;
}

/** ||g_b||_q per example for q the dual of the perturbation norm p: p=1 -> max|g|, p=2 -> ||g||_2, p=inf -> sum|g|. [B] */
export function dualNorm(g: tf.Tensor, p: PerturbationNorm): tf.Tensor1D {
  const g2 = rows(g);
  if (p === 'inf') return tf.sum(tf.abs(g2), 1) as tf.Tensor1D;
  if (p === 2) return l2Rows(g2);
  return tf.max(tf.abs(g2), 1) as tf.Tensor1D;
}

/** r_p(g) = argmax_{||r||_p <= 1} <r, g> per example, same shape as g (not differentiable: call it on constants). */
export function steepestAscentDirection(g: tf.Tensor4D, p: PerturbationNorm): tf.Tensor4D {
  return tf.tidy(() => {
    const g2 = rows(g);
    let r: tf.Tensor2D;
    if (p === 'inf') r = tf.sign(g2);
    else if (p === 2) r = tf.div(g2, tf.expandDims(l2Rows(g2), 1));
    else r = tf.mul(tf.oneHot(tf.argMax(tf.abs(g2), 1), g2.shape[1]), tf.sign(g2)) as tf.Tensor2D;
    return tf.reshape(r, g.shape) as tf.Tensor4D;
  });
}

export interface InputGradientPenaltyConfig {
  /** Perturbation norm p; the penalty uses its dual q. */
  p: PerturbationNorm;
  /** Perturbation budget, in input units ([0,1] pixels). */
  eps: number;
  /** 'penalty' (eps ||g||_q, double backprop) or 'perturbation' (CE at x + eps r_p(g), first order). Default 'penalty'. */
  form?: InputGradientForm;
  /** Trainer multiplier, default 1 (eps already scales the penalty). */
  weight?: number;
  /** Perturbation form only: clip x + eps r to [0,1]. Default true. */
  clip?: boolean;
}

/** Lyu et al.'s unified gradient regularization family, in penalty or perturbation form. */
export function inputGradientPenalty(config: InputGradientPenaltyConfig): Regularizer<Required<InputGradientPenaltyConfig>> {
  const where = 'inputGradientPenalty';
  checkKeys(where, config, ['p', 'eps', 'form', 'weight', 'clip']);
  const p = checkOneOf(where, 'p', config.p, PERTURBATION_NORMS);
  const eps = checkNumber(where, 'eps', config.eps, { min: 0 });
  const form = checkOneOf(where, 'form', config.form ?? 'penalty', INPUT_GRADIENT_FORMS);
  const weight = checkWeight(where, config.weight ?? 1);
  const clip = checkBoolean(where, 'clip', config.clip ?? true);
  const resolved = { p, eps, form, weight, clip };
  return withRecipe('inputGradientPenalty', [config], {
    name: `lyu-p${p}-${form}`,
    label: `Lyu p=${p} (${form})`,
    weight,
    config: resolved,
    replacesCrossEntropy: form === 'perturbation',
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
      return tf.tidy(() => {
        if (form === 'penalty') return tf.mul(eps, tf.mean(dualNorm(lossInputGradient(model, x, y), p))) as tf.Scalar;
        const r = untaped(() => steepestAscentDirection(lossInputGradient(model, x, y), p));
        let xAdv = tf.add(x, tf.mul(r, eps)) as tf.Tensor4D;
        if (clip) xAdv = tf.clipByValue(xAdv, 0, 1);
        return tf.mean(crossEntropyPerExample(model.logits(xAdv), y)) as tf.Scalar;
      });
    },
  });
}

export interface DoubleBackpropConfig {
  weight?: number;
}

/** Double backprop (Drucker & LeCun; Ross & Doshi-Velez): value = mean_b 1/2 ||dCE_b/dx_b||_2^2. */
export function doubleBackprop(config: DoubleBackpropConfig = {}): Regularizer<Required<DoubleBackpropConfig>> {
  const where = 'doubleBackprop';
  checkKeys(where, config, ['weight']);
  const weight = checkWeight(where, config.weight ?? 1);
  return withRecipe('doubleBackprop', [config], {
    name: 'double-backprop',
    label: 'Double backprop',
    weight,
    config: { weight },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
      return tf.tidy(() => tf.mul(0.5, tf.mean(tf.sum(tf.square(rows(lossInputGradient(model, x, y))), 1))) as tf.Scalar);
    },
  });
}

export interface FiniteDifferenceConfig {
  /** Step along the unit gradient direction, in input units. Default 0.01. */
  h?: number;
  weight?: number;
}

/** Finlay & Oberman's input gradient penalty by finite differences: approximates doubleBackprop's value, first order only. */
export function finiteDifferenceGradientPenalty(config: FiniteDifferenceConfig = {}): Regularizer<Required<FiniteDifferenceConfig>> {
  const where = 'finiteDifferenceGradientPenalty';
  checkKeys(where, config, ['h', 'weight']);
  const h = checkNumber(where, 'h', config.h ?? 0.01, { min: 0, minExclusive: true });
  const weight = checkWeight(where, config.weight ?? 1);
  return withRecipe('finiteDifferenceGradientPenalty', [config], {
    name: 'fd-gradient',
    label: 'Finite-difference gradient penalty',
    weight,
    config: { h, weight },
    replacesCrossEntropy: false,
    value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
      return tf.tidy(() => {
        const d = untaped(() => steepestAscentDirection(lossInputGradient(model, x, y), 2));
        const step = tf.add(x, tf.mul(d, h)) as tf.Tensor4D;
        // One forward pass over [x; x + h d] keeps batch-norm statistics the same for both halves.
        const both = crossEntropyPerExample(model.logits(tf.concat([x, step], 0)), tf.concat([y, y], 0));
        const [l0, l1] = tf.split(both, 2, 0);
        const slope = tf.div(tf.sub(l1, l0), h);
        return tf.mul(0.5, tf.mean(tf.square(slope))) as tf.Scalar;
      });
    },
  });
}

/** The perturbation eps * r_p(dL/dx) of Lyu's family at x (eval mode), for visualizing what each member defends against. */
export function lyuPerturbation(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, p: PerturbationNorm, eps: number): tf.Tensor4D {
  const prev = model.mode;
  model.mode = 'eval';
  try {
    return tf.tidy(() => tf.mul(steepestAscentDirection(lossInputGradient(model, x, y), p), eps) as tf.Tensor4D);
  } finally {
    model.mode = prev;
  }
}
