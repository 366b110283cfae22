// trainMethods' first pass: the runs that are not cached and can travel as jobs train on a runner (worker processes, a
// queue), with one progress bar per job; trainMethods' own loop then loads them from the checkpoint cache.
import * as path from 'node:path';
import type { DataSet, LossTerm } from '../types';
import type { ModelSpec } from '../models/zoo';
import type { SequentialModel } from '../models/sequential';
import { checkpointDir, type TrainConfig } from '../train/trainer';
import { trainKey } from '../train/cache-key';
import { readCheckpointHeader } from '../train/checkpoint';
import { progress, type Progress } from '../report/progress';
import type { TrainJob } from './job';
import type { Method } from '../experiment/methods';
import { makeTrainJob } from './make-job';
import { jobRunner, JobsFailedError, requestedRunner } from './runner';
import { defaultConcurrency } from './local-runner';
import './index'; // registers every runner

/** One (method, seed) as trainMethods prepared it. */
export interface Run {
  method: Method;
  seed: number;
  model: SequentialModel;
  cfg: TrainConfig;
  terms: LossTerm[];
  modelKey: unknown;
}

export interface TrainElsewhereOptions {
  data: DataSet;
  spec: ModelSpec;
  cache?: boolean;
  runner?: string;
  log: (s: string) => void;
}

function isCached(run: Run, data: DataSet): boolean {
  try {
    const key = trainKey(run.model, data, run.cfg, { terms: run.terms, modelKey: run.modelKey });
    const h = readCheckpointHeader(path.join(checkpointDir(), `${key}.ckpt`));
    return h !== undefined && h.key === key && h.done;
  } catch {
    return false; // cannot be keyed: makeTrainJob says why
  }
}

/**
 * Trains the uncached, serializable runs on the chosen runner. Returns the models whose runs a job finished (their
 * checkpoints are in the cache). Nothing happens for runner 'inline', cache: false, one worker, or (automatic choice)
 * fewer than two runs to train. Throws JobsFailedError naming each failed run (method and seed).
 */
export async function trainElsewhere(runs: readonly Run[], opts: TrainElsewhereOptions): Promise<Set<SequentialModel>> {
  const done = new Set<SequentialModel>();
  const asked = requestedRunner(opts.runner, 'trainMethods');
  if (asked === 'inline') return done;
  if (opts.cache === false) {
    if (asked) opts.log(`trainMethods: cache: false, so every run trains in this process (the ${asked} runner hands results back through the cache)`);
    return done;
  }
  const name = asked ?? 'local';
  const concurrency = name === 'local' ? defaultConcurrency() : undefined;
  if (concurrency === 1) return done; // GRADREG_JOBS=1 or one core: today's sequential path
  const jobs: { run: Run; job: TrainJob }[] = [];
  const stay: { run: Run; reason: string }[] = [];
  for (const run of runs) {
    if (isCached(run, opts.data)) continue;
    const r = makeTrainJob({
      label: `${run.method.label} (seed ${run.seed})`, methodId: run.method.id, seed: run.seed, data: opts.data, model: run.model,
      spec: opts.spec, train: run.cfg, terms: run.terms, modelKey: run.modelKey,
    });
    if ('job' in r) jobs.push({ run, job: r.job });
    else stay.push({ run, reason: r.reason });
  }
  // Automatic choice: a single run gains nothing from a worker process (it would only pay the start-up).
  if (asked === undefined && jobs.length < 2) return done;
  const said = new Set<string>();
  for (const s of stay) {
    if (said.has(s.run.method.id)) continue;
    said.add(s.run.method.id);
    opts.log(`${s.run.method.label}: trains in this process, not on the ${name} runner: ${s.reason}`);
  }
  if (jobs.length === 0) return done;
  // Same key twice (two identical runs): one job.
  const unique = [...new Map(jobs.map((j) => [j.job.key, j.job])).values()];
  const runner = jobRunner(name, { concurrency });
  const workers = runner.concurrency && Math.min(runner.concurrency, unique.length);
  opts.log(`training ${unique.length} run${unique.length > 1 ? 's' : ''} on the ${name} runner` +
    `${workers ? ` (${workers} worker process${workers > 1 ? 'es' : ''}; GRADREG_JOBS sets how many)` : ''}; GRADREG_RUNNER=inline trains here instead`);
  const bars = new Map<string, { bar: Progress; done: number }>();
  try {
    await runner.run(unique, {
      onProgress: (job, p) => {
        let b = bars.get(job.key);
        if (!b) { b = { bar: progress(p.total, `train ${job.label}`), done: 0 }; bars.set(job.key, b); }
        b.bar.tick(p.done - b.done, `${p.info}${p.worker ? ` [${p.worker}]` : ''}`);
        b.done = p.done;
      },
      onLog: (job, message) => opts.log(`[${job.label}] ${message}`),
      onFinish: (job) => bars.get(job.key)?.bar.done(),
    });
  } catch (e) {
    if (e instanceof JobsFailedError) e.message += '\n(runs that finished are cached: running this again trains only what is missing)';
    throw e;
  } finally {
    for (const b of bars.values()) b.bar.done();
  }
  for (const { run, job } of jobs) {
    const h = readCheckpointHeader(path.join(checkpointDir(), `${job.key}.ckpt`));
    if (h?.done && h.key === job.key) done.add(run.model);
  }
  return done;
}
