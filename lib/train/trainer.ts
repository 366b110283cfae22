// One trainer for every method: a method is a list of loss terms (cross-entropy, penalties, adversarial losses).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DataSet, LossContext, LossTerm, Model } from '../types';
import { backendReport } from '../backend';
import { dataDir } from '../data/paths';
import { deriveSeed, makeRng } from '../data/rng';
import { configHash } from '../experiment/params';
import { progress } from '../report/progress';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint';
import { createOptimizer, learningRate, type OptimizerConfig, type ScheduleConfig } from './optimizers';
import { accuracy } from './accuracy';
import { augmentBatch, type AugmentConfig } from './augment';
import { eventLoopTurner } from '../util/event-loop';

/** Bump when a change to the trainer changes the numbers it produces: old checkpoints are then not reused. */
export const TRAINER_VERSION = 1;

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule?: ScheduleConfig;
  augment?: AugmentConfig;
  seed: number;
  /** Stop each epoch after this many steps (smoke runs). */
  maxStepsPerEpoch?: number;
  /** Test examples used for the per-epoch test accuracy (default: the whole test split). */
  evalSize?: number;
}

export interface EpochRecord {
  epoch: number;
  /** Weighted total loss, mean over the epoch's steps. */
  loss: number;
  /** Each term's unweighted value, mean over steps, by term name. */
  terms: Record<string, number>;
  trainAcc: number;
  testAcc: number;
  seconds: number;
  lr: number;
}

export interface TrainOptions {
  terms: LossTerm[];
  /** What identifies the model in the cache key (e.g. its spec); the trainer adds config, terms, data, backend. */
  modelKey: unknown;
  /** Use the checkpoint cache (default true). */
  cache?: boolean;
  /** Quiet: no progress bar and no messages (warnings about corrupt checkpoints still go to `log`/stderr). */
  quiet?: boolean;
  /** Where cache-hit, resume and corrupt-checkpoint messages go (default: console.log, warnings console.warn). */
  log?: (message: string) => void;
  onEpoch?: (r: EpochRecord) => void;
}

export interface TrainResult {
  history: EpochRecord[];
  fromCache: boolean;
  /** Wall time of the training that produced this model (the cached one's, on a cache hit). */
  trainSeconds: number;
  checkpoint: string;
  key: string;
}

export class NonFiniteLossError extends Error {}

function validate(cfg: TrainConfig, data: DataSet, terms: LossTerm[]): void {
  const fail = (field: string, want: string, got: unknown) => {
    throw new Error(`train config: "${field}" must be ${want}, got ${JSON.stringify(got)}`);
  };
  const posInt = (v: unknown, field: string) => { if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) fail(field, 'a positive integer', v); };
  const inRange = (v: unknown, field: string, lo: number, hi: number, want: string) => {
    if (v !== undefined && !(typeof v === 'number' && v >= lo && v < hi)) fail(field, want, v);
  };
  posInt(cfg.epochs, 'epochs');
  posInt(cfg.batchSize, 'batchSize');
  if (cfg.batchSize > data.size('train')) throw new Error(`train config: "batchSize" ${cfg.batchSize} is larger than the ${data.size('train')} training examples`);
  if (!Number.isInteger(cfg.seed)) fail('seed', 'an integer', cfg.seed);
  if (cfg.maxStepsPerEpoch !== undefined) posInt(cfg.maxStepsPerEpoch, 'maxStepsPerEpoch');
  if (cfg.evalSize !== undefined) posInt(cfg.evalSize, 'evalSize');
  const o = cfg.optimizer as OptimizerConfig | undefined;
  if (!o || (o.kind !== 'sgd' && o.kind !== 'adam')) fail('optimizer.kind', '"sgd" or "adam"', (o as { kind?: unknown } | undefined)?.kind);
  if (!(typeof o!.lr === 'number' && Number.isFinite(o!.lr) && o!.lr > 0)) throw new Error(`train config: "optimizer.lr" must be positive, got ${o!.lr}`);
  inRange(o!.weightDecay, 'optimizer.weightDecay', 0, Infinity, '>= 0');
  if (o!.kind === 'sgd') inRange(o!.momentum, 'optimizer.momentum', 0, 1, 'in [0, 1)');
  if (o!.kind === 'adam') {
    inRange(o!.beta1, 'optimizer.beta1', 0, 1, 'in [0, 1)');
    inRange(o!.beta2, 'optimizer.beta2', 0, 1, 'in [0, 1)');
    if (o!.epsilon !== undefined && !(o!.epsilon > 0)) fail('optimizer.epsilon', '> 0', o!.epsilon);
  }
  const sc = cfg.schedule;
  if (sc) {
    if (sc.kind === 'step') {
      if (!Array.isArray(sc.milestones) || sc.milestones.some((m, i) => !(m > 0) || (i > 0 && m <= sc.milestones[i - 1]))) {
        fail('schedule.milestones', 'increasing positive epochs', sc.milestones);
      }
      if (!(sc.gamma > 0)) fail('schedule.gamma', '> 0', sc.gamma);
    } else if (sc.kind === 'cosine') {
      if (sc.minLr !== undefined && !(sc.minLr >= 0 && sc.minLr <= cfg.optimizer.lr)) fail('schedule.minLr', `in [0, optimizer.lr = ${cfg.optimizer.lr}]`, sc.minLr);
    } else if (sc.kind !== 'constant') fail('schedule.kind', '"constant", "step" or "cosine"', (sc as { kind: unknown }).kind);
  }
  const [h, w] = data.shape;
  if (cfg.augment?.crop !== undefined && !(Number.isInteger(cfg.augment.crop) && cfg.augment.crop >= 0 && cfg.augment.crop < Math.min(h, w))) {
    fail('augment.crop', `an integer padding in [0, ${Math.min(h, w)})`, cfg.augment.crop);
  }
  if (terms.length === 0) throw new Error('train: no loss terms given (a method is a list of terms, e.g. [crossEntropyTerm()])');
  const names = new Set<string>();
  for (const t of terms) {
    if (!(typeof t.weight === 'number' && t.weight >= 0 && Number.isFinite(t.weight))) throw new Error(`loss term "${t.name}": weight must be >= 0, got ${t.weight}`);
    if (names.has(t.name)) throw new Error(`loss term name "${t.name}" is used twice: names label the logged values`);
    names.add(t.name);
  }
}

export function checkpointDir(): string {
  return path.join(dataDir(), 'checkpoints');
}

/**
 * A digest of the model's weights and state before training: the initialization seed (which the trainer cannot see) and any
 * warm start are then part of the cache key, so a model built with another seed is never handed someone else's weights.
 */
export function weightsDigest(model: Model): string {
  const h = crypto.createHash('sha256');
  for (const v of [...model.variables, ...model.state]) {
    const d = v.dataSync() as Float32Array;
    h.update(v.shape.join('x')).update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

/** The cache key: everything that changes the trained weights. */
export function trainKey(model: Model, data: DataSet, cfg: TrainConfig, opts: TrainOptions): string {
  return configHash({
    v: TRAINER_VERSION, model: opts.modelKey, modelName: model.name, params: model.paramCount(), init: weightsDigest(model), data: data.name,
    n: [data.size('train'), data.size('test')], cfg, terms: opts.terms.map((t) => ({ name: t.name, weight: t.weight, config: t.config ?? null })),
    backend: backendReport().family,
  }).slice(0, 24);
}

/** Trains `model` in place, or loads it from the checkpoint cache; resumes an interrupted run from its last epoch. */
export async function train(model: Model, data: DataSet, cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  validate(cfg, data, opts.terms);
  const key = trainKey(model, data, cfg, opts);
  const file = path.join(checkpointDir(), `${key}.ckpt`);
  const useCache = opts.cache ?? true;
  const opt = createOptimizer(cfg.optimizer, model.variables);
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let priorSeconds = 0;
  const say = (s: string) => { if (!opts.quiet && process.env.GRADREG_QUIET !== '1') (opts.log ?? console.log)(s); };

  if (useCache && fs.existsSync(file)) {
    try {
      const ck = loadCheckpoint(file);
      checkCompatible(ck, model, opt.state().tensors, file);
      tf.tidy(() => {
        model.variables.forEach((v, i) => v.assign(tf.tensor(ck.groups.variables[i], v.shape)));
        model.state.forEach((v, i) => v.assign(tf.tensor(ck.groups.state[i], v.shape)));
      });
      const optState = ck.groups.optimizer.map((a, i) => tf.tensor(a, ck.header.tensors.filter((t) => t.group === 'optimizer')[i].shape));
      opt.setState(ck.header.optimizerStep, optState);
      tf.dispose(optState);
      history = ck.header.history as EpochRecord[];
      startEpoch = ck.header.epoch;
      priorSeconds = Number(ck.header.meta.trainSeconds ?? 0);
      if (ck.header.done) {
        opt.dispose();
        model.mode = 'eval';
        say(`${model.name}: loaded from cache (${path.relative(process.cwd(), file)})`);
        return { history, fromCache: true, trainSeconds: priorSeconds, checkpoint: file, key };
      }
      say(`${model.name}: resuming from epoch ${startEpoch} of ${cfg.epochs}`);
    } catch (e) {
      if (!(e instanceof CorruptCheckpointError)) throw e;
      const aside = `${file}.corrupt-${Date.now()}`;
      fs.renameSync(file, aside);
      (opts.log ?? console.warn)(`warning: ${e.message}; moved aside to ${aside}; retraining from scratch`);
      history = [];
      startEpoch = 0;
    }
  }

  const stepsPerEpoch = Math.min(Math.ceil(data.size('train') / cfg.batchSize), cfg.maxStepsPerEpoch ?? Infinity);
  const bar = opts.quiet ? undefined : progress(stepsPerEpoch * (cfg.epochs - startEpoch), `train ${model.name}`);
  const t0 = Date.now();
  try {
    const turnEventLoop = eventLoopTurner();
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const te = Date.now();
      const sums: Record<string, number> = Object.fromEntries(opts.terms.map((t) => [t.name, 0]));
      let lossSum = 0;
      let steps = 0;
      let lr = cfg.optimizer.lr;
      const augRng = makeRng(deriveSeed(cfg.seed, epoch, 0xa11));
      for (const batch of data.batches('train', { size: cfg.batchSize, seed: deriveSeed(cfg.seed, epoch), shuffle: true })) {
        if (steps >= stepsPerEpoch) { tf.dispose([batch.x, batch.y]); break; }
        lr = learningRate(cfg.optimizer.lr, cfg.schedule, epoch + steps / stepsPerEpoch, cfg.epochs);
        const x = cfg.augment ? augmentBatch(batch.x, cfg.augment, augRng) : batch.x;
        const ctx: LossContext = { epoch, step: epoch * stepsPerEpoch + steps, seed: deriveSeed(cfg.seed, epoch, steps) };
        let res: ReturnType<typeof step>;
        try {
          res = step(model, x, batch.y, opts.terms, ctx, opt, lr);
        } finally {
          if (x !== batch.x) x.dispose();
          tf.dispose([batch.x, batch.y]);
        }
        const values = res.values;
        opts.terms.forEach((t, i) => {
          if (!Number.isFinite(values[i])) {
            throw new NonFiniteLossError(`training ${model.name} stopped: loss term "${t.name}" is ${values[i]} at epoch ${epoch + 1}, batch ${steps + 1}. ` +
              `${useCache && epoch > 0 ? `The last good checkpoint (epoch ${epoch}) is kept at ${file}.` : 'No checkpoint was written.'} ` +
              "Lower the learning rate or the term's weight.");
          }
          sums[t.name] += values[i];
          lossSum += t.weight * values[i];
        });
        if (!res.gradsFinite) {
          throw new NonFiniteLossError(`training ${model.name} stopped: the gradient is not finite at epoch ${epoch + 1}, batch ${steps + 1} ` +
            `although every term is (${opts.terms.map((t, i) => `${t.name} = ${values[i].toPrecision(4)}`).join(', ')}); the weights were not updated. ` +
            `${useCache && epoch > 0 ? `The last good checkpoint (epoch ${epoch}) is kept at ${file}.` : 'No checkpoint was written.'} ` +
            'Look for a sqrt or division at 0 in a penalty, or lower the learning rate.');
        }
        steps++;
        bar?.tick(1, `epoch ${epoch + 1}/${cfg.epochs} loss ${(lossSum / steps).toFixed(3)}`);
        // A notebook's progress redraws leave the kernel only when the event loop turns (zeromq under tslab): let it, ~1/s.
        await turnEventLoop();
      }
      const rec: EpochRecord = {
        epoch: epoch + 1, loss: lossSum / steps, terms: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps])),
        trainAcc: accuracy(model, data, 'train', Math.min(cfg.evalSize ?? 1000, data.size('train'))),
        testAcc: accuracy(model, data, 'test', Math.min(cfg.evalSize ?? data.size('test'), data.size('test'))),
        seconds: (Date.now() - te) / 1000, lr,
      };
      history.push(rec);
      opts.onEpoch?.(rec);
      if (useCache) {
        const os = opt.state();
        await saveCheckpoint(file, {
          key, epoch: epoch + 1, done: epoch + 1 === cfg.epochs, optimizerStep: os.step, history,
          meta: { model: model.name, trainSeconds: priorSeconds + (Date.now() - t0) / 1000 },
        }, { variables: model.variables, state: model.state, optimizer: os.tensors });
      }
    }
  } finally {
    // Also on a NaN stop or an interruption: no optimizer state leaks, the bar is closed, the last good checkpoint stays.
    bar?.done();
    opt.dispose();
    model.mode = 'eval';
  }
  return { history, fromCache: false, trainSeconds: priorSeconds + (Date.now() - t0) / 1000, checkpoint: file, key };
}

/** A checkpoint written for other shapes (the model code changed under the same key) is not loaded: it is retrained. */
function checkCompatible(ck: CheckpointData, model: Model, optTensors: tf.Tensor[], file: string): void {
  const want: Record<'variables' | 'state' | 'optimizer', number[][]> = {
    variables: model.variables.map((v) => v.shape), state: model.state.map((v) => v.shape), optimizer: optTensors.map((t) => t.shape),
  };
  for (const group of ['variables', 'state', 'optimizer'] as const) {
    const got = ck.header.tensors.filter((t) => t.group === group).map((t) => t.shape);
    if (JSON.stringify(got) !== JSON.stringify(want[group])) {
      throw new CorruptCheckpointError(`checkpoint ${file} does not fit ${model.name} (${group}: ${got.length} tensors, expected ${want[group].length} of the model's shapes)`);
    }
  }
}

/** One optimizer step; returns each term's unweighted value (the update is skipped when a value or the gradient is not finite). */
export function trainStep(
  model: Model, x: tf.Tensor4D, y: tf.Tensor1D, terms: LossTerm[], ctx: LossContext, opt: ReturnType<typeof createOptimizer>, lr: number,
): number[] {
  return step(model, x, y, terms, ctx, opt, lr).values;
}

function step(
  model: Model, x: tf.Tensor4D, y: tf.Tensor1D, terms: LossTerm[], ctx: LossContext, opt: ReturnType<typeof createOptimizer>, lr: number,
): { values: number[]; gradsFinite: boolean } {
  const prepared: (tf.Tensor4D | undefined)[] = [];
  const kept: tf.Scalar[] = [];
  let grads: tf.NamedTensorMap = {};
  try {
    for (const t of terms) {
      if (!t.prepare) { prepared.push(undefined); continue; }
      const prev = model.mode;
      model.mode = 'eval';
      try { prepared.push(t.prepare(model, x, y, ctx)); } finally { model.mode = prev; }
    }
    model.mode = 'train';
    const res = tf.variableGrads(() => {
      let total = tf.scalar(0);
      terms.forEach((t, i) => {
        const v = t.value(model, x, y, { ...ctx, prepared: prepared[i] });
        kept.push(tf.keep(v.clone()));
        total = tf.add(total, tf.mul(v, t.weight));
      });
      return total;
    }, model.variables);
    res.value.dispose();
    grads = res.grads;
    const missing = model.variables.filter((v) => !grads[v.name]).map((v) => v.name);
    if (missing.length) throw new Error(`train step: no gradient reaches ${missing.length} of ${model.name}'s weights (${missing.slice(0, 3).join(', ')}); every weight must take part in the loss`);
    // One read-back per step: the term values and whether every gradient entry is finite (a NaN gradient must not reach the weights).
    const flags = tf.tidy(() => tf.concat([tf.stack(kept), tf.cast(tf.all(tf.stack(Object.values(grads).map((g) => tf.all(tf.isFinite(g))))), 'float32').reshape([1])]));
    const read = Array.from(flags.dataSync());
    flags.dispose();
    const values = read.slice(0, terms.length);
    const gradsFinite = read[terms.length] === 1;
    if (values.every(Number.isFinite) && gradsFinite) {
      opt.apply(model.variables, grads, lr);
      model.commitStats?.();
    }
    return { values, gradsFinite };
  } finally {
    tf.dispose([...kept, ...prepared.filter((p): p is tf.Tensor4D => p !== undefined), ...Object.values(grads)]);
  }
}
