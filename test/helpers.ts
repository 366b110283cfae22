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

/** Runs `fn` with console.warn captured (not printed); returns its value and the warnings. */
export function captureWarnings<T>(fn: () => T): { value: T; warnings: string[] } {
  const warnings: string[] = [];
  const orig = console.warn;
  console.warn = (...a: unknown[]) => { warnings.push(a.join(' ')); };
  try {
    return { value: fn(), warnings };
  } finally {
    console.warn = orig;
  }
}
