// Runs one training job in this process: rebuild data, model and terms from the job, check the cache key, train through the
// checkpoint cache. What a local worker process and a queue worker call; also usable directly (tests, debugging a job).
import { initBackend } from '../backend';
import { createModel } from '../models/zoo';
import { train } from '../train/trainer';
import { trainKey } from '../train/cache-key';
import { checkTrainJob, type TrainJob, type TrainJobResult } from './job';
import { loadJobData } from './job-data';
import { buildTerm } from './term-factories';

export interface RunTrainJobOptions {
  /** After every training step: steps done and total of this run (a resumed run counts from its checkpoint). */
  onProgress?: (done: number, total: number, info: string) => void;
  /** The trainer's messages (resume, cache and check warnings). Default console.log. */
  log?: (message: string) => void;
}

/** Trains `job` (or finds it already cached); throws the trainer's error (e.g. DivergenceError) when training fails. */
export async function runTrainJob(job: TrainJob, opts: RunTrainJobOptions = {}): Promise<TrainJobResult> {
  checkTrainJob(job);
  const backend = await initBackend(job.backend, { quiet: true });
  if (backend.name !== job.backend) throw new Error(`job ${job.label}: needs the ${job.backend} backend, this process runs ${backend.name}`);
  const data = await loadJobData(job.data);
  const model = createModel(job.model, { inputShape: data.shape, numClasses: data.classNames.length, seed: job.seed });
  try {
    const terms = job.terms.map(buildTerm);
    const key = trainKey(model, data, job.train, { terms, modelKey: job.modelKey });
    if (key !== job.key) {
      throw new Error(`job ${job.label}: this process computes the cache key ${key}, the submitter ${job.key}: the worker's lib/ sources, ` +
        'backend or data differ from the submitter\'s (same commit and GRADREG_DATA needed); nothing was trained');
    }
    const r = await train(model, data, job.train, { terms, modelKey: job.modelKey, cache: true, quiet: true, log: opts.log, onProgress: opts.onProgress });
    return { key: r.key, checkpoint: r.checkpoint, trainSeconds: r.trainSeconds };
  } finally {
    model.dispose();
  }
}
