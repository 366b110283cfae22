// Shared test plumbing: run a block on each backend the tests cover (cpu = reference, wasm = what users run here).
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../lib/backend';

export const TEST_BACKENDS: BackendName[] = ['cpu', 'wasm'];

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name, { quiet: true });
}

/** Asserts the number of live tensors is unchanged by `fn` (after it disposes what it returns). */
export async function tensorDelta(fn: () => Promise<void> | void): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}
