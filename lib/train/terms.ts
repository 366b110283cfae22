// Loss terms: the pieces a training method is made of.
import type { LossTerm } from '../types';
import { crossEntropy } from '../tf/safe-ops';
import { withRecipe } from './term-recipe';

/** Cross-entropy on the clean batch (second-order safe, so penalties may differentiate through it). */
export function crossEntropyTerm(weight = 1): LossTerm {
  return withRecipe('crossEntropyTerm', [weight], { name: 'ce', weight, config: {}, value: (model, x, y) => crossEntropy(model.logits(x), y) });
}
