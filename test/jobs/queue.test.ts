// The 'queue' runner end to end on one machine: a private redis-server and two `npm run worker` processes started here.
// trainMethods on the queue returns what an inline run does (same checkpoints, same weights); the same job submitted
// twice runs once; a deterministic failure fails once and withdraws the run's waiting jobs; two workers training the same checkpoint at once leave the same
// file; Redis killed and restarted EMPTY mid-run loses no finished result; a worker stopped by SIGTERM (Ctrl-C) or
// killed with kill -9 mid-job hands it to the other, which resumes from the last epoch checkpoint. Identical = same payload bytes and header but wall times.
// Timings (lib/jobs/queue-config.ts): lock 2 s, stalled check every 2 s, so a dead worker's job moves within ~4 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { useBackend } from '../helpers';
import { runOnQueue } from '../../lib/jobs/queue-runner';
import { redisConnection, type QueueSettings } from '../../lib/jobs/queue-config';
import { JobsFailedError, type JobEvents, type JobProgress } from '../../lib/jobs/runner';
import type { TrainJob } from '../../lib/jobs/job';
import { loadCheckpoint, readCheckpointHeader } from '../../lib/train/checkpoint';
import { alive, redisMissing, startRedis, startWorker, stop, stopAll, type LocalRedis, type WorkerProcess } from './queue-harness';
import { fingerprint, jobFor, SPEC, tinyTrain, trainInline, type Case } from './queue-fixtures';
import { loadDataset } from '../../lib/data/index';
import { crossEntropyTerm } from '../../lib/train/terms';
import { doubleBackprop } from '../../lib/regularizers/input-gradient';
import { trainMethods, type Method, type TrainedModel } from '../../lib/experiment/methods';
import { fgsm } from '../../lib/attacks/index';
import { strongEvaluations } from '../../lib/eval/strong-evaluations';
import type { StrongReport } from '../../lib/eval/protocol';

const skip = redisMissing();
const queueData = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-queue-'));
const inlineData = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-inline-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` with GRADREG_DATA = `dir` (the checkpoint folder this process reads and writes). */
async function inData<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = process.env.GRADREG_DATA;
  process.env.GRADREG_DATA = dir;
  try { return await fn(); } finally { process.env.GRADREG_DATA = prev; }
}

/** Events recorded per job label. */
function recorder() {
  const starts: Record<string, string[]> = {};
  const progress: Record<string, JobProgress[]> = {};
  const events: JobEvents = {
    onStart: (j, w) => { (starts[j.label] ??= []).push(w); },
    onProgress: (j, p) => { (progress[j.label] ??= []).push(p); },
  };
  return { starts, progress, events };
}

describe('job queue: BullMQ on a local redis-server, two worker processes', { skip: skip || undefined }, () => {
  let redis: LocalRedis;
  let settings: Partial<QueueSettings>;
  let env: Record<string, string>;
  const workers: WorkerProcess[] = [];
  // Ends every wait of a runOnQueue a failed test left behind, so the after hook can stop everything.
  const abort = new AbortController();
  const signal = abort.signal;
  // How often the workers logged `what` ('started <key>', 'completed <key>').
  const logged = (what: string) => workers.reduce((n, w) => n + (w.output().match(new RegExp(`${what}\\b`, 'g'))?.length ?? 0), 0);
  const started = (key: string) => logged(`started ${key}`);

  before(async () => {
    await useBackend('wasm');
    redis = await startRedis({ appendonly: true });
    settings = { url: redis.url, name: `test-${process.pid}`, lockMs: 2000 };
    env = {
      GRADREG_REDIS_URL: redis.url, GRADREG_QUEUE: settings.name!, GRADREG_QUEUE_LOCK_MS: '2000', GRADREG_DATA: queueData,
      GRADREG_WORKER_CONCURRENCY: '1', GRADREG_BACKEND: 'wasm', GRADREG_QUIET: '1',
    };
    workers.push(startWorker(env), startWorker(env));
    await Promise.all(workers.map((w) => w.waitFor(/gradreg worker/)));
  });
  after(async () => {
    abort.abort();
    await stopAll();
    for (const d of [queueData, inlineData, redis?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  test('workers report their backend, queue and concurrency', () => {
    for (const w of workers) assert.match(w.output(), /gradreg worker .*:wasm\n.*queue test-\d+ at redis:\/\/127\.0\.0\.1:\d+\n.*using the wasm backend \(forced\)\n.*backend its notebook used.*\n\s+1 job at a time/);
  });

  test("trainMethods with runner 'queue': the TrainedModel list and checkpoints of an inline run", async () => {
    const methods: Method[] = [
      { id: 'ce', label: 'CE', terms: () => [crossEntropyTerm()] },
      { id: 'db', label: 'Double backprop', terms: () => [crossEntropyTerm(), doubleBackprop({ weight: 0.1 })] },
    ];
    const data = (await loadDataset('mnist')).take(128, { seed: 4, nTest: 32 });
    const { seed: _seed, ...train } = tinyTrain(0);
    const opts = { data, model: SPEC, seeds: [1, 2], train };
    const inlineLog: string[] = [];
    const inline = await inData(inlineData, () => trainMethods(methods, { ...opts, runner: 'inline', log: (l) => inlineLog.push(l) }));
    const queueLog: string[] = [];
    const env0 = { ...process.env };
    Object.assign(process.env, { GRADREG_REDIS_URL: redis.url, GRADREG_QUEUE: settings.name, GRADREG_QUEUE_LOCK_MS: '2000' });
    let queued: TrainedModel[];
    // The runner's own lines (queue, workers) go to console.log, the notebook's output.
    const consoleLog = console.log;
    console.log = (...a: unknown[]) => { queueLog.push(a.join(' ')); };
    try {
      queued = await inData(queueData, () => trainMethods(methods, { ...opts, runner: 'queue', log: (l) => queueLog.push(l) }));
    } finally {
      console.log = consoleLog;
      for (const k of ['GRADREG_REDIS_URL', 'GRADREG_QUEUE', 'GRADREG_QUEUE_LOCK_MS']) if (env0[k] === undefined) delete process.env[k]; else process.env[k] = env0[k];
    }
    assert.match(queueLog.join('\n'), /training 4 runs on the queue runner/);
    assert.match(queueLog.join('\n'), /workers: [^,\n]+:\d+:wasm, [^,\n]+:\d+:wasm$/m, 'the two workers and their backend');
    assert.equal(queued.length, inline.length);
    queued.forEach((b, i) => {
      const a = inline[i];
      assert.deepEqual([b.method.id, b.seed, b.result.key, b.result.fromCache], [a.method.id, a.seed, a.result.key, false]);
      assert.equal(path.dirname(b.result.checkpoint), path.join(queueData, 'checkpoints'));
      assert.deepEqual(fingerprint(b.result.checkpoint), fingerprint(a.result.checkpoint), `${a.method.label} seed ${a.seed}: identical checkpoint`);
      assert.deepEqual(b.model.variables.map((v) => Array.from(v.dataSync())), a.model.variables.map((v) => Array.from(v.dataSync())));
      assert.equal(started(b.result.key), 1, 'one job per run');
    });
    assert.ok(workers.every((w) => /started /.test(w.output())), 'both workers took jobs');
    for (const t of [...inline, ...queued]) t.model.dispose();
  });

  test("strongEvaluations with runner 'queue': evaluation jobs fill the cache, the reports are the inline ones", async () => {
    const data = (await loadDataset('mnist')).take(128, { seed: 5, nTest: 32 });
    const { seed: _seed, ...train } = tinyTrain(0);
    const trained = await inData(inlineData, () => trainMethods([{ id: 'ce', label: 'CE', terms: () => [crossEntropyTerm()] }],
      { data, model: SPEC, seeds: [3, 4], train, runner: 'inline', log: () => undefined }));
    const items = trained.map((t, i) => ({ label: `CE ${i}`, model: t.model,
      options: { threat: 'linf' as const, eps: [0.1], n: 16, budget: 'smoke' as const, paperAttacks: (e: number) => fgsm({ eps: e }) } }));
    const inline = await inData(inlineData, () => strongEvaluations(items, data, { runner: 'inline' }));
    const env0 = { ...process.env };
    Object.assign(process.env, { GRADREG_REDIS_URL: redis.url, GRADREG_QUEUE: settings.name, GRADREG_QUEUE_LOCK_MS: '2000' });
    const log: string[] = [];
    let queued: StrongReport[];
    const consoleLog = console.log;
    console.log = (...a: unknown[]) => { log.push(a.join(' ')); };
    try {
      queued = await inData(queueData, () => strongEvaluations(items, data, { runner: 'queue', log: (l) => log.push(l) }));
    } finally {
      console.log = consoleLog;
      for (const k of ['GRADREG_REDIS_URL', 'GRADREG_QUEUE', 'GRADREG_QUEUE_LOCK_MS']) if (env0[k] === undefined) delete process.env[k]; else process.env[k] = env0[k];
    }
    assert.match(log.join('\n'), /evaluating: 2 jobs \(model x threat\) on the queue runner/);
    queued.forEach((q, i) => {
      assert.equal(q.cachedResults, q.results.length, 'every attack was run by a worker');
      assert.deepEqual(q.results.map((r) => Array.from(r.correct)), inline[i].results.map((r) => Array.from(r.correct)));
      assert.deepEqual(Array.from(q.byEps[0].worst.correct), Array.from(inline[i].byEps[0].worst.correct));
    });
    for (const t of trained) t.model.dispose();
  });

  test('the same jobs submitted twice at once run once each (the job id is the cache key); progress reaches the caller', async () => {
    const cases: Case[] = [{ method: 'ce', seed: 21, train: tinyTrain(21) }, { method: 'db', seed: 21, train: tinyTrain(21) }];
    const jobs = await inData(queueData, () => Promise.all(cases.map(jobFor)));
    const a = recorder();
    const b = recorder();
    const [ra, rb] = await inData(queueData, () => Promise.all([runOnQueue(jobs, a.events, { settings, signal, log: () => undefined }), runOnQueue(jobs, b.events, { settings, signal, log: () => undefined })]));
    assert.deepEqual(ra.map((r) => r.key), jobs.map((j) => j.key));
    assert.deepEqual(rb.map((r) => r.key), jobs.map((j) => j.key));
    for (const j of jobs) {
      assert.equal(started(j.key), 1, `${j.label} ran once`);
      for (const r of [a, b]) {
        const p = r.progress[j.label];
        assert.ok(p?.length && p[p.length - 1].done === p[p.length - 1].total, `${j.label}: progress events up to the end`);
        assert.match(p[0].worker ?? '', /:wasm\/\d+$/);
      }
    }
  });

  test('a deterministic failure (bad config, divergence) fails once, with its error, not retried', async () => {
    const bad: Case[] = [
      { method: 'ce', seed: 7, train: tinyTrain(7, { batchSize: 1000 }) },
      { method: 'ce', seed: 8, train: tinyTrain(8, { optimizer: { kind: 'adam', lr: 1e6 } }) },
    ];
    const expect = [/batchSize.*larger than the 128 training examples/, /DivergenceError|NonFiniteLossError/];
    for (const [i, c] of bad.entries()) {
      const job = await inData(queueData, () => jobFor(c));
      const err = await inData(queueData, () => runOnQueue([job], {}, { settings, signal, log: () => undefined })).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof JobsFailedError, `rejects with JobsFailedError, got ${String(err)}`);
      assert.equal(err.failures.length, 1);
      assert.match(`${err.failures[0].errorName}: ${err.failures[0].message}`, expect[i]);
      assert.match(err.message, new RegExp(`${job.label.replace(/[()]/g, '\\$&')} failed \\(queue runner\\)`));
      const q = new Queue(settings.name!, { connection: redisConnection(redis.url) });
      try {
        const bj = await q.getJob(job.key);
        assert.equal(await bj!.getState(), 'failed');
        assert.equal(bj!.attemptsMade, 1, 'one attempt: the error is deterministic');
      } finally { await q.close(); }
      assert.equal(started(job.key), 1);
    }
  });

  test('after a failure no new job of that run starts: the jobs still waiting are withdrawn, those running finish', async () => {
    // Two workers: one takes the bad job and, once it failed, the next (B); the other runs A; C is still waiting when the
    // runner sees the failure, so it is taken off the queue.
    const cases: Case[] = [
      { method: 'ce', seed: 30, train: tinyTrain(30, { batchSize: 1000 }) },
      { method: 'ce', seed: 31, train: tinyTrain(31, { epochs: 60 }) },
      { method: 'ce', seed: 32, train: tinyTrain(32, { epochs: 60 }) },
      { method: 'ce', seed: 33, train: tinyTrain(33) },
    ];
    const jobs = await inData(queueData, () => Promise.all(cases.map(jobFor)));
    const err = await inData(queueData, () => runOnQueue(jobs, {}, { settings, signal, log: () => undefined })).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof JobsFailedError, `rejects with JobsFailedError, got ${String(err)}`);
    assert.deepEqual(err.failures.map((f) => f.job.label), [jobs[0].label]);
    assert.deepEqual(jobs.map((j) => started(j.key)), [1, 1, 1, 0], 'the running jobs finished; the waiting one never started');
    for (const j of jobs.slice(1, 3)) assert.equal(readCheckpointHeader(path.join(queueData, 'checkpoints', `${j.key}.ckpt`))?.done, true, `${j.label} finished and is cached`);
    const q = new Queue(settings.name!, { connection: redisConnection(redis.url) });
    try { assert.equal(await q.getJob(jobs[3].key), undefined, 'withdrawn from the queue'); } finally { await q.close(); }
  });

  test('two workers writing the same checkpoint at once: the file is whole and identical to inline training', async () => {
    const c: Case = { method: 'db', seed: 3, train: tinyTrain(3, { epochs: 6 }) };
    const job = await inData(queueData, () => jobFor(c));
    const connection = redisConnection(redis.url);
    const q = new Queue(settings.name!, { connection });
    const qe = new QueueEvents(settings.name!, { connection });
    try {
      await qe.waitUntilReady();
      // Bypassing the runner's one-job-per-key rule on purpose: two ids, one cache key.
      const [a, b] = await Promise.all(['dup-a', 'dup-b'].map((id) => q.add('train', job as unknown as object, { jobId: `${job.key}-${id}` })));
      await Promise.all([a.waitUntilFinished(qe, 120_000), b.waitUntilFinished(qe, 120_000)]);
      const ran = workers.map((w) => /started \S+-dup-[ab]/.test(w.output()));
      assert.deepEqual(ran, [true, true], 'each worker took one of the two');
    } finally {
      await Promise.allSettled([qe.close(), q.close()]);
    }
    const file = path.join(queueData, 'checkpoints', `${job.key}.ckpt`);
    assert.equal(loadCheckpoint(file).header.done, true);
    assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
    const inline = await inData(inlineData, () => trainInline(c));
    assert.deepEqual(fingerprint(file), fingerprint(inline));
  });

  test('Redis killed and restarted EMPTY mid-run: the finished result stays, the lost job is resubmitted and resumes', async () => {
    const cases: Case[] = [{ method: 'ce', seed: 11, train: tinyTrain(11, { epochs: 2 }) }, { method: 'ce', seed: 12, train: tinyTrain(12, { epochs: 150 }) }];
    // The second job must outlast Redis's restart: one that finishes while Redis is down is found on disk, not resubmitted.
    const jobs = await inData(queueData, () => Promise.all(cases.map(jobFor)));
    const lines: string[] = [];
    const run = inData(queueData, () => runOnQueue(jobs, {}, { settings, signal, log: (s) => lines.push(s) }));
    run.catch(() => undefined); // awaited below
    const files = jobs.map((j) => path.join(queueData, 'checkpoints', `${j.key}.ckpt`));
    for (let t0 = Date.now(); Date.now() - t0 < 60_000; await sleep(20)) {
      if (logged(`completed ${jobs[0].key}`) && (readCheckpointHeader(files[1])?.epoch ?? 0) >= 2) break;
    }
    const at = files.map((f) => { const h = readCheckpointHeader(f); return h ? `epoch ${h.epoch}${h.done ? ' done' : ''}` : 'none'; });
    assert.ok(logged(`completed ${jobs[0].key}`) && !readCheckpointHeader(files[1])?.done,
      `one job finished, the other mid-way: ${at.join(', ')}\n${workers.map((w) => w.output()).join('\n---\n')}`);
    // The worst case: the server dies and comes back with nothing (no append-only file).
    await redis.kill();
    for (const f of fs.readdirSync(redis.dir)) if (f !== 'redis.log') fs.rmSync(path.join(redis.dir, f), { recursive: true, force: true });
    await sleep(500);
    await redis.start();
    const rs = await run;
    assert.deepEqual(rs.map((r) => r.key), jobs.map((j) => j.key));
    assert.ok(lines.some((l) => l.includes('vanished from the queue')), `the runner resubmitted the lost job: ${lines.join('\n')}`);
    const inline = await inData(inlineData, () => Promise.all(cases.map(trainInline)));
    files.forEach((f, i) => assert.deepEqual(fingerprint(f), fingerprint(inline[i]), `${jobs[i].label}: identical`));
  });
  /**
   * Stops the worker running a long job with `sig` mid-job; the other worker must resume it from its last epoch checkpoint
   * and finish it identical to an uninterrupted inline run. `replace`: start another worker at once (for later tests).
   */
  async function interruptMidJob(sig: 'SIGKILL' | 'SIGTERM', seed: number, replace: boolean): Promise<void> {
    const c: Case = { method: 'ce', seed, train: tinyTrain(seed, { epochs: 40 }) };
    const job = await inData(queueData, () => jobFor(c));
    const rec = recorder();
    const run = inData(queueData, () => runOnQueue([job], rec.events, { settings, signal, log: () => undefined }));
    run.catch(() => undefined); // awaited below; a failed assertion before that must not leave an unhandled rejection
    const file = path.join(queueData, 'checkpoints', `${job.key}.ckpt`);
    let epoch = 0;
    for (let t0 = Date.now(); Date.now() - t0 < 60_000 && epoch < 3; await sleep(20)) epoch = readCheckpointHeader(file)?.epoch ?? 0;
    const victim = workers.find((w) => w.output().includes(`started ${job.key}`));
    assert.ok(victim, 'a worker took the job');
    const child = Number(victim.output().match(new RegExp(`job ${job.key} .* on pid (\\d+)`))?.[1]);
    const h = readCheckpointHeader(file)!;
    assert.ok(h.epoch >= 3 && !h.done, `stopped mid-job (checkpoint at epoch ${h.epoch} of ${c.train.epochs}, done ${h.done})`);
    await stop(victim.proc, sig);
    workers.splice(workers.indexOf(victim), 1);
    if (replace) workers.push(startWorker(env));
    // Its training child notices the lost parent and stops (no orphan keeps training).
    for (let t0 = Date.now(); Date.now() - t0 < 10_000 && alive(child); ) await sleep(100);
    assert.equal(alive(child), false, `the stopped worker's child ${child} exited`);
    const [r] = await run;
    assert.equal(r.key, job.key);
    const diag = () => `\nprogress: ${JSON.stringify(rec.progress[job.label].map((p) => [p.done, p.total, p.worker]))}\nworkers:\n${[victim, ...workers].map((w) => w.output()).join('\n---\n')}`;
    assert.ok(rec.starts[job.label].length >= 2, `a second attempt started${diag()}`);
    // The caller sees one count for the job: the second attempt's first event starts after the saved epochs' steps.
    const full = c.train.epochs * c.train.maxStepsPerEpoch!;
    const ps = rec.progress[job.label];
    assert.ok(ps.every((p) => p.total === full), `one total for the job${diag()}`);
    const second = ps.findIndex((p) => p.worker === ps[ps.length - 1].worker);
    assert.ok(ps[second].done > h.epoch * c.train.maxStepsPerEpoch!, `the second attempt resumed after epoch ${h.epoch}${diag()}`);
    assert.equal(ps[ps.length - 1].done, full);
    // The other worker, or the replacement started meanwhile, whichever took it first.
    assert.ok(workers.some((w) => w.output().includes(`started ${job.key}`)), `another worker finished it${diag()}`);
    const q = new Queue(settings.name!, { connection: redisConnection(redis.url) });
    try {
      const bj = (await q.getJob(job.key))!;
      // attemptsMade counts finished attempts, the successful one included: the abandoned one counted as stalled, not failed.
      assert.deepEqual({ attemptsMade: bj.attemptsMade, stalledCounter: bj.stalledCounter }, { attemptsMade: 1, stalledCounter: 1 }, 'abandoned, not failed');
    } finally { await q.close(); }
    const inline = await inData(inlineData, () => trainInline(c));
    assert.deepEqual(fingerprint(file), fingerprint(inline), 'identical to an uninterrupted inline run');
    if (replace) await workers[workers.length - 1].waitFor(/gradreg worker/);
  }

  test('Ctrl-C / SIGTERM of the worker running a job: stops at once, the other worker resumes it; same result', () => interruptMidJob('SIGTERM', 6, true));

  // Last: it leaves one worker.
  test('kill -9 of the worker running a job: the other worker resumes it from its last epoch checkpoint; same result', () => interruptMidJob('SIGKILL', 5, false));
});
