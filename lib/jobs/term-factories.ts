// Every library loss-term factory by the name its recipe carries (lib/train/term-recipe.ts): how a worker rebuilds the terms
// of a job. A factory that tags its terms withRecipe must be listed here (test/jobs/term-recipes.test.ts checks both ways).
import type { LossTerm } from '../types';
import { crossEntropyTerm } from '../train/terms';
import { fgsmAT, flowAT, pgdAT, trades } from '../train/adversarial';
import { doubleBackprop, finiteDifferenceGradientPenalty, inputGradientPenalty } from '../regularizers/input-gradient';
import { jacobianNorm } from '../regularizers/jacobian-norm';
import { jsigr, sigr } from '../regularizers/selective';
import { sagr } from '../regularizers/sagr';
import { saliencyConsensus } from '../regularizers/saliency-consensus';
import { flowGradient } from '../regularizers/flow-gradient';
import { termRecipe, type TermRecipe } from '../train/term-recipe';
import { configHash } from '../experiment/params';

// Typed loosely on purpose: the arguments come from JSON and each factory validates its own config.
export const TERM_FACTORIES: Readonly<Record<string, (...args: never[]) => LossTerm>> = {
  crossEntropyTerm, fgsmAT, pgdAT, trades, flowAT,
  inputGradientPenalty, doubleBackprop, finiteDifferenceGradientPenalty, jacobianNorm, sigr, jsigr, sagr, saliencyConsensus, flowGradient,
};

/** Rebuilds a term from its recipe. */
export function buildTerm(r: TermRecipe): LossTerm {
  if (!Object.prototype.hasOwnProperty.call(TERM_FACTORIES, r.factory)) {
    throw new Error(`unknown loss-term factory "${r.factory}" in a job: this checkout knows ${Object.keys(TERM_FACTORIES).join(', ')} (update the worker's checkout?)`);
  }
  return (TERM_FACTORIES[r.factory] as (...a: unknown[]) => LossTerm)(...r.args);
}

/**
 * The term's recipe when it can travel as JSON, else the reason it cannot (a term written in a notebook, arguments that are
 * not plain data or do not survive JSON, e.g. Infinity).
 */
export function serializableRecipe(t: LossTerm): { recipe: TermRecipe } | { reason: string } {
  const r = termRecipe(t);
  if (!r) return { reason: `loss term "${t.name}" was not made by a library factory (a term written in the notebook has no recipe)` };
  if (!Object.prototype.hasOwnProperty.call(TERM_FACTORIES, r.factory)) return { reason: `loss term "${t.name}": factory "${r.factory}" is not in lib/jobs/term-factories.ts` };
  try {
    const json = JSON.parse(JSON.stringify(r)) as TermRecipe;
    if (configHash(json.args) !== configHash(r.args)) return { reason: `loss term "${t.name}": its arguments change through JSON (Infinity or NaN?)` };
    return { recipe: json };
  } catch (e) {
    return { reason: `loss term "${t.name}": its arguments are not plain data (${(e as Error).message})` };
  }
}
