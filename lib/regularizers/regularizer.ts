// The one interface every regularizer factory returns: a LossTerm (lib/types.ts) plus what tables and the trainer need to know.
import type { LossTerm } from '../types';

export interface Regularizer<C extends object = Record<string, unknown>> extends LossTerm {
  /** Short id, used as the trainer's log key (e.g. 'double-backprop'). */
  readonly name: string;
  /** Human-readable name for tables and figure legends (e.g. 'Lyu p=inf (penalty)'). */
  readonly label: string;
  /** The resolved configuration, defaults filled in: for result cards and cache keys. */
  readonly config: Readonly<C> & Record<string, unknown>;
  /**
   * How a method composes terms. false (most): value() is a penalty added BESIDE the clean cross-entropy term.
   * true (Lyu's perturbation form): value() is itself a classification loss at a perturbed input and REPLACES the clean
   * cross-entropy (train with [term] alone, or [ce weighted a, term weighted 1-a] for Goodfellow's mixture).
   */
  readonly replacesCrossEntropy: boolean;
}
