// Accuracy-vs-eps curves: the attacks rebuilt at every eps, robust accuracy as the per-example worst case at each eps.
import type { Attack, Model } from '../types';
import { evaluateRobustness, worstCaseByEps, type EvalData, type EvaluateOptions, type RobustnessReport } from './robustness';

export interface AccuracyCurve {
  eps: number[];
  /** Worst case over the attacks made for each eps. */
  acc: number[];
  clean: number;
  report: RobustnessReport;
}

/**
 * Robust accuracy at every eps of `epsList` (sorted ascending), with `make(eps)` giving the attack(s) for that eps. Go out to an eps
 * where accuracy reaches ~0 (evaluation.md), so the sanity checks can confirm the attack works at all.
 */
export function robustAccuracyCurve(model: Model, data: EvalData, make: (eps: number) => Attack | Attack[], epsList: number[],
  opts: EvaluateOptions = {}): AccuracyCurve {
  if (!Array.isArray(epsList) || epsList.length === 0) throw new Error('robustAccuracyCurve: epsList must be a non-empty array of budgets, e.g. [0, 0.1, 0.2, 0.3]');
  for (const e of epsList) {
    if (!(typeof e === 'number' && Number.isFinite(e) && e >= 0)) throw new Error(`robustAccuracyCurve: every eps must be a finite number >= 0, got ${e}`);
  }
  const eps = [...new Set(epsList)].sort((a, b) => a - b);
  const attacks = eps.flatMap((e) => {
    const made = make(e);
    const list = Array.isArray(made) ? made : [made];
    for (const a of list) {
      if (a.threat.eps !== e) throw new Error(`robustAccuracyCurve: make(${e}) returned ${a.name} with threat.eps ${a.threat.eps}; it must build the attack for eps ${e}`);
    }
    return list;
  });
  const norms = new Set(attacks.map((a) => a.threat.norm));
  if (norms.size > 1) throw new Error(`robustAccuracyCurve: one curve needs one threat model, got norms ${[...norms].join(', ')}`);
  const report = evaluateRobustness(model, data, attacks, opts);
  const points = worstCaseByEps(report);
  return { eps: points.map((p) => p.eps), acc: points.map((p) => p.acc), clean: report.clean, report };
}
