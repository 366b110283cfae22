// A queue worker (`npm run worker`): takes training jobs from the BullMQ queue and runs each in a child process
// (lib/jobs/queue-processor.ts), `concurrency` at a time: one per core by default, since a wasm backend uses one core.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'bullmq';
import { describeBackend, initBackend, type BackendReport } from '../backend';
import { dataDir } from '../data/paths';
import { ensureWritableDir } from '../util/writable';
import { queueSettings, redactedUrl, redisConnection, type QueueSettings } from './queue-config';
import { checkpointDir } from '../train/trainer';

export interface QueueWorkerOptions {
  settings?: Partial<QueueSettings>;
  /** Jobs at a time (child processes); default GRADREG_WORKER_CONCURRENCY, else the number of cores. */
  concurrency?: number;
  /** Where the worker's lines go (default console.log). */
  log?: (line: string) => void;
}

export interface QueueWorker {
  worker: Worker;
  settings: QueueSettings;
  concurrency: number;
  backend: BackendReport;
  /** What it printed on start: queue, Redis, backend, concurrency, data folder. */
  banner: string;
  /** Stops taking jobs and waits for the running ones to finish (scripts/worker.ts exits at once on a signal instead). */
  close(): Promise<void>;
}

/** The worker's name as Redis lists it (CLIENT LIST; Queue.getWorkers): host, pid, backend. */
export function workerId(backend: string): string {
  return `${os.hostname()}:${process.pid}:${backend}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

export async function startQueueWorker(opts: QueueWorkerOptions = {}): Promise<QueueWorker> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const settings = queueSettings(opts.settings);
  const envConc = process.env.GRADREG_WORKER_CONCURRENCY;
  const concurrency = opts.concurrency ?? (envConc ? Number(envConc) : os.availableParallelism());
  if (!(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new Error(`worker concurrency must be a positive integer (jobs at a time), got ${JSON.stringify(envConc ?? concurrency)} (GRADREG_WORKER_CONCURRENCY or --concurrency)`);
  }
  // Fail before taking a job: the backend (what every job of this worker trains on) and the shared folders.
  const backend = await initBackend(undefined, { quiet: true });
  ensureWritableDir(checkpointDir(), 'the checkpoint folder', 'set GRADREG_DATA to a writable folder shared with the notebook');
  const id = workerId(backend.name);
  // The children inherit the environment: they name themselves after this process in progress events.
  process.env.GRADREG_WORKER_ID = id;
  const worker = new Worker(settings.name, path.join(__dirname, 'queue-processor.ts'), {
    connection: redisConnection(settings.url),
    concurrency,
    name: id,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: settings.maxStalled,
    autorun: false,
    // Jobs of one backend only: the cache key holds the backend family, and each job checks it was keyed for this one.
    useWorkerThreads: false,
  });
  worker.on('active', (job) => log(`started ${job.id} (${(job.data as { label?: string }).label ?? '?'})`));
  worker.on('completed', (job) => log(`completed ${job.id} (${(job.data as { label?: string }).label ?? '?'})`));
  worker.on('failed', (job, err) => log(`failed ${job?.id ?? '?'} (${(job?.data as { label?: string } | undefined)?.label ?? '?'}): ${err.message.split('\n')[0]}`));
  worker.on('stalled', (jobId) => log(`job ${jobId} was abandoned by a worker that stopped renewing its lock: back in the queue`));
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  await worker.waitUntilReady();
  const banner = [
    `gradreg worker ${id}`,
    `  queue ${settings.name} at ${redactedUrl(settings.url)}`,
    `  ${describeBackend(backend).replace(/^gradreg: /, '')}`,
    '  (a job trains on the backend its notebook used: its cache key says which)',
    `  ${concurrency} job${concurrency > 1 ? 's' : ''} at a time (${os.availableParallelism()} cores here)`,
    `  data folder ${dataDir()} (must be the notebook's, shared)`,
    `  lock ${settings.lockMs} ms, stalled check every ${settings.stalledMs} ms`,
  ].join('\n');
  log(banner);
  void worker.run();
  return {
    worker, settings, concurrency, backend, banner,
    close: () => worker.close(),
  };
}
