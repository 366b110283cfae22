// One tfjs job of the bench's `--threads N` (N > 1): a worker thread with its own backend and its own copy of a workload,
// stepping when the main thread says so. N of them at once measure the parallel-jobs path (independent runs, e.g. methods x
// seeds), the only way tfjs uses more than one core in Node: the wasm backend has no threads there.
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { initBackend } from '../lib/backend';
import { createWorkload, type WorkloadName } from './workloads';

export interface JobData { workload: WorkloadName; batch: number; seed: number; backend: string }
type Request = { op: 'run'; repeats: number } | { op: 'stop' };
export type Reply = { op: 'ready' } | { op: 'ran'; ms: number[] } | { op: 'error'; message: string };

/** Starts a job worker (TypeScript through tsx's CommonJS hook, as the bench itself runs). */
export function startJob(data: JobData): Worker {
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: data });
}

async function serve(port: NonNullable<typeof parentPort>, data: JobData): Promise<void> {
  await initBackend(data.backend, { quiet: true });
  const w = createWorkload(data.workload, data.batch, data.seed);
  port.on('message', (req: Request) => {
    try {
      if (req.op === 'stop') { w.dispose(); port.close(); return; }
      const ms: number[] = [];
      for (let i = 0; i < req.repeats; i++) {
        const t0 = performance.now();
        const out = w.step(); out.dataSync(); out.dispose();
        ms.push(performance.now() - t0);
      }
      port.postMessage({ op: 'ran', ms } satisfies Reply);
    } catch (e) {
      port.postMessage({ op: 'error', message: (e as Error).message } satisfies Reply);
    }
  });
  port.postMessage({ op: 'ready' } satisfies Reply);
}

if (parentPort && workerData && (workerData as JobData).workload) {
  const port = parentPort;
  serve(port, workerData as JobData).catch((e: Error) => port.postMessage({ op: 'error', message: e.message } satisfies Reply));
}
