// Messages between the local runner (parent) and its worker processes, over node's IPC channel (JSON).
import type { Job, JobResult } from './runner';

export type ParentMessage = { type: 'job'; id: number; job: Job };

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: number; done: number; total: number; info: string }
  | { type: 'log'; id: number; text: string }
  | { type: 'done'; id: number; result: JobResult }
  | { type: 'error'; id: number; name: string; message: string; stack: string };
