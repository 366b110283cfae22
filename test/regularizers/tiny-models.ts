// Tiny models and checks shared by the regularizer tests: a linear model (analytic values) and a conv+relu+dense model built
// from explicit parameter tensors, so finite differences can perturb the weights directly.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LossContext, LossTerm, Model } from '../../lib/types';
import { gradCheck } from '../../lib/tf/gradcheck';
import { tensorDelta } from '../helpers';

export const CTX: LossContext = { epoch: 0, step: 3, seed: 1234 };

function asModel(name: string, inputShape: [number, number, number], numClasses: number, params: tf.Tensor[],
  logits: (x: tf.Tensor4D) => tf.Tensor2D): Model {
  return {
    name, inputShape, numClasses, mode: 'train', logits,
    variables: params as tf.Variable[], state: [],
    paramCount: () => params.reduce((a, p) => a + p.size, 0),
    dispose: () => tf.dispose(params),
  };
}

/** logits = flatten(x) W + b. */
export function linearModel(shape: [number, number, number], k: number, params: tf.Tensor[]): Model {
  const [w, b] = params;
  return asModel('linear', shape, k, params, (x) => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), w as tf.Tensor2D), b) as tf.Tensor2D);
}

export function linearParams(shape: [number, number, number], k: number, seed: number): tf.Tensor[] {
  const d = shape[0] * shape[1] * shape[2];
  return [tf.randomNormal([d, k], 0, 1, 'float32', seed), tf.randomNormal([k], 0, 0.5, 'float32', seed + 1)];
}

/**
 * conv3x3 (stride 1, same) -> softplus -> conv3x3 stride 2 -> softplus -> dense.
 * softplus, not relu: with relu a gradient penalty is discontinuous in the weights (relu' is a step), so central differences
 * that straddle a kink measure a jump, not the derivative (seen here: relative error ~1 on a 6x6 'same' conv net).
 */
export function convModel(shape: [number, number, number], k: number, params: tf.Tensor[]): Model {
  const [f1, b1, f2, b2, w, b] = params;
  return asModel('tiny-conv', shape, k, params, (x) => {
    const h1 = tf.softplus(tf.add(tf.conv2d(x, f1 as tf.Tensor4D, 1, 'same'), b1));
    const h2 = tf.softplus(tf.add(tf.conv2d(h1 as tf.Tensor4D, f2 as tf.Tensor4D, 2, 'same'), b2));
    return tf.add(tf.matMul(tf.reshape(h2, [x.shape[0], -1]), w as tf.Tensor2D), b) as tf.Tensor2D;
  });
}

export function convParams(shape: [number, number, number], k: number, seed: number): tf.Tensor[] {
  const [h, w, c] = shape;
  const h2 = Math.ceil(h / 2), w2 = Math.ceil(w / 2);
  return [
    tf.randomNormal([3, 3, c, 4], 0, 0.6, 'float32', seed),
    tf.randomNormal([4], 0, 0.1, 'float32', seed + 1),
    tf.randomNormal([3, 3, 4, 4], 0, 0.4, 'float32', seed + 2),
    tf.randomNormal([4], 0, 0.1, 'float32', seed + 3),
    tf.randomNormal([h2 * w2 * 4, k], 0, 0.4, 'float32', seed + 4),
    tf.randomNormal([k], 0, 0.1, 'float32', seed + 5),
  ];
}

export function batch(shape: [number, number, number], n: number, k: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = tf.randomUniform([n, ...shape], 0, 1, 'float32', seed) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7 + seed) % k), 'int32');
  return { x, y };
}

/**
 * The weight gradient of term.value on the tiny conv model agrees with central differences; returns the relative error.
 * This is the check that catches tfjs's silently wrong second-order gradients.
 */
export async function checkWeightGradient(term: LossTerm, opts: {
  shape?: [number, number, number]; k?: number; n?: number; h?: number; tol?: number; samples?: number;
  /** Leave the last layer's bias out: logit Jacobians do not depend on it (tf.grads throws on unconnected inputs). */
  skipOutputBias?: boolean;
} = {}): Promise<number> {
  const shape = opts.shape ?? [6, 6, 1];
  const k = opts.k ?? 3;
  const params = convParams(shape, k, 21);
  const { x, y } = batch(shape, opts.n ?? 3, k, 5);
  const checked = opts.skipOutputBias ? params.slice(0, -1) : params;
  const f = (...ps: tf.Tensor[]): tf.Scalar => term.value(convModel(shape, k, opts.skipOutputBias ? [...ps, params[params.length - 1]] : ps), x, y, CTX);
  const r = await gradCheck(f, checked, { h: opts.h ?? 1e-3, samples: opts.samples ?? 6 });
  tf.dispose([...params, x, y]);
  assert.ok(r.maxAbsGrad > 1e-4, `${term.name}: weight gradient vanished (max |fd| ${r.maxAbsGrad})`);
  assert.ok(r.relError < (opts.tol ?? 2e-2), `${term.name}: weight gradient relative error ${r.relError} vs finite differences`);
  return r.relError;
}

/** value() plus its weight gradient, repeated, leave no tensor behind. */
export async function checkNoLeak(term: LossTerm): Promise<void> {
  const shape: [number, number, number] = [6, 6, 1];
  const params = convParams(shape, 3, 31).map((p) => tf.variable(p));
  const model = convModel(shape, 3, params);
  const { x, y } = batch(shape, 3, 3, 7);
  // Warm-up: the first call may create lazily cached tensors in tfjs.
  tf.dispose(tf.variableGrads(() => term.value(model, x, y, CTX), params as tf.Variable[]).grads);
  const delta = await tensorDelta(() => {
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => term.value(model, x, y, { ...CTX, step: i }), params as tf.Variable[]);
      tf.dispose([value, ...Object.values(grads)]);
    }
  });
  tf.dispose([...params, x, y]);
  assert.equal(delta, 0, `${term.name}: ${delta} tensors leaked`);
}

export async function scalar(t: tf.Scalar): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

// Plain-JS helpers for analytic values on the linear model.
export function softmaxJs(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export interface LinearCase { xs: number[][]; ys: number[]; W: number[][]; b: number[] }

export async function linearCase(x: tf.Tensor4D, y: tf.Tensor1D, params: tf.Tensor[]): Promise<LinearCase> {
  return {
    xs: (await tf.reshape(x, [x.shape[0], -1]).array()) as number[][],
    ys: Array.from(await y.data()),
    W: (await params[0].array()) as number[][],
    b: Array.from(await params[1].data()),
  };
}

export function logitsJs(c: LinearCase, xi: number[]): number[] {
  return c.b.map((bk, k) => bk + xi.reduce((a, v, d) => a + v * c.W[d][k], 0));
}

/** Per-example CE input gradient of the linear model: W (softmax(z) - onehot(y)). */
export function inputGradJs(c: LinearCase, i: number, xi = c.xs[i]): number[] {
  const p = softmaxJs(logitsJs(c, xi));
  p[c.ys[i]] -= 1;
  return c.W.map((row) => row.reduce((a, wk, k) => a + wk * p[k], 0));
}

export function ceJs(c: LinearCase, i: number, xi = c.xs[i]): number {
  const z = logitsJs(c, xi);
  const m = Math.max(...z);
  return m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[c.ys[i]];
}

export function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

export function close(got: number, want: number, rel: number, what: string): void {
  assert.ok(Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-6), `${what}: got ${got}, want ${want}`);
}
