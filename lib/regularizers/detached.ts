// Computing constants inside a loss: tfjs has no torch.no_grad/detach. stopGradient (safe-ops) zeroes the gradient but the
// tape still walks, at second order, everything upstream of it (costly, and it throws through ops like maxPool).
// untaped() instead pauses the tape, so what fn returns is a leaf: nothing before it is recorded or differentiated.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';

/** Runs fn with gradient recording paused (tf.grad inside fn still works, on its own tape). */
export function untaped<T>(fn: () => T): T {
  const state = tf.engine().state;
  const depth = state.gradientDepth;
  const tape = state.activeTape;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.gradientDepth = depth;
    state.activeTape = tape;
  }
}

/** Runs fn with the model in `mode`, then restores its mode (auxiliary passes must not touch batch-norm statistics). */
export function withMode<T>(model: Model, mode: Model['mode'], fn: () => T): T {
  const before = model.mode;
  model.mode = mode;
  try {
    return fn();
  } finally {
    model.mode = before;
  }
}
