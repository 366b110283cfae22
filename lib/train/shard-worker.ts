// A data-parallel shard worker (a worker thread started by lib/train/data-parallel.ts through shard-worker.cjs): its own tfjs
// backend, the model rebuilt from its spec (lib/models/zoo.ts modelOrigin) and the terms from their recipes; per step it takes
// the current weights and its rows of the batch and returns each term's value and the weight gradient, flattened.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend';
import { createModel, type ModelOptions, type ModelSpec } from '../models/zoo';
import { buildTerm } from '../jobs/term-factories';
import type { LossContext, LossTerm, Model } from '../types';
import type { TermRecipe } from './term-recipe';
import { termGradients } from './term-gradients';

export interface ShardWorkerData { readonly shardWorker: true; readonly backend: BackendName }

export type ShardRequest =
  | { op: 'configure'; id: number; model: { spec: ModelSpec; options: ModelOptions }; shapes: number[][]; terms: TermRecipe[] }
  | { op: 'step'; id: number; weights: Float32Array; x: Float32Array; xShape: [number, number, number, number]; y: Int32Array; ctx: LossContext };

export type ShardReply =
  | { op: 'ready' }
  | { op: 'configured'; id: number }
  | { op: 'grads'; id: number; values: number[]; grads: Float32Array }
  | { op: 'error'; id: number | null; name: string; message: string };

function serve(port: NonNullable<typeof parentPort>): void {
  let model: Model | undefined;
  let terms: LossTerm[] = [];
  const configure = (req: Extract<ShardRequest, { op: 'configure' }>) => {
    model?.dispose();
    model = undefined;
    const m = createModel(req.model.spec, req.model.options);
    const got = m.variables.map((v) => v.shape);
    if (JSON.stringify(got) !== JSON.stringify(req.shapes)) {
      m.dispose();
      throw new Error(`the model rebuilt from its spec has weights of shapes ${JSON.stringify(got)}, the trainer's ${JSON.stringify(req.shapes)}`);
    }
    model = m;
    terms = req.terms.map(buildTerm);
  };
  const step = (req: Extract<ShardRequest, { op: 'step' }>): { values: number[]; grads: Float32Array } => {
    const m = model;
    if (!m) throw new Error('a step before the model was configured');
    let off = 0;
    tf.tidy(() => m.variables.forEach((v) => { v.assign(tf.tensor(req.weights.subarray(off, off + v.size), v.shape)); off += v.size; }));
    const x = tf.tensor4d(req.x, req.xShape);
    const y = tf.tensor1d(req.y, 'int32');
    try {
      const g = termGradients(m, x, y, terms, req.ctx);
      try {
        const flat = tf.tidy(() => tf.concat([tf.stack(g.values), ...m.variables.map((v) => tf.reshape(g.grads[v.name], [-1]))]));
        const all = new Float32Array(flat.dataSync() as Float32Array);
        flat.dispose();
        return { values: Array.from(all.subarray(0, terms.length)), grads: all.subarray(terms.length) };
      } finally {
        tf.dispose([...g.values, ...Object.values(g.grads)]);
      }
    } finally {
      tf.dispose([x, y]);
    }
  };
  port.on('message', (req: ShardRequest) => {
    try {
      if (req.op === 'configure') {
        configure(req);
        port.postMessage({ op: 'configured', id: req.id } satisfies ShardReply);
      } else {
        const r = step(req);
        port.postMessage({ op: 'grads', id: req.id, values: r.values, grads: r.grads } satisfies ShardReply, [r.grads.buffer as ArrayBuffer]);
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ op: 'error', id: req.id, name: err.name, message: err.message } satisfies ShardReply);
    }
  });
  port.postMessage({ op: 'ready' } satisfies ShardReply);
}

const data = workerData as Partial<ShardWorkerData> | undefined;
if (parentPort && data?.shardWorker) {
  const port = parentPort;
  initBackend(data.backend, { quiet: true }).then(() => serve(port), (e: Error) => {
    port.postMessage({ op: 'error', id: null, name: e.name, message: `could not start the ${data.backend} backend: ${e.message}` } satisfies ShardReply);
  });
}
