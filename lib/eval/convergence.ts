// Convergence check (evaluation.md, Carlini et al. 2019): doubling an iterative attack's steps must not lower robust accuracy
// noticeably; if it does, the reported number came from an attack that had not converged.
import type { Attack, Model } from '../types';
import { evaluateRobustness, type AttackResult, type EvalData, type EvaluateOptions } from './robustness';
import { formatAcc } from '../stats/format';
import { DIAGNOSIS, warnFailed, type SanityCheck } from './sanity';

export interface ConvergenceResult extends SanityCheck {
  steps: number;
  acc: number;
  accDoubled: number;
}

/**
 * The check from two results on the same examples: `base` with `steps` steps and `doubled` with twice as many. Passes when
 * doubling lowers accuracy by at most `tolerance` (default 2/n). Prints a warning when it fails.
 */
export function convergenceFromResults(base: AttackResult, doubled: AttackResult, steps: number, tolerance = 2 / base.correct.length): ConvergenceResult {
  // Compared with a margin for float round-off: "at most 2/n" must let exactly 2 examples through (61/150 - 2/150 < 59/150 in doubles).
  const ok = doubled.acc >= base.acc - tolerance - 1e-9;
  const out: ConvergenceResult = {
    check: `doubling steps does not change robust accuracy (${base.attack}, eps ${base.eps}, ${steps} -> ${2 * steps} steps)`,
    status: ok ? 'pass' : 'fail', passed: ok,
    detail: `${formatAcc(base.acc, base.correct.length)} -> ${formatAcc(doubled.acc, doubled.correct.length)}`, ...(ok ? {} : { diagnosis: DIAGNOSIS.convergence }),
    steps, acc: base.acc, accDoubled: doubled.acc,
  };
  warnFailed([out]);
  return out;
}

/**
 * Robust accuracy with `make(steps)` and `make(2 * steps)` on the same examples and seed; passes when doubling lowers accuracy by
 * at most `tolerance` (default 2/n). Prints a warning when it fails.
 */
export function convergenceCheck(model: Model, data: EvalData, make: (steps: number) => Attack, steps: number,
  opts: EvaluateOptions & { tolerance?: number } = {}): ConvergenceResult {
  if (!(Number.isInteger(steps) && steps > 0)) throw new Error(`convergenceCheck: steps must be a positive integer, got ${steps}`);
  const rep = evaluateRobustness(model, data, [make(steps), make(2 * steps)], opts);
  const [a, b] = rep.attacks;
  return convergenceFromResults(a, b, steps, opts.tolerance ?? 2 / rep.n);
}
