// What a worker (a local worker process, a queue worker's child) does with any job: train or evaluate.
import { runTrainJob } from './run-job';
import { runEvalJob } from './run-eval-job';
import type { Job, JobResult } from './runner';

export interface ExecuteOptions {
  onProgress?: (done: number, total: number, info: string) => void;
  /** The trainer's messages (resume, cache and check warnings). */
  log?: (message: string) => void;
}

export function executeJob(job: Job, opts: ExecuteOptions = {}): Promise<JobResult> {
  switch (job.kind) {
    case 'eval': return runEvalJob(job, { onProgress: opts.onProgress });
    default: return runTrainJob(job, opts);
  }
}
