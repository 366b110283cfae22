// Sanity checks against gradient masking and broken attacks, reported beside every result (Carlini et al. 2019; evaluation.md).
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import { crossEntropyPerExample } from '../tf/safe-ops';
import { worstCaseByEps, type RobustnessReport } from './robustness';

export interface SanityCheck { check: string; passed: boolean; detail: string }

/** Prefix of attacks crafted on another model (transferAttack): the sanity checks treat them as black-box. */
export const TRANSFER_PREFIX = 'transfer:';

export interface SanityOptions {
  /** Name of the single-step attack (default 'fgsm'). */
  singleStep?: string;
  /** Names of gradient-free or transfer attacks (default ['square', 'square-targeted']); names starting with 'transfer:' (transferAttack) always count. */
  blackBox?: string[];
  /** Accuracy at the largest eps must be below this (default 0.1). */
  largeEpsMax?: number;
  /** Slack for sampling noise, as a fraction of examples (default 2/n). */
  tolerance?: number;
}

/** The checks of evaluation.md over one model's report; prints a warning for each failure. */
export function sanityChecks(report: RobustnessReport, opts: SanityOptions = {}): SanityCheck[] {
  const tol = opts.tolerance ?? 2 / report.n;
  const single = opts.singleStep ?? 'fgsm';
  const blackList = opts.blackBox ?? ['square', 'square-targeted'];
  const isBlack = (name: string) => blackList.includes(name) || name.startsWith(TRANSFER_PREFIX);
  const out: SanityCheck[] = [];
  const white = report.attacks.filter((r) => r.attack !== single && !isBlack(r.attack));
  for (const s of report.attacks.filter((r) => r.attack === single)) {
    const it = white.filter((r) => r.eps === s.eps && r.norm === s.norm);
    if (it.length === 0) continue;
    const best = Math.min(...it.map((r) => r.acc));
    out.push({ check: `iterative beats single-step (eps ${s.eps})`, passed: best <= s.acc + tol, detail: `iterative ${fmt(best)} vs ${single} ${fmt(s.acc)}` });
  }
  for (const norm of [...new Set(report.attacks.map((r) => r.norm))]) {
    const curve = worstCaseByEps({ ...report, attacks: report.attacks.filter((r) => !isBlack(r.attack)) }, norm);
    if (curve.length >= 2) {
      const bad = curve.findIndex((p, i) => i > 0 && p.acc > curve[i - 1].acc + tol);
      out.push({ check: `accuracy falls monotonically with eps (${norm})`, passed: bad < 0, detail: curve.map((p) => `${p.eps}: ${fmt(p.acc)}`).join(', ') });
      const last = curve[curve.length - 1];
      out.push({ check: `large eps reaches ~0 (${norm}, eps ${last.eps})`, passed: last.acc <= (opts.largeEpsMax ?? 0.1), detail: `${fmt(last.acc)} at eps ${last.eps}` });
    }
  }
  for (const b of report.attacks.filter((r) => isBlack(r.attack))) {
    const wb = white.filter((r) => r.eps === b.eps && r.norm === b.norm);
    if (wb.length === 0) continue;
    const best = Math.min(...wb.map((r) => r.acc));
    out.push({ check: `${b.attack} does not beat white-box (eps ${b.eps})`, passed: b.acc >= best - tol, detail: `${b.attack} ${fmt(b.acc)} vs white-box ${fmt(best)}` });
  }
  for (const c of out) if (!c.passed) console.warn(`⚠ sanity check failed: ${c.check}: ${c.detail}`);
  return out;
}

/** Input gradients of the loss are finite and non-zero (share of examples with a non-zero, finite gradient). */
export function gradientCheck(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): SanityCheck {
  const [finite, nonzero] = withMode(model, 'eval', () => tf.tidy(() => {
    const g = tf.grad((xx: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(xx as tf.Tensor4D), y)))(x);
    const norms = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3]));
    const isF = tf.logicalNot(tf.logicalOr(tf.isNaN(norms), tf.isInf(norms)));
    return [tf.mean(isF.toFloat()).dataSync()[0], tf.mean(tf.greater(norms, 1e-12).toFloat()).dataSync()[0]];
  }));
  const passed = finite === 1 && nonzero >= 0.99;
  const c = { check: 'gradients finite and non-zero', passed, detail: `finite ${fmt(finite)}, non-zero ${fmt(nonzero)} of examples` };
  if (!passed) console.warn(`⚠ sanity check failed: ${c.check}: ${c.detail}`);
  return c;
}

function fmt(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}
