// Convergence check (evaluation.md, Carlini et al. 2019): doubling an iterative attack's steps must not lower robust accuracy
// noticeably; if it does, the reported number came from an attack that had not converged.
import type { Attack, Model } from '../types';
import { evaluateRobustness, type EvalData, type EvaluateOptions } from './robustness';
import type { SanityCheck } from './sanity';

export interface ConvergenceResult extends SanityCheck {
  steps: number;
  acc: number;
  accDoubled: number;
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
  const tol = opts.tolerance ?? 2 / rep.n;
  const passed = b.acc >= a.acc - tol;
  const out = {
    check: `doubling steps does not change robust accuracy (${a.attack}, eps ${a.eps}, ${steps} -> ${2 * steps} steps)`, passed,
    detail: `${(100 * a.acc).toFixed(1)}% -> ${(100 * b.acc).toFixed(1)}%`, steps, acc: a.acc, accDoubled: b.acc,
  };
  if (!passed) console.warn(`⚠ sanity check failed: ${out.check}: ${out.detail}`);
  return out;
}
