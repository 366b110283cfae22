// The 'local' job runner: a pool of child processes on this machine, one job at a time each. A child loads tfjs and lib on
// its own (its own wasm backend and thread), so N children use N cores where one process would use one.
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataDir } from '../data/paths';
import type { ParentMessage, WorkerMessage } from './local-protocol';
import { JobsFailedError, registerJobRunner, type Job, type JobEvents, type JobFailure, type JobResult, type JobRunner } from './runner';

const ENTRY = path.join(__dirname, 'local-worker.cjs');
/** Lines of a worker's output kept for the message when it dies. */
const TAIL_LINES = 20;

/** Worker processes by default: GRADREG_JOBS when set (a positive integer), else the number of cores. */
export function defaultConcurrency(): number {
  const raw = process.env.GRADREG_JOBS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`GRADREG_JOBS must be a positive integer (worker processes), got ${JSON.stringify(raw)}`);
    return n;
  }
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

// Children still running, killed if this process exits first (an uncaught error, process.exit in a script).
const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
  }
}

/** One child process; run() sends it a job and settles with the job's result, its error, or the child's death. */
class Worker {
  readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly ready: Promise<void>;
  private current?: { id: number; job: Job; resolve: (r: JobResult) => void; reject: (f: JobFailure) => void; events: JobEvents };
  private exited?: string;
  private nextId = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = fork(ENTRY, [], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    track(this.child);
    const keep = (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.trim()) this.tail.push(l);
      this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES));
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') { resolve(); return; }
        const c = this.current;
        if (!c || m.id !== c.id) return;
        if (m.type === 'progress') c.events.onProgress?.(c.job, { done: m.done, total: m.total, info: m.info, worker: `pid ${this.child.pid}` });
        else if (m.type === 'log') c.events.onLog?.(c.job, m.text);
        else if (m.type === 'done') { this.current = undefined; c.resolve(m.result); }
        else if (m.type === 'error') { this.current = undefined; c.reject({ job: c.job, errorName: m.name, message: m.message }); }
      });
      this.child.once('exit', (code, signal) => {
        this.exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const why = `its worker process (pid ${this.child.pid}) ${this.exited}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}` +
          `${this.tail.length ? `; its last output:\n${this.tail.join('\n')}` : ''}`;
        reject(new Error(why));
        const c = this.current;
        this.current = undefined;
        c?.reject({ job: c.job, errorName: 'WorkerExit', message: why });
      });
      this.child.once('error', (e) => reject(e));
    });
    this.ready.catch(() => undefined); // reported through run()
  }

  async run(job: Job, events: JobEvents): Promise<JobResult> {
    try {
      await this.ready;
    } catch (e) {
      throw { job, errorName: 'WorkerExit', message: (e as Error).message } satisfies JobFailure;
    }
    if (this.exited) throw { job, errorName: 'WorkerExit', message: `its worker process ${this.exited}` } satisfies JobFailure;
    const id = this.nextId++;
    return new Promise<JobResult>((resolve, reject) => {
      this.current = { id, job, resolve, reject, events };
      events.onStart?.(job, `pid ${this.child.pid}`);
      const m: ParentMessage = { type: 'job', id, job };
      this.child.send(m);
    });
  }

  /** Ends the child (closing the channel makes it exit) and waits for it. */
  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      if (this.child.connected) this.child.disconnect();
      else this.child.kill('SIGTERM');
    });
  }
}

export class LocalRunner implements JobRunner {
  readonly name = 'local';
  readonly concurrency: number;

  constructor(opts: { concurrency?: number } = {}) {
    this.concurrency = opts.concurrency ?? defaultConcurrency();
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new Error(`local runner: concurrency must be a positive integer, got ${this.concurrency}`);
  }

  async run(jobs: readonly Job[], events: JobEvents = {}): Promise<JobResult[]> {
    const results: JobResult[] = new Array(jobs.length);
    const failures: JobFailure[] = [];
    const n = Math.min(this.concurrency, jobs.length);
    // Each child gets its share of the cores for the kernels' own threads (a data-parallel step), unless the user set it.
    const env: NodeJS.ProcessEnv = {
      ...process.env, GRADREG_DATA: dataDir(), GRADREG_QUIET: '1', GRADREG_RUNNER: 'inline', GRADREG_JOBS: '1',
      GRADREG_THREADS: process.env.GRADREG_THREADS ?? String(Math.max(1, Math.floor(defaultConcurrency() / n))),
    };
    let next = 0;
    let interrupted = false;
    const workers = Array.from({ length: n }, () => new Worker(env));
    // A notebook's interrupt: tslab handles SIGINT by abandoning the cell, and without this the pool would go on training
    // (and starting jobs) for nobody. Stop the workers; their last epoch checkpoints stay, a rerun resumes from them. Only
    // where someone already handles SIGINT: in a plain script, Ctrl-C must keep ending the process (its children get it too).
    const onInterrupt = () => {
      interrupted = true;
      for (const w of workers) w.child.kill('SIGTERM');
    };
    const handled = process.listenerCount('SIGINT') > 0;
    if (handled) process.on('SIGINT', onInterrupt);
    const loop = async (w: Worker) => {
      try {
        while (!interrupted && failures.length === 0 && next < jobs.length) {
          const i = next++;
          try {
            results[i] = await w.run(jobs[i], events);
            events.onFinish?.(jobs[i], results[i]);
          } catch (f) {
            failures.push(f as JobFailure);
          }
        }
      } finally {
        await w.close();
      }
    };
    try {
      await Promise.all(workers.map(loop));
    } finally {
      if (handled) process.off('SIGINT', onInterrupt);
    }
    if (interrupted) throw new Error(`interrupted: the ${n} worker process${n > 1 ? 'es were' : ' was'} stopped; finished runs and the last epoch of each unfinished one are in the checkpoint cache (a rerun resumes)`);
    if (failures.length) throw new JobsFailedError(failures, this.name);
    return results;
  }
}

registerJobRunner('local', (opts) => new LocalRunner(opts));
