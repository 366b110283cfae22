// Flow-field PGD (Xia & Li's attack, official code): K signed-gradient steps of size eps/K on a flow field w that warps the
// image (bilinear, identity grid in [-1,1]); every flow component is clamped to [-eps, eps] grid units. eps = 0 is the identity.
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../types';
import { warp, gridToPixels, type WarpPadding } from '../tf/warp';
import { crossEntropyPerExample } from '../tf/safe-ops';
import { checkEps, checkPositiveInt, runChecked } from './base';

export interface FlowPgdConfig {
  /** Budget in sampling-grid units (paper: 0.01); see `flowEpsInPixels`. */
  eps: number;
  /** Paper: 100. */
  steps: number;
  /** Step size, default eps/steps (the official code). */
  alpha?: number;
  padding?: WarpPadding;
}

/** A flow budget in pixels for an image of the given width (grid units * (W-1)/2). */
export function flowEpsInPixels(eps: number, width: number): number {
  return gridToPixels(eps, width);
}

/** The flow gradient of the summed cross-entropy, [B,H,W,2]. */
function flowGrad(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, flow: tf.Tensor4D, padding: WarpPadding): tf.Tensor4D {
  return tf.grad((f: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(warp(x, f as tf.Tensor4D, { padding })), y)))(flow) as tf.Tensor4D;
}

export function flowPgd(config: FlowPgdConfig): Attack {
  const eps = checkEps('flowPgd', config.eps);
  const steps = checkPositiveInt('flowPgd', 'steps', config.steps);
  const alpha = config.alpha ?? eps / steps;
  const padding = config.padding ?? 'zeros';
  return {
    name: 'flow-pgd',
    threat: { norm: 'flow', eps },
    run(model, x, y, opts = {}) {
      return runChecked('flowPgd', model, x, y, () => {
        const [b, h, w] = x.shape;
        let flow = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
        for (let s = 0; s < steps && eps > 0; s++) {
          const g = flowGrad(model, x, y, flow, padding);
          const next = tf.tidy(() => tf.clipByValue(tf.add(flow, tf.mul(tf.sign(g), alpha)), -eps, eps)) as tf.Tensor4D;
          tf.dispose([g, flow]);
          flow = next;
          opts.onProgress?.(s + 1, steps);
        }
        const out = tf.tidy(() => tf.clipByValue(warp(x, flow, { padding }), 0, 1)) as tf.Tensor4D;
        flow.dispose();
        return out;
      });
    },
  };
}
