// The loop of a local job worker process: receive a job over the IPC channel, run it, report progress, messages and the
// result or the error. One job at a time; the parent sends the next when this one is done.
import { executeJob } from './execute';
import type { Job } from './runner';
import type { WorkerMessage, ParentMessage } from './local-protocol';

const send = (m: WorkerMessage) => { if (process.connected) process.send!(m); };

// The parent went away (finished, crashed, killed, kernel restarted): nothing to report to, stop now. A checkpoint is written
// atomically, so stopping anywhere keeps the last epoch's checkpoint whole, and a rerun resumes from it.
process.on('disconnect', () => process.exit(0));

const PROGRESS_EVERY_MS = 200;

process.on('message', (m: ParentMessage) => {
  if (m.type !== 'job') return;
  void run(m.id, m.job);
});

async function run(id: number, job: Job): Promise<void> {
  let last = 0;
  try {
    const result = await executeJob(job, {
      log: (text) => send({ type: 'log', id, text }),
      onProgress: (done, total, info) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS && done < total) return;
        last = now;
        send({ type: 'progress', id, done, total, info });
      },
    });
    send({ type: 'done', id, result });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    send({ type: 'error', id, name: err.name === 'Error' ? err.constructor.name : err.name, message: err.message, stack: err.stack ?? '' });
  }
}

send({ type: 'ready', pid: process.pid });
