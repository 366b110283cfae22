// Data-parallel training steps: a batch is split into row shards, one per thread (this thread plus worker threads, each with
// its own tfjs backend and a copy of the model); each shard computes its terms' values and weight gradient, and the step uses
// sum_s (b_s / B) * shard_s, which is the unsplit step's mean over the batch up to float32 round-off. The wasm backend has no
// threads in Node, so this is how one training run uses more than one core.
//
// Exactness, term by term (test/train/data-parallel.test.ts checks every factory of lib/jobs/term-factories.ts at N = 1 vs 2):
// - A value that is a mean over the batch of per-example quantities needs nothing (cross-entropy, double backprop, Lyu's family,
//   finite differences, SAGR, SIGR, saliency consensus, FGSM/flow AT, TRADES' KL).
// - Per-example random draws take the shard's rows of the whole batch's draw with the step seed (ctx.shard, batch-shard.ts):
//   TRADES' start, the Jacobian frames (jacobianNorm, J-SIGR), FGR's random start.
// - FGR's value scales as 1/B^2 (its loss is a batch mean): it corrects with (b/B)^2 (flow-gradient.ts).
// - Refused (the run falls back to one thread, with the reason): PGD AT, whose random start is drawn inside lib/attacks for the
//   rows it is given; a term without a recipe (written in a notebook: a worker cannot rebuild it); a factory not listed below.
// - Batch norm: refused. In train mode every example is normalized with the batch's moments, so a shard's forward (and every
//   input-gradient penalty differentiating through it) would see other statistics; exact sharding would need the moments, and
//   their gradients, exchanged between threads in the middle of every forward and backward pass. Models with state (the VGGs,
//   the pre-activation ResNet) train on one thread; the MLPs, maxout nets, small CNN and LeNet shard.
// The thread count is not in the checkpoint cache key: the same run gives the same weights up to round-off on any count.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backend';
import { modelOrigin } from '../models/zoo';
import { serializableRecipe } from '../jobs/term-factories';
import type { LossContext, LossTerm, Model } from '../types';
import type { TermRecipe } from './term-recipe';
import { termGradients, type TermGradients } from './term-gradients';
import type { ShardReply, ShardRequest, ShardWorkerData } from './shard-worker';

/** Factories whose terms split exactly (see the header); every other factory is refused until it is checked. */
export const SHARD_EXACT: readonly string[] = [
  'crossEntropyTerm', 'fgsmAT', 'trades', 'flowAT', 'inputGradientPenalty', 'doubleBackprop', 'finiteDifferenceGradientPenalty',
  'jacobianNorm', 'sigr', 'jsigr', 'sagr', 'saliencyConsensus', 'flowGradient',
];

/** Factories that cannot split exactly yet, and why. */
export const SHARD_REFUSED: Readonly<Record<string, string>> = {
  pgdAT: 'its random start is drawn inside lib/attacks (pgd) for the rows it is given, so a shard cannot take its rows of the ' +
    "whole batch's start and the split step would differ",
};

/**
 * Fewest rows a shard gets: smaller batches use fewer threads. A split step has a fixed cost (weights and rows sent, gradients
 * sent back and summed, threads woken: 5-15 ms for the small CNN's 171k weights on a 2-core EPYC), and a half batch costs ~0.7
 * of a whole one there. Measured on idle cores (README, Performance), 2 threads vs 1: 32-row shards 0.98-1.14x, 64-row shards
 * 1.08-1.32x, 128-row shards 1.21-1.62x (train / double backprop / Jacobian). 64 splits the quick profiles' batch of 128 in
 * two and leaves the smoke profiles' 64 whole.
 */
export const MIN_SHARD_ROWS = 64;

const ENTRY = path.join(__dirname, 'shard-worker.cjs');

/** Threads per training run: GRADREG_THREADS when set (a positive integer), else the number of cores. */
export function defaultThreads(): number {
  const raw = process.env.GRADREG_THREADS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`GRADREG_THREADS must be a positive integer (threads per training run), got ${JSON.stringify(raw)}`);
    return n;
  }
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Row counts of the shards of a batch of `total` over at most `threads` threads, none below `minRows` (one shard if need be). */
export function splitRows(total: number, threads: number, minRows = MIN_SHARD_ROWS): number[] {
  const k = Math.max(1, Math.min(threads, Math.floor(total / minRows)));
  const base = Math.floor(total / k);
  return Array.from({ length: k }, (_, i) => base + (i < total % k ? 1 : 0));
}

export interface ShardPlan {
  /** Threads the steps will use (1: the ordinary step on this thread). */
  threads: number;
  /** Why fewer threads than asked for (absent when the run shards as asked, or one thread was asked for). */
  reason?: string;
}

/** How many threads a run of `model` with `terms` on `backend` can split its steps over, given `threads` asked for. */
export function shardPlan(model: Model, terms: readonly LossTerm[], backend: BackendName, threads: number, batchSize: number): ShardPlan {
  if (threads <= 1) return { threads: 1 };
  const one = (reason: string): ShardPlan => ({ threads: 1, reason });
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') return one('the tensorflow backend runs its kernels on every core itself');
  if (model.state.length > 0) {
    return one(`${model.name} has batch norm: every example is normalized with the batch's moments, so shards would see other ` +
      'statistics (syncing them mid-forward and mid-backward is not implemented)');
  }
  if (!modelOrigin(model)) return one(`${model.name} was not made by createModel, so a worker thread cannot rebuild it`);
  for (const t of terms) {
    const r = serializableRecipe(t);
    if ('reason' in r) return one(`${r.reason}, so a worker thread cannot rebuild it`);
    const f = r.recipe.factory;
    if (SHARD_REFUSED[f]) return one(`loss term "${t.name}" (${f}) cannot be split exactly: ${SHARD_REFUSED[f]}`);
    if (!SHARD_EXACT.includes(f)) return one(`loss term "${t.name}" (${f}) is not checked to split exactly (lib/train/data-parallel.ts SHARD_EXACT)`);
  }
  const n = splitRows(batchSize, threads).length;
  if (n < threads) return { threads: n, reason: `batch ${batchSize} < ${MIN_SHARD_ROWS} rows per thread x ${threads} threads` };
  return { threads };
}

interface Pending { resolve: (r: ShardReply) => void; reject: (e: Error) => void }

/** One worker thread and its pending request. */
class ShardWorker {
  readonly worker: Worker;
  private pending = new Map<number, Pending>();
  private failed?: Error;
  private up = false;
  private readonly ready: Promise<void>;

  constructor(readonly index: number, backend: BackendName) {
    this.worker = new Worker(ENTRY, { workerData: { shardWorker: true, backend } satisfies ShardWorkerData, execArgv: [] });
    live.add(this.worker);
    let started: Pending | undefined;
    this.ready = new Promise<void>((resolve, reject) => { started = { resolve: () => resolve(), reject }; });
    this.ready.catch(() => undefined); // reported by request()
    const fail = (e: Error) => {
      this.failed ??= e;
      started?.reject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('message', (m: ShardReply) => {
      if (m.op === 'ready') { started?.resolve(m); return; }
      const id = m.id;
      if (id === null) { fail(new Error(`data-parallel worker ${this.index}: ${m.op === 'error' ? m.message : 'failed'}`)); return; }
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (m.op === 'error') {
        const e = new Error(`data-parallel worker ${this.index}: ${m.message}`);
        e.name = m.name;
        p.reject(e);
      } else p.resolve(m);
    });
    this.worker.on('error', (e) => fail(new Error(`data-parallel worker ${this.index} crashed: ${e.message}`)));
    this.worker.on('exit', (code) => { live.delete(this.worker); fail(new Error(`data-parallel worker ${this.index} exited (code ${code})`)); });
  }

  /** Waits until the worker's backend is up; a step's request() then posts at once (see there). */
  async started(): Promise<void> {
    await this.ready;
    this.up = true;
  }

  /**
   * Sends `req` and resolves with the reply. Posts synchronously once started(): a post deferred to a microtask would leave
   * only after this thread's own shard, and the worker would start its shard when this thread's is done.
   */
  request(req: ShardRequest, transfer: ArrayBuffer[] = []): Promise<ShardReply> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.up) return this.started().then(() => this.request(req, transfer));
    return new Promise<ShardReply>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.worker.postMessage(req, transfer);
    });
  }
}

const live = new Set<Worker>();
/** Worker threads alive in this process (tests check none outlives its training run). */
export function liveShardWorkers(): number {
  return live.size;
}

/**
 * `threads - 1` worker threads; with this thread they compute the shards of a step. Configure it with a model and terms, then
 * call gradients() per step; close() ends the workers (also after an error).
 */
export class ShardPool {
  private readonly workers: ShardWorker[];
  private nextId = 0;
  private terms: LossTerm[] = [];
  private model?: Model;

  /** `minRows`: fewest rows per shard (splitRows); tests split tiny batches with 1. */
  constructor(readonly threads: number, backend: BackendName, private readonly minRows = MIN_SHARD_ROWS) {
    if (!(Number.isInteger(threads) && threads >= 2)) throw new Error(`ShardPool: threads must be an integer >= 2, got ${threads}`);
    this.workers = Array.from({ length: threads - 1 }, (_, i) => new ShardWorker(i + 1, backend));
  }

  /** Rebuilds `model` (from its createModel spec) and `terms` (from their recipes) in every worker. */
  async configure(model: Model, terms: LossTerm[]): Promise<void> {
    const origin = modelOrigin(model);
    if (!origin) throw new Error(`${model.name} was not made by createModel: a worker thread cannot rebuild it`);
    const recipes: TermRecipe[] = terms.map((t) => {
      const r = serializableRecipe(t);
      if ('reason' in r) throw new Error(r.reason);
      return r.recipe;
    });
    const shapes = model.variables.map((v) => v.shape);
    await Promise.all(this.workers.map((w) => w.request({ op: 'configure', id: this.nextId++, model: origin, shapes, terms: recipes })));
    this.model = model;
    this.terms = terms;
  }

  /**
   * The step's values and weight gradients on (x, y), split by rows over the threads (splitRows): this thread computes the first
   * shard while the workers compute theirs with the current weights. Same shape of result as termGradients (the caller disposes).
   */
  async gradients(x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): Promise<TermGradients> {
    const model = this.model;
    if (!model) throw new Error('ShardPool: configure() first');
    const total = x.shape[0];
    const rows = splitRows(total, this.threads, this.minRows);
    if (rows.length === 1) return termGradients(model, x, y, this.terms, ctx);
    const weights = new Float32Array(model.variables.reduce((a, v) => a + v.size, 0));
    let off = 0;
    for (const v of model.variables) { weights.set(v.dataSync() as Float32Array, off); off += v.size; }
    const xs = x.dataSync() as Float32Array, ys = y.dataSync() as Int32Array;
    const per = xs.length / total;
    const [, h, w, c] = x.shape;
    const offsets = rows.map((_, i) => rows.slice(0, i).reduce((a, r) => a + r, 0));
    const replies = rows.slice(1).map((r, i) => {
      const o = offsets[i + 1];
      const req: ShardRequest = {
        op: 'step', id: this.nextId++, weights: weights.slice(), x: xs.slice(o * per, (o + r) * per), xShape: [r, h, w, c],
        y: ys.slice(o, o + r), ctx: { epoch: ctx.epoch, step: ctx.step, seed: ctx.seed, shard: { offset: o, total } },
      };
      return this.workers[i].request(req, [req.weights.buffer as ArrayBuffer, req.x.buffer as ArrayBuffer, req.y.buffer as ArrayBuffer]);
    });
    let computed: TermGradients | undefined;
    try {
      const x0 = tf.slice(x, 0, rows[0]), y0 = tf.slice(y, 0, rows[0]);
      try { computed = termGradients(model, x0, y0, this.terms, { ...ctx, shard: { offset: 0, total } }); } finally { tf.dispose([x0, y0]); }
    } catch (e) {
      await Promise.allSettled(replies); // no reply may arrive for a step that is over
      throw e;
    }
    const mine = computed;
    const settled = await Promise.allSettled(replies);
    const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bad) { tf.dispose([...mine.values, ...Object.values(mine.grads)]); throw bad.reason; }
    const others = settled.map((s) => (s as PromiseFulfilledResult<ShardReply>).value as Extract<ShardReply, { op: 'grads' }>);
    const share = rows.map((r) => r / total);
    // Summed here in JavaScript (double, rounded once to float32): half the time of tensor ops for a small model's weights.
    const stacked = tf.stack(mine.values);
    const mineValues = Array.from(stacked.dataSync());
    stacked.dispose();
    const values = mineValues.map((v, t) => tf.scalar(share[0] * v + others.reduce((a, o, i) => a + share[i + 1] * o.values[t], 0)));
    const grads: tf.NamedTensorMap = {};
    let at = 0;
    for (const v of model.variables) {
      const g0 = mine.grads[v.name].dataSync() as Float32Array;
      const sum = new Float32Array(v.size);
      for (let k = 0; k < v.size; k++) {
        let acc = share[0] * g0[k];
        for (let i = 0; i < others.length; i++) acc += share[i + 1] * others[i].grads[at + k];
        sum[k] = acc;
      }
      grads[v.name] = tf.tensor(sum, v.shape);
      at += v.size;
    }
    tf.dispose([...mine.values, ...Object.values(mine.grads)]);
    return { values, grads };
  }

  /** Ends every worker thread. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** Opens a pool of `threads` threads configured for `model` and `terms`; closes it again if configuring fails. */
export async function openShardPool(threads: number, backend: BackendName, model: Model, terms: LossTerm[], minRows = MIN_SHARD_ROWS): Promise<ShardPool> {
  const pool = new ShardPool(threads, backend, minRows);
  try {
    await pool.configure(model, terms);
    return pool;
  } catch (e) {
    await pool.close();
    throw e;
  }
}
