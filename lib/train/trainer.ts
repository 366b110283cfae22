// One trainer for every method: a method is a list of loss terms (cross-entropy, penalties, adversarial losses).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DataSet, LossContext, LossTerm, Model } from '../types';
import { backendReport } from '../backend';
import { dataDir } from '../data/paths';
import { deriveSeed, makeRng } from '../data/rng';
import { configHash } from '../experiment/params';
import { progress } from '../report/progress';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { createOptimizer, learningRate, type OptimizerConfig, type ScheduleConfig } from './optimizers';
import { accuracy } from './accuracy';
import { augmentBatch, type AugmentConfig } from './augment';

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
  /** Quiet: no progress bar. */
  quiet?: boolean;
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
  const pos = (v: number, name: string) => { if (!(Number.isFinite(v) && v > 0)) throw new Error(`train config: "${name}" must be positive, got ${v}`); };
  pos(cfg.epochs, 'epochs');
  pos(cfg.batchSize, 'batchSize');
  pos(cfg.optimizer.lr, 'optimizer.lr');
  if (!Number.isInteger(cfg.epochs) || !Number.isInteger(cfg.batchSize)) throw new Error('train config: "epochs" and "batchSize" must be integers');
  if (cfg.batchSize > data.size('train')) throw new Error(`train config: "batchSize" ${cfg.batchSize} is larger than the ${data.size('train')} training examples`);
  if (!Number.isInteger(cfg.seed)) throw new Error(`train config: "seed" must be an integer, got ${cfg.seed}`);
  if (terms.length === 0) throw new Error('train: no loss terms given (a method is a list of terms, e.g. [crossEntropyTerm()])');
  const names = new Set<string>();
  for (const t of terms) {
    if (!(t.weight >= 0)) throw new Error(`loss term "${t.name}": weight must be >= 0, got ${t.weight}`);
    if (names.has(t.name)) throw new Error(`loss term name "${t.name}" is used twice: names label the logged values`);
    names.add(t.name);
  }
}

export function checkpointDir(): string {
  return path.join(dataDir(), 'checkpoints');
}

/** The cache key: everything that changes the trained weights. */
export function trainKey(model: Model, data: DataSet, cfg: TrainConfig, opts: TrainOptions): string {
  return configHash({
    v: TRAINER_VERSION, model: opts.modelKey, modelName: model.name, params: model.paramCount(), data: data.name,
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
  const say = (s: string) => { if (!opts.quiet && process.env.GRADREG_QUIET !== '1') console.log(s); };

  if (useCache && fs.existsSync(file)) {
    try {
      const ck = loadCheckpoint(file);
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
        say(`${model.name}: loaded from cache (${path.relative(process.cwd(), file)})`);
        return { history, fromCache: true, trainSeconds: priorSeconds, checkpoint: file, key };
      }
      say(`${model.name}: resuming from epoch ${startEpoch} of ${cfg.epochs}`);
    } catch (e) {
      if (!(e instanceof CorruptCheckpointError)) throw e;
      const aside = `${file}.corrupt-${Date.now()}`;
      fs.renameSync(file, aside);
      console.warn(`warning: ${e.message}; moved aside to ${aside}; retraining from scratch`);
      history = [];
      startEpoch = 0;
    }
  }

  const stepsPerEpoch = Math.min(Math.ceil(data.size('train') / cfg.batchSize), cfg.maxStepsPerEpoch ?? Infinity);
  const bar = opts.quiet ? undefined : progress(stepsPerEpoch * (cfg.epochs - startEpoch), `train ${model.name}`);
  const t0 = Date.now();
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
      const values = step(model, x, batch.y, opts.terms, ctx, opt, lr);
      if (x !== batch.x) x.dispose();
      tf.dispose([batch.x, batch.y]);
      opts.terms.forEach((t, i) => {
        if (!Number.isFinite(values[i])) {
          opt.dispose();
          throw new NonFiniteLossError(`training ${model.name} stopped: loss term "${t.name}" is ${values[i]} at epoch ${epoch + 1}, batch ${steps + 1}. ` +
            `The last good checkpoint (epoch ${epoch}) is kept${useCache ? ` at ${file}` : ''}. Lower the learning rate or the term's weight.`);
        }
        sums[t.name] += values[i];
        lossSum += t.weight * values[i];
      });
      steps++;
      bar?.tick(1, `epoch ${epoch + 1}/${cfg.epochs} loss ${(lossSum / steps).toFixed(3)}`);
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
  bar?.done();
  opt.dispose();
  return { history, fromCache: false, trainSeconds: priorSeconds + (Date.now() - t0) / 1000, checkpoint: file, key };
}

/** One optimizer step; returns each term's unweighted value. */
export function trainStep(
  model: Model, x: tf.Tensor4D, y: tf.Tensor1D, terms: LossTerm[], ctx: LossContext, opt: ReturnType<typeof createOptimizer>, lr: number,
): number[] {
  return step(model, x, y, terms, ctx, opt, lr);
}

function step(
  model: Model, x: tf.Tensor4D, y: tf.Tensor1D, terms: LossTerm[], ctx: LossContext, opt: ReturnType<typeof createOptimizer>, lr: number,
): number[] {
  const prepared = terms.map((t) => {
    if (!t.prepare) return undefined;
    const prev = model.mode;
    model.mode = 'eval';
    try { return t.prepare(model, x, y, ctx); } finally { model.mode = prev; }
  });
  model.mode = 'train';
  const kept: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    let total = tf.scalar(0);
    terms.forEach((t, i) => {
      const v = t.value(model, x, y, { ...ctx, prepared: prepared[i] });
      kept.push(tf.keep(v.clone()));
      total = tf.add(total, tf.mul(v, t.weight));
    });
    return total;
  }, model.variables);
  const stacked = tf.stack(kept);
  const values = Array.from(stacked.dataSync());
  stacked.dispose();
  tf.dispose([value, ...kept, ...prepared.filter((p): p is tf.Tensor4D => p !== undefined)]);
  if (values.every(Number.isFinite)) {
    opt.apply(model.variables, grads, lr);
    model.commitStats?.();
  }
  tf.dispose(Object.values(grads));
  return values;
}
