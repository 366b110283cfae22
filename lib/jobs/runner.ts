// The one interface every job runner implements, and the registry trainMethods picks a runner from.
//
// A runner executes jobs (plain JSON: training, lib/jobs/job.ts, keyed by the checkpoint cache key; evaluation,
// lib/jobs/eval-job.ts) somewhere else than the caller's own loop and reports while they run. Contract:
// - run(jobs, events) resolves with one result per job, in the order given, once every job left its result in the caches
//   (checkpoints, evaluation cache: the data folder, GRADREG_DATA, which the runner's workers share with the caller);
// - events: onStart when a job begins on a worker, onProgress (steps done/total of that job, a short info string such as
//   "epoch 2/3 loss 0.41"), onLog for the trainer's messages, onFinish with its result;
// - a job that fails (bad config, divergence, a dead worker) does not stop jobs already running; no new job starts; run()
//   then rejects with a JobsFailedError naming every failed job by its label ("<method> (seed s)") and the cause;
// - run() leaves no process behind, whether it resolves, rejects or its caller's process exits.
// Runners: 'local' (lib/jobs/local-runner.ts: a pool of child processes on this machine); more (e.g. a queue) register
// themselves with registerJobRunner and are loaded by importing their module (lib/jobs/index.ts does).
import type { TrainJob, TrainJobResult } from './job';
import type { EvalJob, EvalJobResult } from './eval-job';

/** Any job a runner executes. */
export type Job = TrainJob | EvalJob;
export type JobResult = TrainJobResult | EvalJobResult;

export interface JobProgress {
  done: number;
  total: number;
  info: string;
  /** Where the job runs (e.g. "pid 1234" or "host/pid"), when the runner knows. */
  worker?: string;
}

export interface JobEvents {
  onStart?(job: Job, worker: string): void;
  onProgress?(job: Job, p: JobProgress): void;
  onLog?(job: Job, message: string): void;
  onFinish?(job: Job, result: JobResult): void;
}

export interface JobRunner {
  readonly name: string;
  /** How many jobs run at once (for messages; a queue runner may not know: undefined). */
  readonly concurrency?: number;
  run(jobs: readonly Job[], events?: JobEvents): Promise<JobResult[]>;
}

/** A job that failed: its label (method and seed) and the cause. */
export interface JobFailure {
  job: Job;
  message: string;
  /** The error's class name in the worker (e.g. DivergenceError, NonFiniteLossError), or 'WorkerExit' for a dead worker. */
  errorName: string;
}

const kindWord = (fs: JobFailure[]) => (fs.every((f) => f.job.kind === 'train') ? 'training ' : fs.every((f) => f.job.kind === 'eval') ? 'evaluation ' : '');

export class JobsFailedError extends Error {
  constructor(readonly failures: JobFailure[], readonly runner: string) {
    super(failures.length === 1
      ? `${failures[0].job.label} failed (${runner} runner): ${failures[0].errorName !== 'Error' ? `${failures[0].errorName}: ` : ''}${failures[0].message}`
      : `${failures.length} ${kindWord(failures)}jobs failed (${runner} runner):\n${failures.map((f) => `- ${f.job.label}: ${f.errorName !== 'Error' ? `${f.errorName}: ` : ''}${f.message}`).join('\n')}`);
    this.name = 'JobsFailedError';
  }
}

export type JobRunnerFactory = (opts: { concurrency?: number }) => JobRunner;

const RUNNERS = new Map<string, JobRunnerFactory>();

/** Makes `name` available to jobRunner() and to trainMethods({ runner: name }) / GRADREG_RUNNER=name. */
export function registerJobRunner(name: string, factory: JobRunnerFactory): void {
  RUNNERS.set(name, factory);
}

/** The runner called `name`; throws listing the registered ones. */
export function jobRunner(name: string, opts: { concurrency?: number } = {}): JobRunner {
  const f = RUNNERS.get(name);
  if (!f) throw new Error(`unknown job runner "${name}": use 'inline' or one of ${[...RUNNERS.keys()].join(', ')}`);
  return f(opts);
}

/** Registered runner names. */
export function jobRunners(): string[] {
  return [...RUNNERS.keys()];
}

/**
 * The runner asked for (the `runner` option of `where`, else GRADREG_RUNNER), or undefined for the automatic choice; throws for
 * a name that is neither 'inline' nor registered.
 */
export function requestedRunner(opt: string | undefined, where: string): string | undefined {
  const name = opt ?? (process.env.GRADREG_RUNNER || undefined);
  if (name !== undefined && name !== 'inline' && !RUNNERS.has(name)) {
    throw new Error(`${opt !== undefined ? `${where}: runner` : 'GRADREG_RUNNER'} "${name}" is not a job runner: use 'inline' or one of ${jobRunners().join(', ')}`);
  }
  return name;
}
