// Batch norm in train mode normalizes with the batch's own moments, so every logit depends on every example of the batch.
// A penalty that tiles the batch k times and runs ONE forward pass (k projections or classes at once) then differs from k
// passes over the batch: the copies share the moments, and each copy's vector-Jacobian product picks up the other copies'
// projections through them (measured: an "exact" Jacobian norm that changed with the random frame, an estimator whose mean
// depended on the number of projections). Such penalties ask this predicate and, when it holds, run one forward pass and one
// vector-Jacobian product per projection on the un-tiled batch (what autograd gives in PyTorch), summing the results.
import type { Model } from '../types';

/**
 * True when the examples of a batch interact in a forward pass: the model is in train mode and has state (batch-norm running
 * statistics). A model without state is treated as per-example (a custom layer coupling examples without state is not seen).
 */
export function examplesInteract(model: Model): boolean {
  return model.mode === 'train' && model.state.length > 0;
}
