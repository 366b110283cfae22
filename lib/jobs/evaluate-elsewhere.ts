// strongEvaluations' first pass: the evaluations that can travel as jobs run on a runner (worker processes, a queue), one
// progress bar per job; strongEvaluations' own loop then finds every attack in the evaluation cache.
import type { EvalJob } from './eval-job';
import { makeEvalJob, type EvalJobSource } from './make-eval-job';
import { jobRunner, JobsFailedError, requestedRunner } from './runner';
import { defaultConcurrency } from './local-runner';
import { progress, type Progress } from '../report/progress';
import './index'; // registers every runner

export interface EvaluateElsewhereOptions {
  runner?: string;
  log: (s: string) => void;
}

/**
 * Runs the items' evaluations as jobs on the chosen runner and returns the indices of the items that ran there. Nothing happens for runner 'inline',
 * one worker, or (automatic choice) fewer than two jobs. Throws JobsFailedError naming each failed evaluation.
 */
export async function evaluateElsewhere(items: readonly EvalJobSource[], opts: EvaluateElsewhereOptions): Promise<Set<number>> {
  const asked = requestedRunner(opts.runner, 'strongEvaluations');
  const none = new Set<number>();
  if (asked === 'inline') return none;
  const name = asked ?? 'local';
  const concurrency = name === 'local' ? defaultConcurrency() : undefined;
  if (concurrency === 1) return none; // GRADREG_JOBS=1 or one core: evaluate here, one model after another
  const jobs: EvalJob[] = [];
  const shipped = new Set<number>();
  const said = new Set<string>();
  for (const [i, item] of items.entries()) {
    const r = await makeEvalJob(item);
    if ('job' in r) { jobs.push(r.job); shipped.add(i); }
    else if (!said.has(r.reason)) {
      said.add(r.reason);
      opts.log(`${item.label}: evaluated in this process, not on the ${name} runner: ${r.reason}`);
    }
  }
  // Automatic choice: one job gains nothing from a worker process (it would only pay the start-up).
  if (asked === undefined && jobs.length < 2) return none;
  const unique = [...new Map(jobs.map((j) => [j.key, j])).values()];
  if (unique.length === 0) return none;
  const runner = jobRunner(name, { concurrency });
  const workers = runner.concurrency && Math.min(runner.concurrency, unique.length);
  opts.log(`evaluating: ${unique.length} job${unique.length > 1 ? 's' : ''} (model x threat) on the ${name} runner` +
    `${workers ? ` (${workers} worker process${workers > 1 ? 'es' : ''}; GRADREG_JOBS sets how many)` : ''}; GRADREG_RUNNER=inline evaluates here instead`);
  const bars = new Map<string, { bar: Progress; done: number }>();
  try {
    await runner.run(unique, {
      onProgress: (job, p) => {
        let b = bars.get(job.key);
        if (!b) { b = { bar: progress(p.total, `evaluate ${job.label}`), done: 0 }; bars.set(job.key, b); }
        b.bar.tick(p.done - b.done, p.worker ? `[${p.worker}]` : '');
        b.done = p.done;
      },
      onLog: (job, message) => opts.log(`[${job.label}] ${message}`),
      onFinish: (job) => bars.get(job.key)?.bar.done(),
    });
  } catch (e) {
    if (e instanceof JobsFailedError) e.message += '\n(attacks that finished are cached: running this again evaluates only what is missing)';
    throw e;
  } finally {
    for (const b of bars.values()) b.bar.done();
  }
  return shipped;
}
