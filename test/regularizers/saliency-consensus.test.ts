import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, Model } from '../../lib/types';
import { consensusLoss, consensusTarget, saliencyConsensus } from '../../lib/regularizers/saliency-consensus';
import { TEST_BACKENDS, useBackend } from '../helpers';
import {
  CTX, batch, checkNoLeak, checkWeightGradient, close, convModel, convParams, linearParams, mean, scalar, softmaxJs,
} from './tiny-models';

const SHAPE: [number, number, number] = [3, 3, 2];
const K = 4;

/** logits = flatten(x*x) W + b: the saliency 2 x W[:, y] depends on x, so the consensus distance is not trivially 0. */
function squareModel(params: tf.Tensor[]): Model {
  const [w, b] = params;
  return {
    name: 'square', inputShape: SHAPE, numClasses: K, mode: 'train', variables: params as tf.Variable[], state: [],
    logits: (x) => tf.add(tf.matMul(tf.reshape(tf.square(x), [x.shape[0], -1]), w as tf.Tensor2D), b) as tf.Tensor2D,
    paramCount: () => 0, dispose: () => undefined,
  };
}

function consensusJs(xs: number[][], ys: number[], W: number[][], b: number[], cfg: { eps: number; topK: number; distance: 'cosine' | 'l2'; lambdaSal: number; lambdaPseudo: number }): number {
  const ch = SHAPE[2], pixels = SHAPE[0] * SHAPE[1];
  const logits = (xi: number[]) => b.map((bk, k) => bk + xi.reduce((a, v, d) => a + v * v * W[d][k], 0));
  const ce = (xi: number[], yi: number) => { const p = softmaxJs(logits(xi)); return -Math.log(p[yi]); };
  const terms = xs.map((xi, i) => {
    const yi = ys[i];
    const p = softmaxJs(logits(xi));
    p[yi] -= 1;
    const g = xi.map((v, d) => 2 * v * W[d].reduce((a, wk, k) => a + wk * p[k], 0));
    const xa = xi.map((v, d) => Math.min(1, Math.max(0, v + cfg.eps * Math.sign(g[d]))));
    const s = xi.map((v, d) => 2 * v * W[d][yi]);
    const t = xa.map((v, d) => 2 * v * W[d][yi]);
    const dot = s.reduce((a, v, d) => a + v * t[d], 0);
    const n = (u: number[]) => Math.sqrt(u.reduce((a, v) => a + v * v, 0));
    const dist = cfg.distance === 'cosine' ? 1 - dot / (n(s) * n(t)) : s.reduce((a, v, d) => a + (v - t[d]) ** 2, 0);
    const imp = Array.from({ length: pixels }, (_, q) => Math.abs(t[q * ch]) + Math.abs(t[q * ch + 1]));
    const keep = imp.map((v, q) => [v, q]).sort((a1, a2) => a2[0] - a1[0]).slice(0, Math.round(cfg.topK * pixels)).map((e) => e[1]);
    const pseudo = xi.map((v, d) => (keep.includes(Math.floor(d / ch)) ? v : 0));
    return { dist, pce: ce(pseudo, yi) };
  });
  return cfg.lambdaSal * mean(terms.map((t) => t.dist)) + cfg.lambdaPseudo * mean(terms.map((t) => t.pce));
}

for (const backend of TEST_BACKENDS) {
  test(`saliencyConsensus: value on a quadratic model matches a plain-JS computation, both distances (${backend})`, async () => {
    await useBackend(backend);
    const params = linearParams(SHAPE, K, 9);
    const model = squareModel(params);
    const { x, y } = batch(SHAPE, 4, K, 6);
    const xs = (await tf.reshape(x, [4, -1]).array()) as number[][];
    const ys = Array.from(await y.data());
    const W = (await params[0].array()) as number[][];
    const b = Array.from(await params[1].data());
    for (const distance of ['cosine', 'l2'] as const) {
      const cfg = { distance, eps: 0.2, topK: 0.45, lambdaSal: 0.7, lambdaPseudo: 0.4 };
      const got = await scalar(saliencyConsensus(cfg).value(model, x, y, CTX));
      close(got, consensusJs(xs, ys, W, b, cfg), 1e-4, distance);
    }
    // eps = 0: the target is the model's own saliency, so the distance part vanishes.
    assert.ok(Math.abs(await scalar(saliencyConsensus({ eps: 0, lambdaPseudo: 0 }).value(model, x, y, CTX))) < 1e-6);
    assert.equal(await scalar(saliencyConsensus({ lambdaSal: 0, lambdaPseudo: 0 }).value(model, x, y, CTX)), 0);
    tf.dispose([...params, x, y]);
  });

  test(`saliencyConsensus: weight gradient matches finite differences, no leak (${backend})`, async () => {
    await useBackend(backend);
    // The target is a label (detached by design), so finite differences must hold it fixed too: it is computed once from
    // the unperturbed weights and the loss given that target is checked.
    const shape: [number, number, number] = [6, 6, 1];
    const base = convParams(shape, 3, 21);
    const { x, y } = batch(shape, 3, 3, 5);
    const target = consensusTarget(convModel(shape, 3, base), x, y, 0.1);
    for (const w of [
      { distance: 'cosine', lambdaSal: 1, lambdaPseudo: 0, topK: 0.5 },
      { distance: 'l2', lambdaSal: 1, lambdaPseudo: 0.5, topK: 0.5 },
    ] as const) {
      const fixedTarget: LossTerm = { name: `consensus-${w.distance}`, weight: 1, value: (m, xx, yy) => consensusLoss(m, xx, yy, target, w) };
      await checkWeightGradient(fixedTarget, { skipOutputBias: w.lambdaPseudo === 0 });
    }
    tf.dispose([...base, x, y, target]);
    await checkNoLeak(saliencyConsensus({ distance: 'l2' }));
  });
}

test('saliencyConsensus: bad configs name the field and the allowed values', () => {
  assert.throws(() => saliencyConsensus({ distance: 'kl' as never }), /saliencyConsensus: distance must be one of "cosine", "l2", got "kl"/);
  assert.throws(() => saliencyConsensus({ eps: -0.1 }), /eps must be a finite number >= 0, got -0.1/);
  assert.throws(() => saliencyConsensus({ lambdaSal: -1 }), /lambdaSal must be a finite number >= 0/);
  assert.throws(() => saliencyConsensus({ topK: 1.5 }), /topK must be a finite number > 0 and <= 1, got 1.5/);
});
