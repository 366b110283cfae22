// Where the job queue is and how it treats faults: one place for both sides (the notebook's queue runner,
// lib/jobs/queue-runner.ts, and `npm run worker`, lib/jobs/queue-worker.ts), so they agree on the Redis server, the queue
// name and the timings. Environment: GRADREG_REDIS_URL (required), GRADREG_QUEUE, GRADREG_QUEUE_LOCK_MS.
import type { ConnectionOptions } from 'bullmq';

export interface QueueSettings {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). */
  url: string;
  /** The BullMQ queue name; runs that share one Redis but not one checkpoint folder must use different names. */
  name: string;
  /**
   * How long a worker's claim on a job lasts unless renewed (BullMQ lockDuration; renewed every half of it by the worker's
   * main process, whose event loop is free because training runs in a child process). A worker killed with kill -9 stops
   * renewing: after at most lockMs + stalledMs its job is moved back to the queue and another worker resumes it.
   */
  lockMs: number;
  /** How often workers look for such abandoned jobs (BullMQ stalledInterval). */
  stalledMs: number;
  /** A job abandoned this many times (workers dying under it) fails instead of going round forever. */
  maxStalled: number;
  /** Tries for a job failing for a reason that may pass (a file system or connection error); deterministic errors get one. */
  attempts: number;
}

/** What a worker sends as a job's progress (BullMQ progress event) and the notebook draws. */
export interface QueueProgress {
  /** Training steps done and total of this attempt (a resumed attempt counts from its checkpoint). */
  done: number;
  total: number;
  info: string;
  /** The worker (host:pid:backend/child pid), shown next to the bar. */
  worker: string;
  /** Different for each attempt (a job abandoned by a dead worker is resumed by another: a new attempt). */
  attempt: string;
}

export const QUEUE_DEFAULTS = { name: 'gradreg-train', lockMs: 30_000, maxStalled: 3, attempts: 3 } as const;

/** The settings from `overrides`, then the environment, then QUEUE_DEFAULTS; checks each with a message naming the fix. */
export function queueSettings(overrides: Partial<QueueSettings> = {}): QueueSettings {
  const url = overrides.url ?? process.env.GRADREG_REDIS_URL ?? '';
  if (!url) {
    throw new Error('the job queue needs a Redis server: set GRADREG_REDIS_URL (e.g. redis://127.0.0.1:6379; start one with ' +
      '`redis-server --appendonly yes`) for the notebook and for every `npm run worker`; see the README, "Run on a cluster"');
  }
  redisConnection(url); // validates the URL
  const name = overrides.name ?? process.env.GRADREG_QUEUE ?? QUEUE_DEFAULTS.name;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`queue name ${JSON.stringify(name)} (GRADREG_QUEUE): use letters, digits, '_', '.' and '-'`);
  const envLock = process.env.GRADREG_QUEUE_LOCK_MS;
  const lockMs = overrides.lockMs ?? (envLock ? Number(envLock) : QUEUE_DEFAULTS.lockMs);
  if (!(Number.isInteger(lockMs) && lockMs >= 1000)) throw new Error(`GRADREG_QUEUE_LOCK_MS must be an integer number of milliseconds >= 1000, got ${JSON.stringify(envLock ?? lockMs)}`);
  const s: QueueSettings = {
    url, name, lockMs, stalledMs: overrides.stalledMs ?? lockMs, maxStalled: overrides.maxStalled ?? QUEUE_DEFAULTS.maxStalled,
    attempts: overrides.attempts ?? QUEUE_DEFAULTS.attempts,
  };
  for (const k of ['stalledMs', 'maxStalled', 'attempts'] as const) {
    if (!(Number.isInteger(s[k]) && s[k] > 0)) throw new Error(`queue settings: ${k} must be a positive integer, got ${JSON.stringify(s[k])}`);
  }
  return s;
}

/** ioredis options for a redis:// or rediss:// URL (BullMQ requires maxRetriesPerRequest null: commands wait out a restart). */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try { u = new URL(url); } catch { throw new Error(`GRADREG_REDIS_URL ${JSON.stringify(url)} is not a URL: write redis://host:6379 (or rediss:// for TLS)`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`GRADREG_REDIS_URL ${JSON.stringify(url)}: the scheme must be redis:// or rediss://`);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new Error(`GRADREG_REDIS_URL ${JSON.stringify(url)}: the path must be a database number (redis://host:6379/0)`);
  return {
    host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}
