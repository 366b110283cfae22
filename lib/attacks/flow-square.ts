// Flow Square: a gradient-free attack on the flow threat model, the Square Attack's random search (Andriushchenko et al. 2020)
// moved from pixels to the flow field. Per example: start from vertical stripes (each column's x and y flow set to +-eps,
// random signs), then each query sets a random square window of the flow to +-eps per channel (one random sign per channel
// per window, the corners of the eps box as in the Linf attack) and keeps it when the margin z_y - max_{i!=y} z_i goes down.
// The window's area follows the Square schedule (pInit of the pixels, halved at the paper's fractions of the budget). An
// example stops once it is misclassified (margin < 0): only the others are queried. It only reads logits, so if it beats flow
// PGD the flow gradients are masked.
// Budget: `queries` forward passes per example per restart (the initialization is the first); restart r draws from
// deriveSeed(seed, r) and re-attacks only the examples still correct, keeping per example the lowest margin. Deterministic
// given opts.seed. runWithFlow also returns the queries each example used.
// pInit default 0.8 (AutoAttack's Linf Square value; the Square paper's 0.05 is far weaker on flows, which act through smooth
// displacements): measured on the small MNIST MLP of test/attacks/small-models.ts (100 test images it classifies correctly,
// wasm, eps 0.05 grid units = 0.675 px), robust accuracy after 500 queries: pInit 0.05 53%, 0.1 47%, 0.3 22%, 0.8 8%; with the
// defaults (0.8, 1000 queries) 3%, as strong flow PGD (20 steps x 5 restarts) 3%; paper-protocol flow PGD 10%, flow FGSM 21%.
import * as tf from '@tensorflow/tfjs';
import type { AttackRunOptions, Model } from '../types';
import { deriveSeed, makeRng } from '../data/rng';
import { warp, WARP_PADDINGS, type WarpPadding } from '../tf/warp';
import { attackLoss, checkEps, checkOneOf, checkPositiveInt, runChecked } from './base';
import { pSelection } from './square';
import { flowStats, type FlowAttack, type FlowAttackResult } from './stadv';

export interface FlowSquareConfig {
  /** Budget in sampling-grid units (every flow component in [-eps, eps]). */
  eps: number;
  /** Model queries per example per restart, the initialization included (default 1000). */
  queries?: number;
  /** Fraction of the pixels in the first windows (default 0.8; see the header of flow-square.ts for the measurement). */
  pInit?: number;
  padding?: WarpPadding;
  /** Restarts for the examples still correctly classified (default 1). */
  restarts?: number;
}

export interface FlowSquareResult extends FlowAttackResult {
  /** Model queries per example, over all restarts (the initialization counts as one per restart). */
  queries: Int32Array;
}

export interface FlowSquareAttack extends FlowAttack {
  runWithFlow(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts?: AttackRunOptions): FlowSquareResult;
}

export function flowSquare(config: FlowSquareConfig): FlowSquareAttack {
  const eps = checkEps('flowSquare', config.eps);
  const queries = checkPositiveInt('flowSquare', 'queries', config.queries ?? 1000);
  const restarts = checkPositiveInt('flowSquare', 'restarts', config.restarts ?? 1);
  const pInit = config.pInit ?? 0.8;
  if (!(typeof pInit === 'number' && pInit > 0 && pInit <= 1)) throw new Error(`flowSquare: pInit must be in (0, 1] (fraction of pixels in the first windows), got ${pInit}`);
  const padding = checkOneOf('flowSquare', 'padding', config.padding ?? 'zeros', WARP_PADDINGS);
  const runWithFlow = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: AttackRunOptions = {}): FlowSquareResult => {
    const [b, h, w] = x.shape;
    const per = h * w * 2;
    const best = new Float32Array(b * per);
    const used = new Int32Array(b);
    const xOut = runChecked('flowSquare', model, x, y, () => {
      // z_y - max_{i!=y} z_i of the examples `idx` warped by `flows` (packed [idx.length, H, W, 2]).
      const margin = (idx: number[], flows: Float32Array): Float32Array => tf.tidy(() => {
        const it = tf.tensor1d(Int32Array.from(idx), 'int32');
        const f = tf.tensor4d(flows.subarray(0, idx.length * per), [idx.length, h, w, 2]);
        const logits = model.logits(warp(tf.gather(x, it), f, { padding }));
        for (const i of idx) used[i]++;
        return tf.neg(attackLoss(logits, tf.gather(y, it) as tf.Tensor1D, 'cw')).dataSync() as Float32Array;
      });
      const bestMargin = new Float32Array(b).fill(Infinity);
      for (let r = 0; r < restarts && eps > 0; r++) {
        // A tie (margin 0) is not a success: argMax may still pick the label.
        const todo = Array.from({ length: b }, (_, i) => i).filter((i) => bestMargin[i] >= 0);
        if (todo.length === 0) break;
        const rng = makeRng(deriveSeed(opts.seed ?? 0, r));
        const n = todo.length;
        const cur = new Float32Array(n * per);
        for (let j = 0; j < n; j++) for (let col = 0; col < w; col++) for (let ch = 0; ch < 2; ch++) {
          const s = rng() < 0.5 ? -eps : eps;
          for (let row = 0; row < h; row++) cur[j * per + (row * w + col) * 2 + ch] = s;
        }
        const m = margin(todo, cur);
        const cand = new Float32Array(n * per);
        for (let q = 1; q < queries; q++) {
          const active: number[] = [];
          for (let j = 0; j < n; j++) if (m[j] >= 0) active.push(j);
          if (active.length === 0) break;
          const p = pSelection(pInit, q, queries);
          const side = Math.max(1, Math.min(h - 1, w - 1, Math.round(Math.sqrt(p * h * w))));
          active.forEach((j, k) => {
            const view = cand.subarray(k * per, (k + 1) * per);
            view.set(cur.subarray(j * per, (j + 1) * per));
            const r0 = Math.floor(rng() * (h - side + 1)), c0 = Math.floor(rng() * (w - side + 1));
            for (let ch = 0; ch < 2; ch++) {
              const s = rng() < 0.5 ? -eps : eps;
              for (let row = r0; row < r0 + side; row++) for (let col = c0; col < c0 + side; col++) view[(row * w + col) * 2 + ch] = s;
            }
          });
          const mc = margin(active.map((j) => todo[j]), cand);
          active.forEach((j, k) => {
            if (mc[k] < m[j]) { m[j] = mc[k]; cur.set(cand.subarray(k * per, (k + 1) * per), j * per); }
          });
          opts.onProgress?.(r * queries + q + 1, restarts * queries);
        }
        todo.forEach((i, j) => {
          if (m[j] < bestMargin[i]) { bestMargin[i] = m[j]; best.set(cur.subarray(j * per, (j + 1) * per), i * per); }
        });
      }
      return tf.tidy(() => tf.clipByValue(warp(x, tf.tensor4d(best, [b, h, w, 2]), { padding }), 0, 1)) as tf.Tensor4D;
    });
    const flow = tf.tensor4d(best, [b, h, w, 2]);
    return { x: xOut, flow, stats: flowStats(flow), queries: used };
  };
  return {
    name: 'flow-square',
    threat: { norm: 'flow', eps, targeted: false },
    config: { eps, queries, pInit, restarts, padding },
    runWithFlow,
    run(model, x, y, opts) {
      const r = runWithFlow(model, x, y, opts);
      r.flow.dispose();
      return r.x;
    },
  };
}
