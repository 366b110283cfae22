// Regularizers by name, for notebooks' parameter cells and result tables: regularizer('sagr', { trueWeight: 0.1 }).
import type { Regularizer } from './regularizer';
import { doubleBackprop, finiteDifferenceGradientPenalty, inputGradientPenalty } from './input-gradient';
import { jacobianNorm } from './jacobian-norm';
import { jsigr, sigr } from './selective';
import { sagr } from './sagr';
import { saliencyConsensus } from './saliency-consensus';
import { flowGradient } from './flow-gradient';

const FACTORIES = {
  'input-gradient': inputGradientPenalty,
  'double-backprop': doubleBackprop,
  'finite-difference': finiteDifferenceGradientPenalty,
  'jacobian-norm': jacobianNorm,
  sigr,
  jsigr,
  sagr,
  'saliency-consensus': saliencyConsensus,
  'flow-gradient': flowGradient,
} as const;

export type RegularizerName = keyof typeof FACTORIES;
export const REGULARIZERS = Object.keys(FACTORIES) as RegularizerName[];
export type RegularizerConfig<N extends RegularizerName> = Parameters<(typeof FACTORIES)[N]>[0];

/** Builds a regularizer by name; the config is validated by its factory. */
export function regularizer<N extends RegularizerName>(name: N, config: RegularizerConfig<N>): Regularizer {
  if (!Object.prototype.hasOwnProperty.call(FACTORIES, name)) {
    throw new Error(`regularizer: unknown name "${String(name)}"; use one of ${REGULARIZERS.join(', ')}`);
  }
  return (FACTORIES[name] as (c: unknown) => Regularizer)(config ?? {});
}
