// The local runner: a grid trained by 2 worker processes leaves the same checkpoints as the inline loop, and trainMethods
// returns the same models; a term written in the notebook trains in-process with one line saying why; a failing job names
// its method and seed; a dead worker is an error naming the signal; an interrupt stops the workers; no worker outlives run().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LossTerm } from '../../lib/types';
import { InMemoryDataSet, loadDataset } from '../../lib/data';
import type { ModelSpec } from '../../lib/models';
import { crossEntropyTerm, loadCheckpoint, type TrainConfig } from '../../lib/train';
import { doubleBackprop } from '../../lib/regularizers';
import { crossEntropy } from '../../lib/tf/safe-ops';
import { trainMethods, type Method } from '../../lib/experiment';
import { JobsFailedError, LocalRunner, makeTrainJob, type TrainJob } from '../../lib/jobs';
import { createModel } from '../../lib/models';
import { useBackend } from '../helpers';
import { fingerprint } from './checkpoint-fingerprint';

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `gradreg-jobs-${tag}-`));
const spec: ModelSpec = { arch: 'mlp', hidden: [16], activation: 'relu' };
const train = { epochs: 2, batchSize: 32, optimizer: { kind: 'adam' as const, lr: 1e-3 } };
const methods: Method[] = [
  { id: 'standard', label: 'Standard', terms: () => [crossEntropyTerm()] },
  { id: 'db', label: 'Double backprop', terms: () => [crossEntropyTerm(), doubleBackprop({ weight: 0.5 })] },
];

/** Runs fn with GRADREG_JOBS=n (the pool's size whatever this machine's core count). */
async function withJobs<T>(n: number, fn: () => Promise<T>): Promise<T> {
  process.env.GRADREG_JOBS = String(n);
  try { return await fn(); } finally { delete process.env.GRADREG_JOBS; }
}

/** The job of the standard method (seed 0) on `data`. */
function standardJob(data: InMemoryDataSet, cfg: TrainConfig): TrainJob {
  const model = createModel(spec, { inputShape: data.shape, numClasses: data.classNames.length, seed: 0 });
  const made = makeTrainJob({ label: 'Standard (seed 0)', methodId: 'standard', seed: 0, data, model, spec, train: cfg, terms: [crossEntropyTerm()], modelKey: { spec, method: 'standard' } });
  model.dispose();
  assert.ok('job' in made, 'reason' in made ? made.reason : '');
  return made.job;
}

/** This process's child node processes (workers; not tsx's esbuild service or the ps that lists them). */
function childPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).toString();
  const node = path.basename(process.execPath);
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter(([pid, comm]) => pid && comm === node).map(([pid]) => Number(pid));
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('a 2 methods x 2 seeds grid: the local runner (2 processes) leaves the checkpoints and models the inline loop does', async () => {
  await useBackend('cpu');
  const data = (await loadDataset('mnist')).take(128, { seed: 0, nTest: 32 });
  const opts = { data, model: spec, seeds: [0, 1], train };
  process.env.GRADREG_DATA = tmp('inline');
  const inlineLog: string[] = [];
  const inline = await trainMethods(methods, { ...opts, runner: 'inline', log: (s) => inlineLog.push(s) });
  process.env.GRADREG_DATA = tmp('local');
  const localLog: string[] = [];
  await withJobs(2, async () => {
    const local = await trainMethods(methods, { ...opts, runner: 'local', log: (s) => localLog.push(s) });
    assert.match(localLog[0], /training 4 runs on the local runner \(2 worker processes/);
    assert.equal(local.length, inline.length);
    for (let i = 0; i < local.length; i++) {
      const [a, b] = [inline[i], local[i]];
      assert.equal(b.method.id, a.method.id);
      assert.equal(b.seed, a.seed);
      assert.equal(b.result.key, a.result.key, 'same cache key');
      assert.notEqual(path.dirname(b.result.checkpoint), path.dirname(a.result.checkpoint));
      assert.deepEqual(fingerprint(b.result.checkpoint), fingerprint(a.result.checkpoint), `${a.method.label} seed ${a.seed}: checkpoints differ`);
      assert.deepEqual(b.model.variables.map((v) => Array.from(v.dataSync())), a.model.variables.map((v) => Array.from(v.dataSync())));
      assert.equal(b.result.fromCache, false, 'a run a worker trained is reported as trained, as inline');
    }
    // The same summary lines (times aside), after the runner's one line.
    const strip = (s: string) => s.replace(/trained in \d+ s/, 'trained in N s');
    assert.deepEqual(localLog.slice(1).map(strip), inlineLog.map(strip));
    for (const t of [...inline, ...local]) t.model.dispose();
  });
  assert.deepEqual(childPids(), [], 'no worker process is left');
});

test('a term written in the notebook (a closure) trains in this process, with one line saying why', async () => {
  await useBackend('cpu');
  process.env.GRADREG_DATA = tmp('closure');
  const data = (await loadDataset('mnist')).take(64, { seed: 0, nTest: 16 });
  const mine: LossTerm = { name: 'my-ce', weight: 1, value: (m, x, y) => crossEntropy(m.logits(x), y) };
  const log: string[] = [];
  const [t] = await trainMethods([{ id: 'mine', label: 'My method', terms: () => [mine] }],
    { data, model: spec, seeds: [0], train: { ...train, epochs: 1 }, runner: 'local', log: (s) => log.push(s) });
  assert.equal(log.length, 2, log.join('\n'));
  assert.match(log[0], /^My method: trains in this process, not on the local runner: loss term "my-ce" was not made by a library factory/);
  assert.match(log[1], /^My method \(seed 0\): test accuracy .*trained in/);
  t.model.dispose();
});

test('a job that fails names its method and seed; the runs that finished are cached', async () => {
  await useBackend('cpu');
  const dir = process.env.GRADREG_DATA = tmp('fail');
  // Data made from arrays (no recipe): it travels as a content-addressed file.
  const n = 64;
  // Class 1 bright, class 0 dark: learnable in a few steps, so the good run ends above chance and is cached as finished.
  const labels = (k: number) => Int32Array.from({ length: k }, (_, i) => i % 2);
  const images = (k: number, s: number) => Uint8Array.from({ length: 16 * k }, (_, i) => (Math.floor(i / 16) % 2 ? 180 : 40) + ((i * 37 + s * 11) % 60));
  const data = new InMemoryDataSet('arrays', [4, 4, 1], ['a', 'b'], { train: { images: images(n, 1), labels: labels(n) }, test: { images: images(16, 2), labels: labels(16) } });
  const bad: Method = { id: 'bad', label: 'Exploding penalty', terms: () => [crossEntropyTerm(), doubleBackprop({ weight: 1e30 })] };
  const good: Method = { id: 'good', label: 'Standard', terms: () => [crossEntropyTerm()] };
  await withJobs(2, async () => {
    await assert.rejects(trainMethods([good, bad], { data, model: spec, seeds: [0], train: { ...train, epochs: 3, batchSize: 8, optimizer: { kind: 'adam' as const, lr: 1e-2 } }, runner: 'local', log: () => undefined }),
      (e: Error) => {
        assert.ok(e instanceof JobsFailedError, String(e));
        assert.match(e.message, /^Exploding penalty \(seed 0\) failed \(local runner\): (DivergenceError|NonFiniteLossError): /);
        assert.match(e.message, /runs that finished are cached/);
        return true;
      });
    assert.equal(fs.readdirSync(path.join(dir, 'job-data')).length, 1, 'the array data set was written once');
    const cached = fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.ckpt'));
    assert.ok(cached.some((f) => loadCheckpoint(path.join(dir, 'checkpoints', f)).header.done), 'the good run is cached');
  });
});

test('a worker killed mid-job is an error naming the signal; no worker process outlives run()', async () => {
  await useBackend('cpu');
  process.env.GRADREG_DATA = tmp('kill');
  const data = (await loadDataset('mnist')).take(256, { seed: 0, nTest: 16 });
  const job = standardJob(data, { ...train, epochs: 50, seed: 0 });
  const pids: number[] = [];
  const runner = new LocalRunner({ concurrency: 1 });
  await assert.rejects(runner.run([job], {
    onStart: (_job, worker) => pids.push(Number(worker.replace('pid ', ''))),
    onProgress: () => { if (pidAlive(pids[0])) process.kill(pids[0], 'SIGKILL'); },
  }), (e: Error) => {
    assert.match(e.message, /^Standard \(seed 0\) failed \(local runner\): WorkerExit: its worker process \(pid \d+\) was killed by SIGKILL/);
    return true;
  });
  assert.equal(pids.length, 1);
  assert.equal(pidAlive(pids[0]), false);
});

test('an interrupt where SIGINT is handled (a tslab kernel) stops the workers and says so', async () => {
  await useBackend('cpu');
  process.env.GRADREG_DATA = tmp('interrupt');
  const data = (await loadDataset('mnist')).take(256, { seed: 0, nTest: 16 });
  const job = standardJob(data, { ...train, epochs: 50, seed: 0 });
  const kernelHandler = () => undefined; // what tslab installs: SIGINT abandons the cell instead of ending the process
  process.on('SIGINT', kernelHandler);
  const pids: number[] = [];
  let seen: number[] = [];
  try {
    await assert.rejects(new LocalRunner({ concurrency: 1 }).run([job], {
      onStart: (_j, w) => pids.push(Number(w.replace('pid ', ''))),
      onProgress: () => { seen = childPids(); process.emit('SIGINT'); },
    }), /^Error: interrupted: the 1 worker process was stopped; finished runs and the last epoch/);
  } finally {
    process.off('SIGINT', kernelHandler);
  }
  assert.equal(process.listenerCount('SIGINT'), 0, 'the runner removed its handler');
  assert.deepEqual(seen, pids, 'childPids() sees a running worker (so the grid test\'s check can fail)');
  assert.equal(pidAlive(pids[0]), false);
  assert.deepEqual(childPids(), []);
});
