// The code a queue worker runs for one job, in a child process of `npm run worker` (a BullMQ sandboxed processor: one child
// per concurrency slot, reused across jobs). Training in a child keeps the worker's main event loop free, so it renews its
// job locks on time however long a synchronous training step takes; a lock that is not renewed would hand the job to a
// second worker.
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import type { Job, JobResult } from './runner';
import { executeJob } from './execute';
import type { QueueProgress } from './queue-config';

// The worker's main process died (kill -9, a crash): stop now instead of training for nobody. Checkpoints are written
// atomically, so stopping at any moment leaves the last epoch's checkpoint whole; the job is retried elsewhere from it.
// Three ways to notice, since one is not enough: the 'disconnect' event; a check after every training step; and before
// BullMQ's own uncaughtException handler, which reports errors to the parent and, once the pipe is broken, fails (EPIPE),
// rejects and is called again, forever, at 100% CPU, starving the event loop so that 'disconnect' never comes and
// process.connected stays true (seen with kill -9 of a worker). What is always right: a new parent (the orphan's reaper).
const parent = process.ppid;
const orphaned = () => { if (process.ppid !== parent) process.exit(1); };
process.on('disconnect', () => process.exit(1));
process.prependListener('uncaughtException', (e) => {
  orphaned();
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'EPIPE' || code === 'ERR_IPC_CHANNEL_CLOSED') process.exit(1); // nobody to report to
});
// BullMQ's child lets a job finish on SIGTERM/SIGINT (Ctrl-C reaches the whole process group): a training may have hours
// left, so stop at once for the same reason.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.removeAllListeners(sig);
  process.on(sig, () => process.exit(sig === 'SIGTERM' ? 143 : 130));
}

/** Progress events per job, at most this often (each is a Redis write and a redraw in the notebook). */
const PROGRESS_EVERY_MS = 500;

export default async function processJob(job: SandboxedJob): Promise<JobResult> {
  const where = `${process.env.GRADREG_WORKER_ID ?? 'worker'}/${process.pid}`;
  // A line the worker's log shows (and the tests use to find this process).
  console.log(`job ${job.id} "${(job.data as { label?: string }).label ?? '?'}" attempt ${job.attemptsMade + 1} on pid ${process.pid}`);
  const attempt = `${where}/${Date.now()}`;
  let last = 0;
  let pending: Promise<void> = Promise.resolve();
  try {
    return await executeJob(job.data as Job, {
      onProgress: (done, total, info) => {
        orphaned();
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS && done < total) return;
        last = now;
        const p: QueueProgress = { done, total, info, worker: where, attempt };
        // Fire and forget, one at a time: a slow Redis must not stall training, and a lost bar update costs nothing.
        pending = pending.then(() => job.updateProgress(p as unknown as object)).catch(() => undefined);
      },
    });
  } catch (e) {
    throw transient(e) ? e : unrecoverable(e);
  } finally {
    await pending;
  }
}

/**
 * Errors that may pass on another try: the operating system's (file system on shared storage, network: they carry a
 * `code` such as EIO, ENOSPC, ECONNRESET). Everything else a training job throws is deterministic (a bad config, an
 * unknown term, divergence to NaN, a key mismatch): the same job on any worker fails the same way, so it fails once.
 */
export function transient(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && !['EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR'].includes(code);
}

function unrecoverable(e: unknown): UnrecoverableError {
  const err = e instanceof Error ? e : new Error(String(e));
  // "<Name>: <message>": the notebook's side reads the worker's error class back from BullMQ's failedReason.
  const name = /^[A-Z][A-Za-z]*Error$/.test(err.constructor?.name ?? '') ? err.constructor.name : /^[A-Z][A-Za-z]*Error$/.test(err.name) ? err.name : 'Error';
  const u = new UnrecoverableError(`${name}: ${err.message}`);
  u.stack = err.stack;
  return u;
}
