// The 'queue' job runner (lib/jobs/runner.ts): training and evaluation jobs go onto a BullMQ queue in Redis and any number of
// `npm run worker` processes, on this machine or others, run them. The BullMQ job id IS the cache key, so the same job
// submitted twice (a rerun, two notebooks) is one job. Progress comes from the queue's progress events. The results are
// checkpoints in the shared data folder (GRADREG_DATA); the caller loads them through the checkpoint cache, as after a
// local run.
//
// Redis is the queue, not the store: a finished result is a checkpoint on disk. Should Redis lose its state (a restart
// without its append-only file), a job that vanished is submitted again unless its finished checkpoint is already there,
// and a worker resumes it from its last epoch checkpoint. So states are also polled (pollMs): events sent while the
// connection was down are not replayed.
import * as path from 'node:path';
import type * as BullMQ from 'bullmq';
import type IORedisType from 'ioredis';
import { readCheckpointHeader } from '../train/checkpoint';
import { checkpointDir } from '../train/trainer';
import type { TrainJobResult } from './job';
import type { EvalJobResult } from './eval-job';
import { JobsFailedError, registerJobRunner, type Job, type JobEvents, type JobFailure, type JobResult, type JobRunner } from './runner';
import { queueSettings, redactedUrl, redisConnection, type QueueProgress, type QueueSettings } from './queue-config';

// Loaded on first use: every notebook imports lib/, few use the queue (bullmq + ioredis take ~0.5 s to load).
const bullmq = (): typeof BullMQ => require('bullmq') as typeof BullMQ;
const IORedis = (): typeof IORedisType => require('ioredis') as typeof IORedisType;

export interface QueueRunnerOptions {
  settings?: Partial<QueueSettings>;
  /** Lines for the notebook: the queue and its workers, jobs submitted again, failures (default console.log). */
  log?: (line: string) => void;
  /** How often the jobs' states are read besides the events (default 1000 ms). */
  pollMs?: number;
  /** How long Redis may take to answer at the start (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Stop waiting (the jobs stay on the queue: workers finish them and a rerun finds them cached). */
  signal?: AbortSignal;
}

const WEEK_S = 7 * 24 * 3600;

/** Fails fast, naming the fix, when Redis cannot be reached (BullMQ itself would wait for it forever). */
async function checkReachable(s: QueueSettings, timeoutMs: number): Promise<void> {
  const Redis = IORedis();
  const probe = new Redis({ ...redisConnection(s.url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => { /* reported below */ });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`cannot reach the job queue's Redis at ${redactedUrl(s.url)} (${(e as Error).message}): start it (\`redis-server --appendonly yes\`) ` +
      'or set GRADREG_REDIS_URL to a server every worker can reach; or run with GRADREG_RUNNER=local');
  } finally {
    probe.disconnect();
  }
}

/**
 * A finished result this machine can see on disk: a training job's finished checkpoint in this process's checkpoint folder. An
 * evaluation job has none to look for (its results are evaluation cache entries, which the caller reads anyway).
 */
function finishedOnDisk(job: Job): TrainJobResult | undefined {
  if (job.kind === 'eval') return undefined;
  const file = path.join(checkpointDir(), `${job.key}.ckpt`);
  const h = readCheckpointHeader(file);
  return h && h.key === job.key && h.done ? { key: job.key, checkpoint: file, trainSeconds: Number(h.meta.trainSeconds ?? 0) } : undefined;
}

/** The worker's error class from a BullMQ failedReason (queue-processor.ts writes "<Name>: <message>"). */
function failure(job: Job, reason: string): JobFailure {
  if (/stalled more than allowable limit/i.test(reason) || /Unexpected exit code/i.test(reason)) {
    return { job, errorName: 'WorkerExit', message: `its worker died (${reason}) on every try` };
  }
  const m = reason.match(/^([A-Z][A-Za-z]*Error): ([\s\S]*)$/);
  return m ? { job, errorName: m[1], message: m[2] } : { job, errorName: 'Error', message: reason || 'failed (no reason recorded)' };
}

/** Runs `jobs` on the queue's workers; resolves with their results in order, or rejects with JobsFailedError. */
export async function runOnQueue(jobs: readonly Job[], events: JobEvents = {}, opts: QueueRunnerOptions = {}): Promise<JobResult[]> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const settings = queueSettings(opts.settings);
  const byKey = new Map<string, Job>();
  for (const j of jobs) {
    if (byKey.has(j.key)) throw new Error(`queue runner: two jobs share the cache key ${j.key} (${j.label}): they would do the same work`);
    byKey.set(j.key, j);
  }
  if (jobs.length === 0) return [];
  await checkReachable(settings, opts.connectTimeoutMs ?? 5000);
  const { Queue, QueueEvents } = bullmq();
  const connection = redisConnection(settings.url);
  const queue = new Queue(settings.name, { connection });
  const queueEvents = new QueueEvents(settings.name, { connection });
  const results = new Map<string, JobResult>();
  const failures = new Map<string, JobFailure>();
  const withdrawn = new Set<string>();
  // Per job: the attempt its last progress event came from, and the bar's total and offset. A worker that resumes a job
  // another left counts only its remaining steps; the caller sees one count for the whole job (the bar's first total).
  const seen = new Map<string, { attempt: string; total: number; offset: number }>();
  // Progress events travel on their own connection and may trail the completion the poll saw: finish() fills the bar.
  const lastDone = new Map<string, number>();
  let wake: () => void = () => undefined;

  queueEvents.on('progress', ({ jobId, data }) => {
    const job = byKey.get(jobId);
    const p = data as Partial<QueueProgress> | undefined;
    if (!job || results.has(jobId) || failures.has(jobId) || !p || typeof p.done !== 'number' || typeof p.total !== 'number') return;
    let s = seen.get(jobId);
    if (!s || s.attempt !== p.attempt) {
      s = { attempt: p.attempt ?? '', total: s?.total ?? p.total, offset: s ? Math.max(0, s.total - p.total) : 0 };
      seen.set(jobId, s);
      events.onStart?.(job, p.worker ?? '?');
    }
    const done = Math.min(s.total, s.offset + p.done);
    lastDone.set(jobId, done);
    events.onProgress?.(job, { done, total: s.total, info: p.info ?? '', worker: p.worker });
  });
  queueEvents.on('completed', () => wake());
  queueEvents.on('failed', () => wake());
  // Connection trouble: ioredis reconnects by itself and the poll below carries on once Redis is back.
  queueEvents.on('error', () => undefined);
  queue.on('error', () => undefined);

  const add = (job: Job) => queue.add(job.kind, job as unknown as object, {
    jobId: job.key,
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: 2000 },
    // Kept a week for the workers' logs; the result itself is on disk (checkpoint, evaluation cache).
    removeOnComplete: { age: WEEK_S },
    removeOnFail: { age: WEEK_S },
  });
  const finish = (job: Job, r: JobResult) => {
    results.set(job.key, r);
    const s = seen.get(job.key);
    if (s && (lastDone.get(job.key) ?? 0) < s.total) events.onProgress?.(job, { done: s.total, total: s.total, info: 'done', worker: undefined });
    events.onFinish?.(job, r);
  };
  const fail = (job: Job, reason: string) => {
    failures.set(job.key, failure(job, reason));
    log(`${job.label}: failed on the queue: ${reason.split('\n')[0]}`);
  };

  // Reads one job's state and acts on it. `submitting`: the first look, before this run added anything.
  const check = async (job: Job, submitting: boolean): Promise<void> => {
    if (results.has(job.key) || failures.has(job.key) || withdrawn.has(job.key)) return;
    const bj = await queue.getJob(job.key);
    const state = bj ? await bj.getState() : 'missing';
    if (state === 'completed' && bj) {
      const rv = bj.returnvalue as JobResult | null;
      // Completed during this run: the worker's answer (also a run that ended at chance accuracy, whose last epoch the
      // trainer does not save as finished). Completed before it, without a finished result on disk now (a cleared cache, an
      // evaluation job): again (an evaluation worker then finds its attacks cached).
      // The checkpoint as this machine sees it: the shared folder may be mounted elsewhere on the worker.
      if (!submitting) {
        return finish(job, job.kind === 'train'
          ? { key: job.key, checkpoint: path.join(checkpointDir(), `${job.key}.ckpt`), trainSeconds: (rv as TrainJobResult | null)?.trainSeconds ?? 0 }
          : (rv as EvalJobResult | null) ?? { key: job.key, results: 0, cachedResults: 0, seconds: 0 });
      }
      const onDisk = finishedOnDisk(job);
      if (onDisk) return finish(job, onDisk);
      await bj.remove();
    } else if (state === 'failed' && bj) {
      // A failure left by an earlier run is not this run's answer: one fresh start. A failure of this run is final.
      if (!submitting) return fail(job, bj.failedReason ?? '');
      await bj.remove();
    } else if (state !== 'missing' && state !== 'unknown') {
      return; // waiting, active, delayed (a retry after backoff), prioritized: in hand
    } else if (!submitting) {
      const onDisk = finishedOnDisk(job);
      if (onDisk) return finish(job, onDisk);
      log(`${job.label}: the job vanished from the queue (Redis restarted without its append-only file?): submitted again; ` +
        (job.kind === 'train' ? 'it resumes from its last epoch checkpoint' : 'attacks it finished are cached'));
    }
    await add(job);
  };

  // After a failure no new job starts (the runner contract): this run's jobs still waiting are taken off the queue.
  const withdrawWaiting = async () => {
    for (const job of jobs) {
      if (results.has(job.key) || failures.has(job.key) || withdrawn.has(job.key)) continue;
      const bj = await queue.getJob(job.key);
      if (bj && (await bj.getState()) === 'waiting') {
        try { await bj.remove(); withdrawn.add(job.key); } catch { /* taken by a worker meanwhile: let it finish */ }
      }
    }
  };

  try {
    await queueEvents.waitUntilReady();
    // Each worker names its connections "<prefix>:<queue>:w:<host>:<pid>:<backend>" (lib/jobs/queue-worker.ts).
    const workers = (await queue.getWorkers()).map((w) => { const raw = String((w as { rawname?: string }).rawname ?? ''); return raw.includes(':w:') ? raw.slice(raw.indexOf(':w:') + 3) : 'unnamed'; });
    log(`queue ${settings.name} at ${redactedUrl(settings.url)}: ${jobs.length} job${jobs.length > 1 ? 's' : ''}; ` + (workers.length
      ? `workers: ${[...new Set(workers)].join(', ')}`
      : 'NO worker is connected yet: start one with `npm run worker` (the jobs wait in the queue until then)'));
    for (const job of jobs) await check(job, true);
    const pollMs = opts.pollMs ?? 1000;
    const signal = opts.signal;
    signal?.addEventListener('abort', () => wake(), { once: true });
    while (results.size + failures.size + withdrawn.size < jobs.length) {
      await new Promise<void>((r) => { const t = setTimeout(r, pollMs); wake = () => { clearTimeout(t); r(); }; });
      if (signal?.aborted) throw new Error('queue runner: stopped waiting (aborted); the jobs stay on the queue and their workers finish them');
      for (const job of jobs) await check(job, false);
      if (failures.size) await withdrawWaiting();
    }
  } finally {
    await Promise.allSettled([queueEvents.close(), queue.close()]);
  }
  if (failures.size) throw new JobsFailedError([...failures.values()], 'queue');
  return jobs.map((j) => results.get(j.key)!);
}

/** The 'queue' runner: GRADREG_REDIS_URL names the Redis server, GRADREG_QUEUE the queue (lib/jobs/queue-config.ts). */
export function queueRunner(opts: QueueRunnerOptions = {}): JobRunner {
  return { name: 'queue', concurrency: undefined, run: (jobs, events) => runOnQueue(jobs, events, opts) };
}

registerJobRunner('queue', () => queueRunner());
