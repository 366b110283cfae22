// Flow-field PGD (Xia & Li's attack, official code): K signed-gradient steps of size eps/K on a flow field w that warps the
// image (bilinear, identity grid in [-1,1]); every flow component is clamped to [-eps, eps] grid units. eps = 0 is the identity.
import * as tf from '@tensorflow/tfjs';
import type { AttackRunOptions, Model } from '../types';
import { warp, gridToPixels, WARP_PADDINGS, type WarpPadding } from '../tf/warp';
import { crossEntropyPerExample } from '../tf/safe-ops';
import { checkEps, checkOneOf, checkPositiveInt, runChecked } from './base';
import { flowStats, type FlowAttack, type FlowAttackResult } from './stadv';

export interface FlowPgdConfig {
  /** Budget in sampling-grid units (paper: 0.01); see `flowEpsInPixels`. */
  eps: number;
  /** Paper: 100. */
  steps: number;
  /** Step size, default eps/steps (the official code). */
  alpha?: number;
  padding?: WarpPadding;
  /** Descend the cross-entropy of opts.targets instead of ascending that of the labels. */
  targeted?: boolean;
}

/** A flow budget in pixels for an image of the given width (grid units * (W-1)/2). */
export function flowEpsInPixels(eps: number, width: number): number {
  return gridToPixels(eps, width);
}

/** The flow gradient of the summed cross-entropy of `labels`, [B,H,W,2]. */
function flowGrad(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, flow: tf.Tensor4D, padding: WarpPadding): tf.Tensor4D {
  return tf.grad((f: tf.Tensor) => tf.sum(crossEntropyPerExample(model.logits(warp(x, f as tf.Tensor4D, { padding })), labels)))(flow) as tf.Tensor4D;
}

export function flowPgd(config: FlowPgdConfig): FlowAttack {
  const eps = checkEps('flowPgd', config.eps);
  const steps = checkPositiveInt('flowPgd', 'steps', config.steps);
  const alpha = config.alpha ?? eps / steps;
  const padding = checkOneOf('flowPgd', 'padding', config.padding ?? 'zeros', WARP_PADDINGS);
  if (!(typeof alpha === 'number' && Number.isFinite(alpha) && alpha >= 0)) throw new Error(`flowPgd: alpha must be a finite number >= 0 (grid units), got ${alpha}`);
  const targeted = config.targeted ?? false;
  const runWithFlow = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: AttackRunOptions = {}): FlowAttackResult => {
    const targets = targeted ? opts.targets : undefined;
    if (targeted && !targets) throw new Error('flowPgd: a targeted attack needs opts.targets');
    // Targeted: step down the target's cross-entropy.
    const sign = targets ? -1 : 1;
    let flowOut: tf.Tensor4D | undefined;
    const xOut = runChecked('flowPgd', model, x, y, () => {
      const [b, h, w] = x.shape;
      let flow = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
      for (let s = 0; s < steps && eps > 0; s++) {
        const g = flowGrad(model, x, targets ?? y, flow, padding);
        const next = tf.tidy(() => tf.clipByValue(tf.add(flow, tf.mul(tf.sign(g), sign * alpha)), -eps, eps)) as tf.Tensor4D;
        tf.dispose([g, flow]);
        flow = next;
        opts.onProgress?.(s + 1, steps);
      }
      flowOut = flow;
      return tf.tidy(() => tf.clipByValue(warp(x, flow, { padding }), 0, 1)) as tf.Tensor4D;
    });
    return { x: xOut, flow: flowOut!, stats: flowStats(flowOut!) };
  };
  return {
    name: targeted ? 'flow-pgd-targeted' : 'flow-pgd',
    threat: { norm: 'flow', eps, targeted },
    config: { eps, steps, alpha, padding, targeted },
    runWithFlow,
    run(model, x, y, opts) {
      const r = runWithFlow(model, x, y, opts);
      r.flow.dispose();
      return r.x;
    },
  };
}
