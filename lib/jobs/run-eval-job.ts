// Runs one evaluation job in this process: rebuild data, model (spec + weights) and paper attacks from the job, check that this
// process keys the evaluation cache as the submitter does, run the strong protocol through the cache.
import { initBackend } from '../backend';
import { createModel } from '../models/zoo';
import { buildAttack } from '../attacks/index';
import { strongEvaluationAsync } from '../eval/protocol';
import { evalCodeDigest, modelKey } from '../eval/cache';
import { configHash } from '../experiment/params';
import { checkEvalJob, type EvalJob, type EvalJobResult } from './eval-job';
import { loadJobData } from './job-data';
import { readModelWeights } from './model-weights';

export interface RunEvalJobOptions {
  /** Attack batches done and total (cached attacks count at once). */
  onProgress?: (done: number, total: number, info: string) => void;
}

/** Evaluates `job` (or finds it cached); throws naming the mismatch when this process would key the cache differently. */
export async function runEvalJob(job: EvalJob, opts: RunEvalJobOptions = {}): Promise<EvalJobResult> {
  checkEvalJob(job);
  const backend = await initBackend(job.backend, { quiet: true });
  if (backend.name !== job.backend) throw new Error(`job ${job.label}: needs the ${job.backend} backend, this process runs ${backend.name}`);
  const data = await loadJobData(job.data);
  const model = createModel(job.model.spec, job.model.options);
  try {
    readModelWeights(model, job.model.weights);
    const mismatch = (what: string) => new Error(`job ${job.label}: this process keys the evaluation cache by another ${what} than the submitter ` +
      '(the worker\'s lib/ sources or data folder differ: same commit and GRADREG_DATA needed); nothing was evaluated');
    if (evalCodeDigest() !== job.expect.code) throw mismatch('code version');
    if (configHash(modelKey(model)) !== job.expect.model) throw mismatch('model');
    const { paperAttacks, ...rest } = job.options;
    const report = await strongEvaluationAsync(model, data, {
      ...rest, paperAttacks: paperAttacks?.map(buildAttack), quiet: true, cache: true,
      onProgress: (done, total) => opts.onProgress?.(done, total, `${job.options.threat} ${done}/${total}`),
    });
    return { key: job.key, results: report.results.length, cachedResults: report.cachedResults, seconds: report.seconds };
  } finally {
    model.dispose();
  }
}
