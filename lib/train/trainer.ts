// One trainer for every method: a method is a list of loss terms (cross-entropy, penalties, adversarial losses).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DataSet, LossContext, LossTerm, Model } from '../types';
import { dataDir } from '../data/paths';
import { deriveSeed, makeRng } from '../data/rng';
import { progress } from '../report/progress';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint';
import { createOptimizer, learningRate, type OptimizerConfig, type ScheduleConfig } from './optimizers';
import { accuracy } from './accuracy';
import { augmentBatch, type AugmentConfig } from './augment';
import { trainKey, UncacheableError } from './cache-key';
import { ensureWritableDir } from '../util/writable';
import { DivergenceError, epochDivergence, largestTerm, LOSS_LIMIT, LOSS_LIMIT_STEPS, NonFiniteLossError, stepDivergence } from './divergence';
import { trainingChecks, type TrainingCheck } from './checks';
import { eventLoopTurner } from '../util/event-loop';
import { termGradients, type TermGradients } from './term-gradients';
import { defaultThreads, openShardPool, shardPlan, type ShardPool } from './data-parallel';
import { backendReport } from '../backend';

export { TRAINER_VERSION, trainKey, weightsDigest } from './cache-key';
export { NonFiniteLossError } from './divergence';

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
  /** Relative change of the weights over the epoch: L2 norm of (after - before) / L2 norm of before. */
  weightChange: number;
}

export interface TrainOptions {
  terms: LossTerm[];
  /** What identifies the model in the cache key (e.g. its spec); the trainer adds config, terms, data, backend. */
  modelKey: unknown;
  /** Use the checkpoint cache (default true). */
  cache?: boolean;
  /**
   * Quiet: no progress bar and no messages. Warnings about the cache (corrupt checkpoint, a term that cannot be keyed) still
   * go to `log`/stderr; the end-of-run check warnings are then only on the result.
   */
  quiet?: boolean;
  /** Where cache-hit, resume, cache and check messages go (default: console.log, warnings console.warn). */
  log?: (message: string) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Called after every step, also when quiet (a worker process reports to the notebook's bar with it). */
  onProgress?: (done: number, total: number, info: string) => void;
  /**
   * Threads each step's batch is split over (lib/train/data-parallel.ts; default GRADREG_THREADS, else the number of cores).
   * Not part of the cache key: any count gives the same weights up to float32 round-off. Runs that cannot be split exactly
   * (batch norm, PGD AT, a term written in the notebook) use one thread.
   */
  threads?: number;
}

export interface TrainResult {
  history: EpochRecord[];
  fromCache: boolean;
  /** Wall time of the training that produced this model (the cached one's, on a cache hit). */
  trainSeconds: number;
  /** The checkpoint file ('' when the run could not be keyed). */
  checkpoint: string;
  /** The cache key ('' when the run could not be keyed: see warnings). */
  key: string;
  /** End-of-run checks (loss not rising, final accuracy above chance), each pass/fail with a sentence. */
  checks: TrainingCheck[];
  /** The failed checks' sentences and cache warnings, also printed (unless quiet). Empty when all is well. */
  warnings: string[];
  /** Threads the steps were split over (1 on a cache hit); see TrainOptions.threads. */
  threads: number;
}

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
 * Trains `model` in place, or loads it from the checkpoint cache; resumes an interrupted run from its last epoch.
 * Stops with a DivergenceError (NonFiniteLossError for NaN/Infinity) when training diverges: no checkpoint is written for
 * that epoch, so the run is never cached as finished. A run that ends near chance accuracy returns with a warning and is
 * not cached as finished either (its last epoch is not saved); a rising loss is a warning only (see lib/train/checks.ts).
 */
export async function train(model: Model, data: DataSet, cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  validate(cfg, data, opts.terms);
  const say = (s: string) => { if (!opts.quiet && process.env.GRADREG_QUIET !== '1') (opts.log ?? console.log)(s); };
  const warnAlways = (s: string) => (opts.log ?? console.warn)(`warning: ${s}`);
  const warnings: string[] = [];
  let useCache = opts.cache ?? true;
  let key = '';
  try {
    key = trainKey(model, data, cfg, opts);
  } catch (e) {
    if (!(e instanceof UncacheableError)) throw e;
    if (useCache) {
      warnings.push(`${e.message}; the checkpoint cache is off for this run`);
      warnAlways(warnings[warnings.length - 1]);
    }
    useCache = false;
  }
  // A read-only cache folder must fail now, not after the first epoch's work.
  if (useCache) ensureWritableDir(checkpointDir(), 'the checkpoint folder', 'set GRADREG_DATA to a writable folder, or pass cache: false');
  const file = key ? path.join(checkpointDir(), `${key}.ckpt`) : '';
  const numClasses = data.classNames.length;
  const opt = createOptimizer(cfg.optimizer, model.variables);
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let priorSeconds = 0;
  let initialLoss: number | undefined;

  if (useCache && fs.existsSync(file)) {
    try {
      const ck = loadCheckpoint(file);
      if (ck.header.key !== key) {
        throw new CorruptCheckpointError(`checkpoint ${file} was written under the key ${JSON.stringify(ck.header.key)}, not ${key} (copied or renamed?)`);
      }
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
      initialLoss = typeof ck.header.meta.initialLoss === 'number' ? ck.header.meta.initialLoss : undefined;
      if (ck.header.done) {
        opt.dispose();
        model.mode = 'eval';
        say(`${model.name}: loaded from cache (${path.relative(process.cwd(), file)})`);
        const checks = (ck.header.meta.checks as TrainingCheck[] | undefined) ?? (history.length ? trainingChecks(history, numClasses) : []);
        for (const c of checks.filter((c) => !c.pass)) {
          warnings.push(`${model.name}: ${c.detail}`);
          if (!opts.quiet) warnAlways(warnings[warnings.length - 1]);
        }
        return { history, fromCache: true, trainSeconds: priorSeconds, checkpoint: file, key, checks, warnings, threads: 1 };
      }
      say(`${model.name}: resuming from epoch ${startEpoch} of ${cfg.epochs}`);
    } catch (e) {
      if (!(e instanceof CorruptCheckpointError)) throw e;
      const aside = `${file}.corrupt-${Date.now()}`;
      fs.renameSync(file, aside);
      warnAlways(`${e.message}; moved aside to ${aside}; retraining from scratch`);
      history = [];
      startEpoch = 0;
      initialLoss = undefined;
    }
  }

  const stepsPerEpoch = Math.min(Math.ceil(data.size('train') / cfg.batchSize), cfg.maxStepsPerEpoch ?? Infinity);
  const stepsTotal = stepsPerEpoch * (cfg.epochs - startEpoch);
  let stepsDone = 0;
  const bar = opts.quiet ? undefined : progress(stepsTotal, `train ${model.name}`);
  const t0 = Date.now();
  let checks: TrainingCheck[] = [];
  const endWarnings: string[] = [];
  let before: tf.Tensor[] = [];
  // Where the last good checkpoint is, for messages when training stops.
  const kept = (epoch: number) => (useCache && epoch > 0 ? { keptCheckpoint: file, keptEpoch: epoch } : {});
  const asked = opts.threads ?? defaultThreads();
  const plan = shardPlan(model, opts.terms, backendReport().name, asked, cfg.batchSize);
  if (plan.reason && (opts.threads !== undefined || process.env.GRADREG_THREADS)) say(`${model.name}: ${plan.threads} of ${asked} threads: ${plan.reason}`);
  let pool: ShardPool | undefined;
  try {
    if (plan.threads > 1) pool = await openShardPool(plan.threads, backendReport().name, model, opts.terms);
    const turnEventLoop = eventLoopTurner();
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const te = Date.now();
      const sums: Record<string, number> = Object.fromEntries(opts.terms.map((t) => [t.name, 0]));
      let lossSum = 0;
      let steps = 0;
      let lr = cfg.optimizer.lr;
      before = model.variables.map((v) => tf.clone(v));
      const augRng = makeRng(deriveSeed(cfg.seed, epoch, 0xa11));
      for (const batch of data.batches('train', { size: cfg.batchSize, seed: deriveSeed(cfg.seed, epoch), shuffle: true })) {
        if (steps >= stepsPerEpoch) { tf.dispose([batch.x, batch.y]); break; }
        lr = learningRate(cfg.optimizer.lr, cfg.schedule, epoch + steps / stepsPerEpoch, cfg.epochs);
        const x = cfg.augment ? augmentBatch(batch.x, cfg.augment, augRng) : batch.x;
        const ctx: LossContext = { epoch, step: epoch * stepsPerEpoch + steps, seed: deriveSeed(cfg.seed, epoch, steps) };
        let res: ReturnType<typeof step>;
        try {
          res = pool ? applyGradients(model, await pool.gradients(x, batch.y, ctx), opt, lr) : step(model, x, batch.y, opts.terms, ctx, opt, lr);
        } finally {
          if (x !== batch.x) x.dispose();
          tf.dispose([batch.x, batch.y]);
        }
        const values = res.values;
        let stepLoss = 0;
        opts.terms.forEach((t, i) => {
          if (!Number.isFinite(values[i])) {
            throw new NonFiniteLossError(`training ${model.name} stopped: loss term "${t.name}" is ${values[i]} at epoch ${epoch + 1}, batch ${steps + 1}. ` +
              `${useCache && epoch > 0 ? `The last good checkpoint (epoch ${epoch}) is kept at ${file}.` : 'No checkpoint was written.'} ` +
              "Lower the learning rate or the term's weight.");
          }
          sums[t.name] += values[i];
          stepLoss += t.weight * values[i];
        });
        if (!res.gradsFinite) {
          throw new NonFiniteLossError(`training ${model.name} stopped: the gradient is not finite at epoch ${epoch + 1}, batch ${steps + 1} ` +
            `although every term is (${opts.terms.map((t, i) => `${t.name} = ${values[i].toPrecision(4)}`).join(', ')}); the weights were not updated. ` +
            `${useCache && epoch > 0 ? `The last good checkpoint (epoch ${epoch}) is kept at ${file}.` : 'No checkpoint was written.'} ` +
            'Look for a sqrt or division at 0 in a penalty, or lower the learning rate or the weight of the largest term ' +
            `${largestTerm(opts.terms, Object.fromEntries(opts.terms.map((t, i) => [t.name, values[i]]))).text} (float32 overflows past 3.4e38).`);
        }
        lossSum += stepLoss;
        initialLoss ??= stepLoss;
        steps++;
        // A long epoch that exploded is not run to its end (one batch may be 0 or huge: the mean over the steps so far decides).
        if (steps >= LOSS_LIMIT_STEPS && lossSum / steps > LOSS_LIMIT) {
          throw new DivergenceError(stepDivergence({
            model: model.name, epoch: epoch + 1, meanLoss: lossSum / steps, steps, initialLoss, numClasses, terms: opts.terms,
            termValues: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps])), optimizer: cfg.optimizer, ...kept(epoch),
          }));
        }
        const info = `epoch ${epoch + 1}/${cfg.epochs} loss ${(lossSum / steps).toFixed(3)}`;
        bar?.tick(1, info);
        opts.onProgress?.(stepsDone += 1, stepsTotal, info);
        // A notebook's progress redraws leave the kernel only when the event loop turns (zeromq under tslab): let it, ~1/s.
        await turnEventLoop();
      }
      const weightChange = relativeChange(before, model.variables);
      tf.dispose(before);
      before = [];
      const rec: EpochRecord = {
        epoch: epoch + 1, loss: lossSum / steps, terms: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps])),
        trainAcc: accuracy(model, data, 'train', Math.min(cfg.evalSize ?? 1000, data.size('train'))),
        testAcc: accuracy(model, data, 'test', Math.min(cfg.evalSize ?? data.size('test'), data.size('test'))),
        seconds: (Date.now() - te) / 1000, lr, weightChange,
      };
      const diverged = epochDivergence({
        model: model.name, epoch: epoch + 1, loss: rec.loss, previousLoss: history[history.length - 1]?.loss, initialLoss: initialLoss ?? rec.loss,
        numClasses, weightChange, termValues: rec.terms, terms: opts.terms, optimizer: cfg.optimizer, ...kept(epoch),
      });
      if (diverged) {
        const err = new DivergenceError(diverged);
        err.history = [...history, rec];
        throw err;
      }
      history.push(rec);
      opts.onEpoch?.(rec);
      const last = epoch + 1 === cfg.epochs;
      if (last) checks = trainingChecks(history, numClasses);
      // A run that ends at chance accuracy is not a trained model: its last epoch is not saved, so it is never cached as done.
      const atChance = last && checks.some((c) => c.name === 'above-chance' && !c.pass);
      if (useCache && !atChance) {
        const os = opt.state();
        await saveCheckpoint(file, {
          key, epoch: epoch + 1, done: last, optimizerStep: os.step, history,
          meta: { model: model.name, trainSeconds: priorSeconds + (Date.now() - t0) / 1000, initialLoss, ...(last ? { checks } : {}) },
        }, { variables: model.variables, state: model.state, optimizer: os.tensors });
      }
      if (last) endWarnings.push(...checks.filter((c) => !c.pass).map((c) => `${model.name}: ${c.detail}`));
      if (atChance && useCache) {
        endWarnings.push(`${model.name}: not cached as a finished model (accuracy at chance); ` +
          `${epoch > 0 ? `the epoch-${epoch} checkpoint is kept and a rerun retrains the last epoch from it` : 'no checkpoint was written'}`);
      }
    }
  } catch (e) {
    if (e instanceof DivergenceError && e.history.length === 0) e.history = [...history];
    throw e;
  } finally {
    // Also on a NaN stop or an interruption: no optimizer state leaks, the bar is closed, the last good checkpoint stays.
    tf.dispose(before);
    bar?.done();
    opt.dispose();
    model.mode = 'eval';
    await pool?.close();
  }
  for (const w of endWarnings) {
    warnings.push(w);
    if (!opts.quiet) warnAlways(w);
  }
  return { history, fromCache: false, trainSeconds: priorSeconds + (Date.now() - t0) / 1000, checkpoint: file, key, checks, warnings, threads: plan.threads };
}

/**
 * L2 norm of (after - before) over all weights / L2 norm of before (0 when nothing moved, also from zero weights). Each norm
 * is computed as max|.| * ||./max|.||| so that squares of large weights cannot overflow float32 (a diverged run has those).
 */
function relativeChange(before: tf.Tensor[], after: tf.Variable[]): number {
  const read = (f: () => tf.Tensor[]) => { const t = tf.tidy(() => tf.stack(f())); const v = Array.from(t.dataSync()); t.dispose(); return v; };
  const diffs = () => after.map((v, i) => tf.sub(v, before[i]));
  const [dm, bm] = read(() => [tf.max(tf.stack(diffs().map((d) => tf.max(tf.abs(d))))), tf.max(tf.stack(before.map((b) => tf.max(tf.abs(b)))))]);
  if (dm === 0) return 0;
  if (bm === 0) return Infinity;
  const [ds, bs] = read(() => [tf.addN(diffs().map((d) => tf.sum(tf.square(tf.div(d, dm))))), tf.addN(before.map((b) => tf.sum(tf.square(tf.div(b, bm)))))]);
  return (dm * Math.sqrt(ds)) / (bm * Math.sqrt(bs));
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
  return applyGradients(model, termGradients(model, x, y, terms, ctx), opt, lr);
}

/** Applies a step's gradients unless a term value or a gradient entry is not finite; disposes `g`. */
function applyGradients(model: Model, g: TermGradients, opt: ReturnType<typeof createOptimizer>, lr: number): { values: number[]; gradsFinite: boolean } {
  const { values: kept, grads } = g;
  try {
    // One read-back per step: the term values and whether every gradient entry is finite (a NaN gradient must not reach the weights).
    const flags = tf.tidy(() => tf.concat([tf.stack(kept), tf.cast(tf.all(tf.stack(Object.values(grads).map((g) => tf.all(tf.isFinite(g))))), 'float32').reshape([1])]));
    const read = Array.from(flags.dataSync());
    flags.dispose();
    const values = read.slice(0, kept.length);
    const gradsFinite = read[kept.length] === 1;
    if (values.every(Number.isFinite) && gradsFinite) {
      opt.apply(model.variables, grads, lr);
      model.commitStats?.();
    }
    return { values, gradsFinite };
  } finally {
    tf.dispose([...kept, ...Object.values(grads)]);
  }
}
