// Choosing a regularizer's lambda without looking at the test set (issue 21): a validation split carved from the TRAIN
// split (disjoint from the training subset), a small sweep per method family, and one stated rule:
//   the LARGEST lambda whose clean validation accuracy is at most `maxDrop` below the reference model's (standard training);
//   if no lambda of the grid meets it, the one with the smallest drop, flagged (withinTarget false).
// "Largest" because a regularizer buys robustness with its weight: among the admissible lambdas, take the most regularized.
// The sweep's models are the final models (trained on the same subset with the same config): selection costs the grid, not
// a second round of training. Clean accuracy on the validation split is the only thing the rule reads.
import type * as tf from '@tensorflow/tfjs';
import type { DataSet, LossTerm } from '../types';
import { stratified } from '../data/dataset';
import { cleanCorrect } from '../eval/transfer-report';
import { accuracyInterval, type AccuracyInterval } from '../stats/intervals';
import { formatAcc, formatAccCI, formatPoints } from '../stats/format';
import type { TableRow } from '../report/tables';
import type { Method, TrainedModel } from './methods';

/** Validation examples as tensors (EvalData), drawn from the train split outside the training subset. */
export interface ValidationSet {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  n: number;
  /** Says where the examples come from (for tables and cards). */
  name: string;
}

export interface ValidationSplitOptions {
  /** Training subset size: exactly data.take(n, { seed, nTest }) (so its checkpoints are shared with other notebooks). */
  n: number;
  nTest?: number;
  /** Validation examples, class-stratified, from the train split minus the training subset. */
  nVal: number;
  seed?: number;
}

/** The training subset (the same DataSet as full.take) and a disjoint, stratified validation set from the same train split. */
export function validationSplit(full: DataSet, opts: ValidationSplitOptions): { data: DataSet; val: ValidationSet } {
  const where = 'validationSplit';
  const seed = opts.seed ?? 0;
  const total = full.size('train');
  if (!(Number.isInteger(opts.nVal) && opts.nVal >= 1)) throw new Error(`${where}: nVal must be a positive integer (validation examples), got ${opts.nVal}`);
  if (!(Number.isInteger(opts.n) && opts.n >= 1)) throw new Error(`${where}: n must be a positive integer (training examples), got ${opts.n}`);
  if (opts.n + opts.nVal > total) {
    throw new Error(`${where}: n + nVal = ${opts.n + opts.nVal} exceeds the ${total} train examples of ${full.name}: lower n or nVal`);
  }
  const data = full.take(opts.n, { seed, nTest: opts.nTest });
  const labels = full.labels('train');
  const classes = full.classNames.length;
  // The same indices take() keeps for training (its train subset uses `seed`), so the two never overlap.
  const inTrain = new Uint8Array(total);
  for (const i of stratified(labels, classes, opts.n, seed)) inTrain[i] = 1;
  const rest = Int32Array.from({ length: total }, (_, i) => i).filter((i) => !inTrain[i]);
  const local = stratified(Int32Array.from(rest, (i) => labels[i]), classes, opts.nVal, seed + 2);
  const idx = Int32Array.from(local, (k) => rest[k]);
  const { x, y } = full.batch('train', idx);
  return { data, val: { x, y, n: idx.length, name: `${full.name} train split, ${idx.length} examples outside the training subset (seed ${seed})` } };
}

/** A regularizer (or any method with one weight) and the grid its lambda is chosen from. */
export interface LambdaFamily {
  /** Short id; each sweep member's method id is `${id}-l${lambda}`. */
  id: string;
  label: string;
  /** What lambda multiplies, in words (documented in the selection table), e.g. "weight of ||J||_F^2". */
  knob: string;
  /** The grid, at least one value; the selection rule prefers the largest admissible. */
  lambdas: number[];
  terms: (lambda: number) => LossTerm[];
}

export const sweepId = (f: Pick<LambdaFamily, 'id'>, lambda: number): string => `${f.id}-l${lambda}`;

function checkFamilies(where: string, families: LambdaFamily[]): void {
  if (!Array.isArray(families) || families.length === 0) throw new Error(`${where}: families must be a non-empty array of { id, label, knob, lambdas, terms }`);
  const ids = new Set<string>();
  for (const f of families) {
    if (!f || typeof f.id !== 'string' || f.id === '' || typeof f.terms !== 'function') throw new Error(`${where}: every family needs an id and terms(lambda)`);
    if (ids.has(f.id)) throw new Error(`${where}: family id "${f.id}" is used twice`);
    ids.add(f.id);
    if (!Array.isArray(f.lambdas) || f.lambdas.length === 0 || f.lambdas.some((l) => !(Number.isFinite(l) && l >= 0))) {
      throw new Error(`${where}: family "${f.id}" needs a non-empty lambdas grid of finite numbers >= 0, got ${JSON.stringify(f.lambdas)}`);
    }
    if (new Set(f.lambdas).size !== f.lambdas.length) throw new Error(`${where}: family "${f.id}" lists a lambda twice: ${JSON.stringify(f.lambdas)}`);
  }
}

/** One method per (family, lambda), for trainMethods. */
export function sweepMethods(families: LambdaFamily[]): Method[] {
  checkFamilies('sweepMethods', families);
  return families.flatMap((f) => f.lambdas.map((l) => ({ id: sweepId(f, l), label: `${f.label} λ=${l}`, terms: () => f.terms(l) })));
}

export interface LambdaCandidate {
  lambda: number;
  /** Clean validation accuracy (pooled over seeds) with its Wilson interval. */
  acc: AccuracyInterval;
  /** reference accuracy - acc (fraction; positive = a drop). */
  drop: number;
}

export interface LambdaChoice {
  family: LambdaFamily;
  candidates: LambdaCandidate[];
  lambda: number;
  drop: number;
  withinTarget: boolean;
  /** The chosen lambda's trained models (one per seed): the leaderboard's entries. */
  models: TrainedModel[];
  /** The rule's outcome in words. */
  reason: string;
}

export interface SelectOptions {
  /** The reference models (standard training, one per seed): the drop is measured from their pooled validation accuracy. */
  reference: TrainedModel[];
  /** Largest admissible clean-accuracy drop, a fraction (0.02 = 2 points). */
  maxDrop: number;
  batchSize?: number;
}

const targetText = (maxDrop: number, n: number) => `at most ${formatAcc(maxDrop, n).replace('%', '')} pts`;

/** Applies the rule of this file's header to every family, from the trained sweep (trainMethods over sweepMethods). */
export function selectLambdas(families: LambdaFamily[], trained: TrainedModel[], val: ValidationSet, opts: SelectOptions): LambdaChoice[] {
  const where = 'selectLambdas';
  checkFamilies(where, families);
  if (!(typeof opts.maxDrop === 'number' && opts.maxDrop >= 0 && opts.maxDrop < 1)) throw new Error(`${where}: maxDrop must be a fraction in [0, 1) (0.02 = 2 points), got ${opts.maxDrop}`);
  if (!Array.isArray(opts.reference) || opts.reference.length === 0) throw new Error(`${where}: reference must list the standard model(s) (one per seed)`);
  const pooled = (ms: TrainedModel[]) => {
    const parts = ms.map((t) => cleanCorrect(t.model, val, { batchSize: opts.batchSize }));
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return accuracyInterval(out);
  };
  const ref = pooled(opts.reference);
  return families.map((f) => {
    const candidates = f.lambdas.map((lambda) => {
      const ms = trained.filter((t) => t.method.id === sweepId(f, lambda));
      if (ms.length === 0) throw new Error(`${where}: no trained model for "${f.id}" at lambda ${lambda} (method id "${sweepId(f, lambda)}"): train sweepMethods(families) first`);
      const acc = pooled(ms);
      return { lambda, acc, drop: ref.acc - acc.acc, models: ms };
    });
    const ok = candidates.filter((c) => c.drop <= opts.maxDrop + 1e-12);
    const pick = ok.length > 0 ? ok.reduce((a, b) => (b.lambda > a.lambda ? b : a))
      : candidates.reduce((a, b) => (b.drop < a.drop || (b.drop === a.drop && b.lambda < a.lambda) ? b : a));
    const n = ref.n;
    const target = targetText(opts.maxDrop, n);
    const reason = ok.length > 0
      ? `largest λ in [${f.lambdas.join(', ')}] losing ${target} of clean validation accuracy (drop ${formatPoints(pick.drop, n)})`
      : `no λ in [${f.lambdas.join(', ')}] loses ${target}: the smallest drop is taken (${formatPoints(pick.drop, n)})`;
    return { family: f, candidates: candidates.map(({ models: _m, ...c }) => c), lambda: pick.lambda, drop: pick.drop, withinTarget: ok.length > 0, models: pick.models, reason };
  });
}

/** One row per (family, lambda): the grid, the validation accuracy, the drop and which was chosen (the documentation of the rule). */
export function lambdaSelectionRows(choices: LambdaChoice[], opts: { maxDrop?: number } = {}): TableRow[] {
  return choices.flatMap((c) => c.candidates.map((k) => ({
    method: c.family.label, knob: c.family.knob, λ: String(k.lambda), 'validation clean': formatAccCI(k.acc),
    'drop vs standard': formatPoints(k.drop, k.acc.n), ...(opts.maxDrop !== undefined ? { target: targetText(opts.maxDrop, k.acc.n) } : {}),
    chosen: k.lambda === c.lambda ? (c.withinTarget ? 'yes' : 'yes (none within target)') : '',
  })));
}
