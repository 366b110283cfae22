// The bench's `--data-parallel N`: the library's training step (lib/train: createModel's small CNN, which is the reference net,
// and the library's loss terms) with each batch split over N threads (lib/train/data-parallel.ts). N = 1 is the same library
// step on the main thread, so N = 2 vs N = 1 is the speedup of splitting one run's batch, at the same examples per step.
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../lib/backend';
import { createModel } from '../lib/models/zoo';
import { createOptimizer } from '../lib/train/optimizers';
import { crossEntropyTerm } from '../lib/train/terms';
import { termGradients } from '../lib/train/term-gradients';
import { openShardPool, type ShardPool } from '../lib/train/data-parallel';
import { doubleBackprop } from '../lib/regularizers/input-gradient';
import { jacobianNorm } from '../lib/regularizers/jacobian-norm';
import type { LossTerm } from '../lib/types';
import { LAMBDA, LEARNING_RATE, type WorkloadName } from './workloads';
import { INPUT_SHAPE, NUM_CLASSES } from './reference-net';

/** The training workloads as library terms with the bench's objective (the others are not training steps). */
export function libraryTerms(name: WorkloadName): LossTerm[] | undefined {
  switch (name) {
    case 'train': return [crossEntropyTerm()];
    // doubleBackprop is 1/2 mean ||g||^2; the workload adds LAMBDA mean ||g||^2.
    case 'double-backprop': return [crossEntropyTerm(), doubleBackprop({ weight: 2 * LAMBDA })];
    // jacobianNorm with one projection is C ||v^T J||^2 (an unbiased estimate of ||J||_F^2); the workload adds LAMBDA ||v^T J||^2.
    case 'jacobian': return [crossEntropyTerm(), jacobianNorm({ projections: 1, weight: LAMBDA / NUM_CLASSES })];
    default: return undefined;
  }
}

export interface LibraryStep {
  /** One Adam step on the fixed batch; resolves when the weights are updated. */
  step(): Promise<void>;
  dispose(): Promise<void>;
}

/** The library step of workload `name` on a fixed random batch, split over `threads` threads (1: no split). */
export async function libraryStep(name: WorkloadName, batch: number, threads: number, backend: BackendName, seed = 1): Promise<LibraryStep> {
  const terms = libraryTerms(name);
  if (!terms) throw new Error(`--data-parallel: "${name}" is not a training step (use train, double-backprop, jacobian)`);
  const model = createModel({ arch: 'small-cnn' }, { inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, seed });
  const x = tf.randomUniform([batch, ...INPUT_SHAPE], 0, 1, 'float32', seed + 100) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, NUM_CLASSES, 'float32', seed + 200)), 'int32')) as tf.Tensor1D;
  const opt = createOptimizer({ kind: 'adam', lr: LEARNING_RATE }, model.variables);
  let pool: ShardPool | undefined;
  // A pool splits a batch only into shards of at least MIN_SHARD_ROWS rows; the bench asks for exactly `threads`.
  if (threads > 1) pool = await openShardPool(threads, backend, model, terms, 1);
  let n = 0;
  return {
    async step() {
      const ctx = { epoch: 0, step: n, seed: seed * 1000 + n++ };
      const g = pool ? await pool.gradients(x, y, ctx) : termGradients(model, x, y, terms, ctx);
      opt.apply(model.variables, g.grads, LEARNING_RATE);
      tf.dispose([...g.values, ...Object.values(g.grads)]);
      model.variables[0].dataSync(); // the step ends when its update is readable
    },
    async dispose() {
      await pool?.close();
      opt.dispose();
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}
