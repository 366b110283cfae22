// The core shapes every part of the kit agrees on. Inputs are always NHWC floats in [0, 1]; labels are int32 class indices.
import type * as tf from '@tensorflow/tfjs';

export type Mode = 'train' | 'eval';

/** A classifier: inputs in [0,1] (normalization lives inside), logits out. */
export interface Model {
  readonly name: string;
  /** [height, width, channels] of one input. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** 'train' uses batch statistics (and dropout, if any); 'eval' uses running statistics. Set it explicitly. */
  mode: Mode;
  /** Logits [B, numClasses]. Differentiable twice w.r.t. inputs and weights on every backend. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** Trainable weights. */
  readonly variables: tf.Variable[];
  /** Non-trainable state saved in checkpoints (batch-norm running statistics); empty if none. */
  readonly state: tf.Variable[];
  /** Number of trainable scalars. */
  paramCount(): number;
  /** Folds batch statistics of the last train-mode forward into running ones; the trainer calls it once per step. */
  commitStats?(): void;
  dispose(): void;
}

/** What a loss term may need to know besides the batch. */
export interface LossContext {
  epoch: number;
  step: number;
  /** Seed for anything random in this step (derived from the run seed and the step): reproducible runs. */
  seed: number;
  /** What this term's `prepare` returned for this batch (e.g. adversarial inputs, made outside the gradient tape). */
  prepared?: tf.Tensor4D;
  /**
   * Set when the trainer splits the batch over threads (lib/train/data-parallel.ts): x holds rows [offset, offset + x.shape[0])
   * of a batch of `total`. The trainer weights the value by x.shape[0] / total, exact for a mean over the batch; a term that
   * draws per-example noise takes its rows of the whole batch's draw (lib/train/batch-shard.ts), one whose value scales
   * otherwise with the batch size corrects for it.
   */
  shard?: { offset: number; total: number };
}

/**
 * One additive piece of a training objective: cross-entropy, a regularizer, an adversarial-training loss.
 * `value` returns the UNWEIGHTED scalar; the trainer adds `weight * value` and logs `value` under `name`.
 * It must be differentiable w.r.t. model.variables (the trainer takes its gradient).
 */
export interface LossTerm {
  readonly name: string;
  readonly weight: number;
  /** The term's settings, part of the checkpoint cache key (change one, retrain). */
  readonly config?: Record<string, unknown>;
  /**
   * Stands for the term's code in the cache key. Without it the trainer hashes the source of value/prepare; set it (and change
   * it with the code) when that source cannot be read, e.g. a bound function.
   */
  readonly cacheId?: string;
  /**
   * Optional work done before the gradient tape starts (attack generation: its steps need no weight gradient); the result is
   * handed to `value` as ctx.prepared and disposed by the trainer after the step.
   */
  prepare?(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): tf.Tensor4D;
  value(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, ctx: LossContext): tf.Scalar;
}

export type Norm = 'linf' | 'l2' | 'l1' | 'flow';

export interface ThreatModel {
  norm: Norm;
  /** Budget in input units ([0,1] pixels) or, for 'flow', in sampling-grid units (coordinates in [-1,1]). */
  eps: number;
  targeted?: boolean;
}

export interface AttackRunOptions {
  /** Seed for random starts / random search: same seed, same adversarial examples. */
  seed?: number;
  /** Target labels for targeted attacks. */
  targets?: tf.Tensor1D;
  /** Called after each iteration with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** An attack: model + clean inputs in [0,1] + labels -> adversarial inputs in [0,1] within the threat model. */
export interface Attack {
  readonly name: string;
  readonly threat: ThreatModel;
  /** The resolved settings (steps, step size, restarts, ...), listed on result cards beside the numbers. */
  readonly config?: Record<string, unknown>;
  run(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts?: AttackRunOptions): tf.Tensor4D;
}

export type Split = 'train' | 'test';

export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

export interface BatchOptions {
  size: number;
  seed?: number;
  shuffle?: boolean;
  /** Keep the last, smaller batch (default true). */
  remainder?: boolean;
}

/** A labelled image data set held in memory; tensors are created per batch (callers dispose them). */
export interface DataSet {
  readonly name: string;
  /** [height, width, channels]. */
  readonly shape: readonly [number, number, number];
  readonly classNames: readonly string[];
  size(split: Split): number;
  /** Labels of a split, in order. */
  labels(split: Split): Int32Array;
  /** Mini-batches as float tensors in [0,1]; seeded shuffle. */
  batches(split: Split, opts: BatchOptions): Iterable<Batch>;
  /** Examples at the given indices as one batch. */
  batch(split: Split, indices: ArrayLike<number>): Batch;
  /** A seeded, class-stratified subset: `n` train examples (and `nTest` test examples, default all). */
  take(n: number, opts?: { seed?: number; nTest?: number }): DataSet;
}
