// Gradient regularizers, one file per family; each factory returns a Regularizer (a LossTerm with a label and its config).
// Composing a method: the trainer adds weight * value() of each term. Penalties go BESIDE the clean cross-entropy,
// e.g. [crossEntropy, doubleBackprop({ weight: 100 })]; a term with replacesCrossEntropy (Lyu's perturbation form) is itself
// the classification loss and goes INSTEAD of it. value() is unweighted; penalty-internal scales (Lyu's eps, J-SIGR's part
// weights, Adv-GSCT's lambdas) live in the config, the trainer's multiplier in `weight` (FGR: weight = lambda).
export type { Regularizer } from './regularizer';
export { untaped } from './detached';
export * from './input-gradient';
export * from './jacobian-norm';
export * from './saliency-mask';
export * from './selective';
export * from './sagr';
export * from './saliency-consensus';
export * from './flow-gradient';
export * from './registry';
export { warp, gridToPixels, pixelsToGrid, WARP_PADDINGS, type WarpPadding, type WarpOptions } from '../tf/warp';
