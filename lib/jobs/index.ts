// Training jobs: a (method, seed) -> checkpoint unit of work as plain JSON, and the runners that execute it elsewhere.
// Importing this file registers every runner (each runner module calls registerJobRunner).
export * from './job';
export * from './runner';
export { jobData, jobDataDir, loadJobData } from './job-data';
export { buildTerm, serializableRecipe, TERM_FACTORIES } from './term-factories';
export { makeTrainJob, type JobSource } from './make-job';
export { runTrainJob, type RunTrainJobOptions } from './run-job';
export { LocalRunner, defaultConcurrency } from './local-runner';
export { queueRunner, runOnQueue, type QueueRunnerOptions } from './queue-runner'; // registers the 'queue' runner (BullMQ on Redis)
