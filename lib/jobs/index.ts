// Jobs: training ((method, seed) -> checkpoint) and evaluation (model x threat -> evaluation cache) as plain JSON, and the
// runners that execute them elsewhere.
// Importing this file registers every runner (each runner module calls registerJobRunner).
export * from './job';
export * from './runner';
export { jobData, jobDataDir, loadJobData } from './job-data';
export { buildTerm, serializableRecipe, TERM_FACTORIES } from './term-factories';
export { makeTrainJob, type JobSource } from './make-job';
export { runTrainJob, type RunTrainJobOptions } from './run-job';
export * from './eval-job';
export { makeEvalJob, type EvalJobSource } from './make-eval-job';
export { runEvalJob, type RunEvalJobOptions } from './run-eval-job';
export { executeJob } from './execute';
export { writeModelWeights, readModelWeights } from './model-weights';
export { LocalRunner, defaultConcurrency } from './local-runner';
export { queueRunner, runOnQueue, type QueueRunnerOptions } from './queue-runner'; // registers the 'queue' runner (BullMQ on Redis)
