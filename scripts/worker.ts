// `npm run worker [-- --concurrency N]`: a queue worker for training jobs (README, "Run on a cluster").
// Needs GRADREG_REDIS_URL (the queue), GRADREG_DATA (the checkpoint folder the notebook uses, shared) and this repo at the
// notebook's commit after `npm ci`. Ctrl-C / SIGTERM stops it at once: its running jobs resume on another worker from
// their last epoch checkpoint once their locks expire (GRADREG_QUEUE_LOCK_MS), as after kill -9.
import { startQueueWorker } from '../lib/jobs/queue-worker';

const USAGE = 'usage: npm run worker [-- --concurrency N]   (env: GRADREG_REDIS_URL, GRADREG_DATA, GRADREG_QUEUE, GRADREG_BACKEND, ' +
  'GRADREG_WORKER_CONCURRENCY, GRADREG_QUEUE_LOCK_MS)';

function parseArgs(argv: string[]): { concurrency?: number } {
  const out: { concurrency?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    const m = a.match(/^--concurrency(?:=(.*))?$/);
    if (!m) throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    const v = m[1] ?? argv[++i];
    out.concurrency = Number(v);
    if (!(Number.isInteger(out.concurrency) && out.concurrency > 0)) throw new Error(`--concurrency must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return out;
}

(async () => {
  const { concurrency } = parseArgs(process.argv.slice(2));
  const w = await startQueueWorker({ concurrency, log: (s) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`) });
  // Stop now, as kill -9 would: a running training may have hours left. Its child processes exit with it (they watch
  // their IPC channel, lib/jobs/queue-processor.ts); the job's lock then expires and another worker resumes it from its
  // last epoch checkpoint. (A graceful BullMQ close would instead record the killed children as a failed attempt.)
  const stop = (sig: string) => {
    console.log(`${sig}: stopping now; running jobs (${w.concurrency} at most) return to the queue once their locks expire ` +
      `(${w.settings.lockMs} ms) and resume on another worker from their last epoch checkpoint`);
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
})().catch((e) => {
  console.error(`worker: ${(e as Error).message}`);
  process.exit(1);
});
