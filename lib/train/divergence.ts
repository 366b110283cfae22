// Divergence: settings that make training meaningless (a learning rate of 1e6, a penalty weight of 1e30) must stop the run
// with a message naming the setting, and such a run is never cached as finished (the trainer writes no checkpoint for the
// epoch that diverged, so a rerun resumes from the last good epoch and stops again; it never returns it as done).
import type { LossTerm } from '../types';

/** An epoch's mean total loss above this is divergence, whatever the initial loss (a classifier's loss starts near ln C). */
export const LOSS_LIMIT = 1e6;
/** After this many steps of an epoch, a mean loss above LOSS_LIMIT stops the run mid-epoch (no need to finish a long epoch). */
export const LOSS_LIMIT_STEPS = 20;
/** An epoch's mean loss above this multiple of max(first step's loss, ln C), two epochs in a row, is divergence. */
export const LOSS_GROWTH_LIMIT = 1000;
/** Weights whose relative change over a whole epoch (L2 norm of the change / L2 norm before) is below this did not move. */
export const FROZEN_LIMIT = 1e-7;

/** Training stopped because it diverged: non-finite values, exploding loss or frozen weights. `history` has the epochs run. */
export class DivergenceError extends Error {
  history: unknown[] = [];
}

/** A loss term or its gradient is NaN/Infinity (a kind of divergence). */
export class NonFiniteLossError extends DivergenceError {}

export interface EpochHealth {
  model: string;
  epoch: number;
  /** This epoch's mean weighted total loss, and the previous epoch's (undefined in the first). */
  loss: number;
  previousLoss?: number;
  /** Weighted total loss of the run's first step. */
  initialLoss: number;
  numClasses: number;
  /** Relative change of the weights over this epoch. */
  weightChange: number;
  /** Each term's mean unweighted value this epoch, by name. */
  termValues: Record<string, number>;
  terms: LossTerm[];
  optimizer: { kind: string; lr: number };
  /** Where the last good checkpoint is (undefined: none written). */
  keptCheckpoint?: string;
  keptEpoch?: number;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toPrecision(4));

/** The term whose weighted value is largest, as `"name" (weight w, weighted value v)`. */
export function largestTerm(terms: LossTerm[], values: Record<string, number>): { term: LossTerm; text: string } {
  let best = terms[0];
  for (const t of terms) if (t.weight * (values[t.name] ?? 0) > best.weight * (values[best.name] ?? 0)) best = t;
  return { term: best, text: `"${best.name}" (weight ${fmt(best.weight)}, weighted value ${fmt(best.weight * (values[best.name] ?? 0))})` };
}

function tail(h: Pick<EpochHealth, 'keptCheckpoint' | 'keptEpoch'>): string {
  const kept = h.keptCheckpoint ? `The last good checkpoint (epoch ${h.keptEpoch}) is kept at ${h.keptCheckpoint}; nothing later was cached.` : 'No checkpoint was written.';
  return `${kept} This run is not a trained model and is never cached as finished.`;
}

/** A sentence describing why an epoch diverged, or undefined when it is healthy. */
export function epochDivergence(h: EpochHealth): string | undefined {
  const head = `training ${h.model} diverged in epoch ${h.epoch}`;
  const ref = Math.max(h.initialLoss, Math.log(h.numClasses));
  const big = largestTerm(h.terms, h.termValues);
  const lr = `optimizer.lr (now ${fmt(h.optimizer.lr)})`;
  if (h.loss > LOSS_LIMIT || (h.loss > LOSS_GROWTH_LIMIT * ref && (h.previousLoss ?? 0) > LOSS_GROWTH_LIMIT * ref)) {
    const why = h.loss > LOSS_LIMIT ? `above ${fmt(LOSS_LIMIT)}` : `above ${LOSS_GROWTH_LIMIT}x max(first-step loss, ln ${h.numClasses}) = ${fmt(LOSS_GROWTH_LIMIT * ref)} two epochs in a row`;
    const fix = h.initialLoss > LOSS_LIMIT
      ? `The loss was already ${fmt(h.initialLoss)} at the first step: the weight of ${big.text} is out of scale; lower it.`
      : `The loss grew from ${fmt(h.initialLoss)} at the first step: lower ${lr}, or the weight of the largest term ${big.text}.`;
    return `${head}: mean total loss ${fmt(h.loss)} is ${why}. ${fix} ${tail(h)}`;
  }
  if (!(h.weightChange >= FROZEN_LIMIT)) {
    const heavy = h.terms.filter((t) => t.weight >= 1e6).map((t) => `"${t.name}" (weight ${fmt(t.weight)})`);
    const cause = heavy.length && h.optimizer.kind === 'adam'
      ? `With Adam, a gradient above ~1e19 overflows the squared-gradient average (float32) and every step becomes 0: lower the weight of ${heavy.join(', ')}.`
      : `Raise ${lr} or check the term weights (${h.terms.map((t) => `"${t.name}" ${fmt(t.weight)}`).join(', ')}): a weight of 0 everywhere gives no gradient.`;
    return `${head}: the weights did not move (relative change ${fmt(h.weightChange)} over the epoch, below ${FROZEN_LIMIT}). ${cause} ${tail(h)}`;
  }
  return undefined;
}

/** The sentence for a mean loss above LOSS_LIMIT over the first `steps` (>= LOSS_LIMIT_STEPS) steps of an epoch. */
export function stepDivergence(h: Omit<EpochHealth, 'loss' | 'previousLoss' | 'weightChange'> & { meanLoss: number; steps: number }): string {
  const big = largestTerm(h.terms, h.termValues);
  const fix = h.initialLoss > LOSS_LIMIT
    ? `The loss was already ${fmt(h.initialLoss)} at the first step: the weight of ${big.text} is out of scale; lower it.`
    : `The loss grew from ${fmt(h.initialLoss)} at the first step: lower optimizer.lr (now ${fmt(h.optimizer.lr)}), or the weight of the largest term ${big.text}.`;
  return `training ${h.model} diverged in epoch ${h.epoch}: the mean total loss over its first ${h.steps} steps is ${fmt(h.meanLoss)}, above ${fmt(LOSS_LIMIT)}. ${fix} ${tail(h)}`;
}
