// Shared test plumbing: run a block on each backend the tests cover (cpu = reference, wasm = what users run here).
import * as net from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../lib/backend';
import type { Model } from '../lib/types';

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

/**
 * logits = flatten(x) Wt + b with seeded normal Wt [D, K] and b = [0.1, -0.2, 0.3, 0, ...]: every gradient-based saliency map
 * has a closed form (the gradient of class k is Wt[:, k]). Returns the model and Wt as arrays.
 */
export function seededLinearModel(shape: [number, number, number], k: number, seed: number): { model: Model; w: number[][] } {
  const d = shape[0] * shape[1] * shape[2];
  const Wt = tf.variable(tf.randomNormal([d, k], 0, 1, 'float32', seed));
  const B = tf.variable(tf.tensor1d(Array.from({ length: k }, (_, i) => [0.1, -0.2, 0.3][i] ?? 0)));
  const w = Wt.arraySync() as number[][];
  const model: Model = {
    name: 'linear', inputShape: shape, numClasses: k, mode: 'eval', variables: [Wt, B], state: [],
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]) as tf.Tensor2D, Wt as tf.Tensor2D), B) as tf.Tensor2D),
    paramCount: () => d * k + k, dispose: () => tf.dispose([Wt, B]),
  };
  return { model, w };
}

/** A TCP port free on 127.0.0.1 right now (servers the tests start: redis, Jupyter). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
