// A gradient-free L1 attack for the masking check: random search in the spirit of the Square Attack (Andriushchenko et al.
// 2020), with the L1 threat model. Each query adds to the current perturbation a square of random position and sign per
// channel carrying the whole L1 budget spread over its pixels, projects exactly onto the L1 ball and the [0,1] box (l1.ts;
// the projection takes the mass back from the rest of the perturbation), and keeps the candidate when the margin
// z_y - max_{i!=y} z_i falls. The square's area follows Square's schedule (pSelection). It never uses gradients: if it beats
// APGD-L1, the gradients are masked. Start: the clean input (a random L1 start, projected, is mostly a few pixels anyway).
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { makeRng } from '../data/rng';
import { checkPixelEps, checkPositiveInt, runChecked } from './base';
import { writeProjectedRow } from './l1';
import { marginReader, pSelection } from './square';

export interface SquareL1Config {
  eps: number;
  queries?: number;
  /** Fraction of the image the first squares cover (then halved on Square's schedule); default 0.1. */
  pInit?: number;
}


export function squareL1(config: SquareL1Config): Attack {
  const eps = checkPixelEps('square-l1', 'l1', config.eps);
  const queries = checkPositiveInt('square-l1', 'queries', config.queries ?? 1000);
  const pInit = config.pInit ?? 0.1;
  if (!(typeof pInit === 'number' && pInit > 0 && pInit <= 1)) throw new Error(`square-l1: pInit must be in (0, 1] (fraction of the image in the first squares), got ${pInit}`);
  return {
    name: 'square-l1',
    threat: { norm: 'l1', eps, targeted: false },
    config: { eps, queries, pInit },
    run(model, x, y, opts = {}) {
      return runChecked('square-l1', model, x, y, () => {
        const [b, h, w, c] = x.shape;
        const per = h * w * c;
        const rng = makeRng(opts.seed ?? 0);
        const xs = x.dataSync() as Float32Array;
        const adv = Float32Array.from(xs);
        const margin = marginReader(model, [h, w, c], y);
        const all = Array.from({ length: b }, (_, i) => i);
        const m = margin(all, adv);
        const cand = new Float32Array(b * per);
        for (let q = 0; q < queries && eps > 0; q++) {
          const active = all.filter((i) => m[i] >= 0);
          if (active.length === 0) break;
          const side = Math.max(1, Math.min(h, Math.round(Math.sqrt(pSelection(pInit, q, queries) * h * w))));
          const mass = eps / (side * side * c);
          active.forEach((i, j) => {
            const xi = xs.subarray(i * per, (i + 1) * per);
            const v = new Float64Array(per);
            for (let k = 0; k < per; k++) v[k] = adv[i * per + k] - xi[k];
            const r0 = Math.floor(rng() * (h - side + 1)), c0 = Math.floor(rng() * (w - side + 1));
            for (let ch = 0; ch < c; ch++) {
              const s = rng() < 0.5 ? -mass : mass;
              for (let row = r0; row < r0 + side; row++) for (let col = c0; col < c0 + side; col++) v[(row * w + col) * c + ch] += s;
            }
            writeProjectedRow(cand, j * per, v, xi, eps);
          });
          const mc = margin(active, cand.subarray(0, active.length * per));
          active.forEach((i, j) => {
            if (mc[j] < m[i]) { m[i] = mc[j]; adv.set(cand.subarray(j * per, (j + 1) * per), i * per); }
          });
          opts.onProgress?.(q + 1, queries);
        }
        return tf.tensor4d(adv, x.shape);
      });
    },
  };
}
