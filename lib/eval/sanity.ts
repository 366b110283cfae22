// Sanity checks against gradient masking and broken attacks, reported beside every result (Carlini et al. 2019; evaluation.md).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { crossEntropyPerExample } from '../tf/safe-ops';
import { wilson } from '../stats/intervals';
import { formatAcc, formatInterval } from '../stats/format';
import { worstCase, type AttackResult, type RobustnessReport } from './robustness';

export type CheckStatus = 'pass' | 'fail' | 'n/a';

export interface SanityCheck {
  check: string;
  /** 'n/a': the check could not fail here (e.g. a black-box attack with too few queries, no single-step attack run). */
  status: CheckStatus;
  /** Kept for compatibility: status !== 'fail'. Report `status`: an 'n/a' is not a pass. */
  passed: boolean;
  detail: string;
  /** On failure: what it likely means and what to do (goes into reports, cards and tables). */
  diagnosis?: string;
}

/** Prefix of attacks crafted on another model (transferAttack): the sanity checks treat them as black-box. */
export const TRANSFER_PREFIX = 'transfer:';

/** Names of the kit's single-step attacks (the "iterative beats single-step" check). */
export const SINGLE_STEP_ATTACKS = ['fgsm', 'fgm-l2', 'fgm-l1', 'flow-fgsm'];
/** Names of the kit's gradient-free attacks (the "black-box does not beat white-box" check). */
export const BLACK_BOX_ATTACKS = ['square', 'square-targeted', 'square-l1', 'flow-square'];

export interface SanityOptions {
  /** Name(s) of the single-step attack(s) (default SINGLE_STEP_ATTACKS). */
  singleStep?: string | string[];
  /** Names of gradient-free or transfer attacks (default BLACK_BOX_ATTACKS); names starting with 'transfer:' (transferAttack) always count. */
  blackBox?: string[];
  /**
   * A gradient-free attack with fewer queries than this (its config.queries) cannot show masking when it does not beat the
   * white-box attack: that check is then 'n/a', not 'pass' (default 1000; Square's paper uses 10000, AutoAttack 5000).
   */
  minQueries?: number;
  /** Classes of the model (default report.numClasses): the large-eps threshold is chance, 1 / numClasses. */
  numClasses?: number;
  /**
   * Accuracy the largest eps must get down to: passes when the 95% Wilson interval of the accuracy there reaches this (its lower
   * end is at most it). Default 1 / numClasses (chance), or 0.1 when the number of classes is unknown.
   */
  largeEpsMax?: number;
  /** Slack for sampling noise in comparisons between attacks, as a fraction of examples (default 2/n). */
  tolerance?: number;
  /** List every kind of check, as 'n/a' with the reason when the report cannot support it (strongEvaluation does). */
  complete?: boolean;
}

export const DIAGNOSIS = {
  singleStep: 'the iterative attack did worse than one step: it has not converged (too few steps or too small a step) or the loss ' +
    'surface is masked/noisy so that following the gradient leads away from adversarial points; raise steps and restarts, use a ' +
    'margin (CW/DLR) loss, and treat the iterative number as an upper bound',
  monotone: 'a larger budget left more examples robust, although every adversarial example at the smaller eps is valid at the ' +
    'larger one: the attack at the larger eps is not finding the worst case (not converged, or masked gradients); take the worst ' +
    'case over eps <= e as the number at e and strengthen the attack',
  largeEps: 'an (effectively) unbounded attack must drive accuracy to chance or below: gradient masking (quantization, saturated ' +
    'or argmax outputs, non-differentiable steps) or a broken attack; if the threat model itself cannot reach chance at this eps ' +
    '(an expected floor, e.g. a deformation that cannot remove the object), raise largeEps until it should',
  blackBox: 'a gradient-free or transfer attack found adversarial examples the white-box attack missed: the white-box gradients are ' +
    'masked or obfuscated; the white-box numbers overstate robustness: report the worst case including the black-box attack, and ' +
    'try BPDA/EOT or a stronger white-box attack',
  nonFinite: 'the model outputs NaN or infinite logits on some attacked inputs (numerically unstable: a log of 0, an overflow); ' +
    'those count as not robust, and the same instability can block gradients (masking): fix the model',
  convergence: 'the attack has not converged: doubling its steps lowered robust accuracy, so the reported number is an upper ' +
    'bound; raise the budget\'s steps until doubling no longer changes it',
  gradient: 'input gradients are zero or not finite for some examples: a non-differentiable step (rounding, argmax, thresholding) ' +
    'or saturation masks them, so white-box attacks cannot work there; use BPDA, a black-box attack with many queries, or remove the step',
};

function make(check: string, status: CheckStatus, detail: string, diagnosis?: string): SanityCheck {
  return { check, status, passed: status !== 'fail', detail, ...(status === 'fail' && diagnosis ? { diagnosis } : {}) };
}

/** Queries a black-box result was given (its config.queries), or undefined (transfer attacks, unknown). */
function queriesOf(r: AttackResult): number | undefined {
  const q = r.config?.queries;
  return typeof q === 'number' ? q : undefined;
}

/** Prints one warning per failed check (with its diagnosis). */
export function warnFailed(checks: SanityCheck[]): void {
  for (const c of checks) if (c.status === 'fail') console.warn(`⚠ sanity check failed: ${c.check}: ${c.detail}${c.diagnosis ? ` (${c.diagnosis})` : ''}`);
}

/** The checks of evaluation.md over one model's report; prints a warning for each failure. */
export function sanityChecks(report: RobustnessReport, opts: SanityOptions = {}): SanityCheck[] {
  const tol = opts.tolerance ?? 2 / report.n;
  const fmt = (v: number) => formatAcc(v, report.n);
  const singles = new Set(typeof opts.singleStep === 'string' ? [opts.singleStep] : opts.singleStep ?? SINGLE_STEP_ATTACKS);
  const blackList = opts.blackBox ?? BLACK_BOX_ATTACKS;
  const minQueries = opts.minQueries ?? 1000;
  if (opts.largeEpsMax !== undefined && !(opts.largeEpsMax >= 0 && opts.largeEpsMax <= 1)) throw new Error(`sanityChecks: largeEpsMax must be an accuracy in [0, 1], got ${opts.largeEpsMax}`);
  if (!(Number.isFinite(minQueries) && minQueries >= 0)) throw new Error(`sanityChecks: minQueries must be a number >= 0, got ${opts.minQueries}`);
  const isBlack = (name: string) => blackList.includes(name) || name.startsWith(TRANSFER_PREFIX);
  const out: SanityCheck[] = [];
  const white = report.attacks.filter((r) => !singles.has(r.attack) && !isBlack(r.attack));
  const norms = [...new Set(report.attacks.map((r) => r.norm))];
  // Iterative beats single-step, at every eps where both ran.
  let singleChecks = 0;
  for (const s of report.attacks.filter((r) => singles.has(r.attack))) {
    const it = white.filter((r) => r.eps === s.eps && r.norm === s.norm);
    if (it.length === 0) continue;
    singleChecks++;
    const best = Math.min(...it.map((r) => r.acc));
    out.push(make(`iterative beats single-step (${s.attack}, eps ${s.eps})`, best <= s.acc + tol ? 'pass' : 'fail',
      `iterative ${fmt(best)} vs ${s.attack} ${fmt(s.acc)}`, DIAGNOSIS.singleStep));
  }
  if (opts.complete && singleChecks === 0) {
    out.push(make('iterative beats single-step', 'n/a', `no single-step attack (${[...singles].join(', ')}) ran at an eps where an iterative one did`));
  }
  // Accuracy falls with eps and reaches ~chance at the largest eps (white-box worst case per eps).
  const chanceK = opts.numClasses ?? report.numClasses;
  const threshold = opts.largeEpsMax ?? (chanceK ? 1 / chanceK : 0.1);
  for (const norm of norms) {
    const rs = report.attacks.filter((r) => !isBlack(r.attack) && r.norm === norm);
    const byEps = new Map<number, AttackResult[]>();
    for (const r of rs) byEps.set(r.eps, [...(byEps.get(r.eps) ?? []), r]);
    const curve = [...byEps.entries()].sort((a, b) => a[0] - b[0]).map(([eps, list]) => ({ eps, ...worstCase(list, report.cleanCorrect) }));
    if (curve.length >= 2) {
      const bad = curve.findIndex((p, i) => i > 0 && p.acc > curve[i - 1].acc + tol);
      out.push(make(`accuracy falls monotonically with eps (${norm})`, bad < 0 ? 'pass' : 'fail', curve.map((p) => `${p.eps}: ${fmt(p.acc)}`).join(', '), DIAGNOSIS.monotone));
      const last = curve[curve.length - 1];
      const k = last.correct.reduce((a, v) => a + v, 0);
      const ci = wilson(k, report.n);
      const what = opts.largeEpsMax !== undefined ? `threshold ${fmt(threshold)}` : chanceK ? `chance ${fmt(threshold)}` : `threshold ${fmt(threshold)}`;
      out.push(make(`large eps reaches ~chance (${norm}, eps ${last.eps})`, ci.lo <= threshold ? 'pass' : 'fail',
        `${fmt(last.acc)} ${formatInterval(ci, report.n)} at eps ${last.eps} (${what})`, DIAGNOSIS.largeEps));
    } else if (opts.complete) {
      out.push(make(`accuracy falls monotonically with eps and reaches ~chance (${norm})`, 'n/a', `only ${curve.length} eps evaluated with a white-box attack; needs at least 2, the largest well past the training eps`));
    }
  }
  // Gradient-free / transfer attacks do not beat the white-box ones.
  let blackChecks = 0;
  for (const b of report.attacks.filter((r) => isBlack(r.attack))) {
    const wb = white.filter((r) => r.eps === b.eps && r.norm === b.norm);
    if (wb.length === 0) continue;
    blackChecks++;
    const best = Math.min(...wb.map((r) => r.acc));
    const q = queriesOf(b);
    const beats = b.acc < best - tol;
    const status: CheckStatus = beats ? 'fail' : q !== undefined && q < minQueries ? 'n/a' : 'pass';
    out.push(make(`${b.attack} does not beat white-box (eps ${b.eps})`, status,
      `${b.attack} ${fmt(b.acc)} vs white-box ${fmt(best)}${q !== undefined ? ` (${q} queries${status === 'n/a' ? `, fewer than ${minQueries}: too few to expose masking` : ''})` : ''}`,
      DIAGNOSIS.blackBox));
  }
  if (opts.complete && blackChecks === 0) {
    out.push(make('gradient-free attack does not beat white-box', 'n/a', `no gradient-free or transfer attack (${blackList.join(', ')}, transfer:*) ran at an eps where a white-box one did`));
  }
  // Non-finite logits on attacked inputs.
  const nonFinite = report.attacks.filter((r) => (r.nonFinite ?? 0) > 0);
  if (nonFinite.length > 0 || opts.complete) {
    out.push(make('logits finite on every attacked input', nonFinite.length ? 'fail' : 'pass',
      nonFinite.length ? nonFinite.map((r) => `${r.attack} eps ${r.eps}: ${r.nonFinite} of ${report.n}`).join(', ') : `all ${report.n} examples, every attack`, DIAGNOSIS.nonFinite));
  }
  warnFailed(out);
  return out;
}

/**
 * One table cell for a list of checks: 'pass', 'pass (2 n/a)', or 'FAIL: <check>; <check>' (the failed checks by name; their
 * details and diagnoses are in the report and the card).
 */
export function sanitySummary(checks: SanityCheck[]): string {
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length) return `FAIL: ${failed.map((c) => c.check).join('; ')}`;
  const na = checks.filter((c) => c.status === 'n/a').length;
  return na ? `pass (${na} n/a)` : 'pass';
}

/** Input gradients of the loss are finite and non-zero (share of examples with a non-zero, finite gradient). */
export function gradientCheck(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): SanityCheck {
  const [finite, nonzero] = withMode(model, 'eval', () => tf.tidy(() => {
    const g = tf.grad((xx: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(xx as tf.Tensor4D), y)))(x);
    const norms = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3]));
    const isF = tf.logicalNot(tf.logicalOr(tf.isNaN(norms), tf.isInf(norms)));
    return [tf.mean(isF.toFloat()).dataSync()[0], tf.mean(tf.greater(norms, 1e-12).toFloat()).dataSync()[0]];
  }));
  const fmt = (v: number) => formatAcc(v, x.shape[0]);
  const c = make('gradients finite and non-zero', finite === 1 && nonzero >= 0.99 ? 'pass' : 'fail', `finite ${fmt(finite)}, non-zero ${fmt(nonzero)} of examples`, DIAGNOSIS.gradient);
  warnFailed([c]);
  return c;
}

