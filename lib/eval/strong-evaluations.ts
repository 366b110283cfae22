// The strong protocol on several models: where cores are free (or a queue is configured) the evaluations run as parallel jobs
// (lib/jobs/evaluate-elsewhere.ts) that fill the evaluation cache; then each report is assembled here, in order, from the
// cache. The reports are the ones strongEvaluationAsync gives one model after another: same keys, same numbers.
import type { Model } from '../types';
import { evaluateElsewhere } from '../jobs/evaluate-elsewhere';
import { strongEvaluationAsync, type StrongEvaluationOptions, type StrongReport } from './protocol';
import type { EvalData } from './robustness';

export interface StrongEvaluationItem {
  model: Model;
  /** What progress bars and messages call it (default the model's name). */
  label?: string;
  options: StrongEvaluationOptions;
}

export interface StrongEvaluationsOptions {
  /** 'inline' (here, one after another), 'local' (worker processes), 'queue', ... (default: GRADREG_RUNNER, else local when
   * more than one core and more than one model). */
  runner?: string;
  /** Runner messages (default console.log). */
  log?: (line: string) => void;
}

/** strongEvaluationAsync for every item, the attacks run in parallel jobs where possible; reports in the items' order. */
export async function strongEvaluations(items: readonly StrongEvaluationItem[], data: EvalData, opts: StrongEvaluationsOptions = {}): Promise<StrongReport[]> {
  if (!Array.isArray(items)) throw new Error('strongEvaluations: items must be an array of { model, options, label? }');
  items.forEach((it, i) => {
    if (!it || typeof it !== 'object' || !it.model || !it.options) throw new Error(`strongEvaluations: item ${i} must be { model, options, label? }`);
  });
  const labelOf = (it: StrongEvaluationItem) => it.label ?? it.model.name;
  const log = opts.log ?? ((s: string) => console.log(s));
  const shipped = await evaluateElsewhere(items.map((it) => ({ label: `${labelOf(it)} ${it.options.threat}`, model: it.model, data, options: it.options })),
    { runner: opts.runner, log });
  const out: StrongReport[] = [];
  for (const [i, it] of items.entries()) {
    const r = await strongEvaluationAsync(it.model, data, it.options);
    // A worker's results that this process does not find were keyed differently (another checkout or data folder): the
    // numbers are still right (computed here again), the parallel work was wasted. Say so rather than hide it.
    if (shipped.has(i) && r.cachedResults < r.results.length) {
      log(`⚠ ${labelOf(it)} ${it.options.threat}: ${r.results.length - r.cachedResults} of ${r.results.length} attack results the job computed were not found ` +
        'in this process\'s evaluation cache and ran again here (the worker keyed them differently: same commit and GRADREG_DATA needed)');
    }
    out.push(r);
  }
  return out;
}
