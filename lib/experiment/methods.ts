// A method = a named list of loss terms; trainMethods trains each method for each seed (through the checkpoint cache).
import type { DataSet, LossTerm } from '../types';
import { createModel, type ModelSpec } from '../models/zoo';
import type { SequentialModel } from '../models/sequential';
import { train, type EpochRecord, type TrainConfig, type TrainResult } from '../train/trainer';
import { trainElsewhere, type Run } from '../jobs/train-elsewhere';

export interface Method {
  /** Short id (file names, cache keys). */
  id: string;
  /** Legend / table label. */
  label: string;
  /** Fresh loss terms (terms may hold per-run state). */
  terms: () => LossTerm[];
}

export interface TrainedModel {
  method: Method;
  seed: number;
  model: SequentialModel;
  result: TrainResult;
  /** result.warnings: failed end-of-run checks (loss rising, accuracy near chance) and cache warnings; empty when all is well. */
  warnings: string[];
}

export interface TrainMethodsOptions {
  data: DataSet;
  model: ModelSpec;
  train: Omit<TrainConfig, 'seed'>;
  seeds: number[];
  /** Optional per-method override of the training config (e.g. epochs for an expensive method). */
  trainFor?: (m: Method) => Partial<Omit<TrainConfig, 'seed'>>;
  cache?: boolean;
  log?: (s: string) => void;
  /**
   * Where runs that are not cached train: 'inline' (here, one after the other), 'local' (a pool of worker processes on this
   * machine, GRADREG_JOBS of them, default one per core), 'queue' (workers on other machines, see the README). Default:
   * GRADREG_RUNNER, else 'local' when there is more than one core and more than one run to train. Runs trained elsewhere
   * are then loaded from the checkpoint cache: the same models, results and lines as an inline run.
   */
  runner?: 'inline' | 'local' | 'queue';
}

/** Trains every method with every seed; reuses cached checkpoints when nothing changed. */
export async function trainMethods(methods: Method[], opts: TrainMethodsOptions): Promise<TrainedModel[]> {
  const ids = new Set<string>();
  for (const m of methods) {
    if (ids.has(m.id)) throw new Error(`method id "${m.id}" is used twice`);
    ids.add(m.id);
  }
  const log = opts.log ?? console.log;
  const runs: Run[] = methods.flatMap((method) => opts.seeds.map((seed) => ({
    method, seed,
    model: createModel(opts.model, { inputShape: opts.data.shape, numClasses: opts.data.classNames.length, seed }),
    cfg: { ...opts.train, ...(opts.trainFor?.(method) ?? {}), seed } as TrainConfig,
    terms: method.terms(),
    modelKey: { spec: opts.model, method: method.id },
  })));
  // Uncached runs that can travel train in worker processes (or on a queue) first; the loop below then finds them cached.
  const elsewhere = await trainElsewhere(runs, { data: opts.data, spec: opts.model, cache: opts.cache, runner: opts.runner, log });
  const out: TrainedModel[] = [];
  for (const { method, seed, model, cfg, terms, modelKey } of runs) {
    const viaJob = elsewhere.has(model);
    // A run a worker trained: its messages were shown as it ran; here it is only loaded, and reported as trained.
    const result = await train(model, opts.data, cfg, { terms, modelKey, cache: opts.cache, quiet: viaJob || undefined });
    if (viaJob) {
      result.fromCache = false;
      for (const w of result.warnings) console.warn(`warning: ${w}`);
    }
    const last = result.history[result.history.length - 1];
    const n = result.warnings.length;
    log(`${method.label} (seed ${seed}): test accuracy ${(100 * last.testAcc).toFixed(2)}%, ` +
      `${result.fromCache ? 'from cache' : `trained in ${result.trainSeconds.toFixed(0)} s`}${n ? `, ${n} warning${n > 1 ? 's' : ''} (see above)` : ''}`);
    out.push({ method, seed, model, result, warnings: result.warnings });
  }
  return out;
}

/** Per-epoch rows for training-curve figures: loss, each term, accuracies. */
export function historyRows(h: EpochRecord[]): ({ epoch: number } & Record<string, number>)[] {
  return h.map((r) => ({ epoch: r.epoch, loss: r.loss, ...r.terms, trainAcc: r.trainAcc, testAcc: r.testAcc, seconds: r.seconds }));
}

/** Mean wall time per epoch of a training run. */
export function secondsPerEpoch(r: TrainResult): number {
  return r.history.reduce((a, e) => a + e.seconds, 0) / Math.max(1, r.history.length);
}

/** One row per run and end-of-run check (lib/train/checks.ts), for a table that shows which runs trained properly. */
export function trainingCheckRows(trained: TrainedModel[]): { model: string; method: string; seed: number; check: string; result: 'pass' | 'FAIL'; detail: string }[] {
  // A string, not a boolean: the rows go straight into publishTable.
  return trained.flatMap((t) => t.result.checks.map((c) => ({ model: t.model.name, method: t.method.label, seed: t.seed, check: c.name, result: c.pass ? 'pass' as const : 'FAIL' as const, detail: c.detail })));
}
