// Flow FGSM: the single-step flow attack, one signed-gradient step of size eps from the zero flow, flow = eps * sign(grad)
// (grid units; the flow-PGD threat model). It exists for the sanity check "iterative beats single-step" on the flow threat
// model: if it matches or beats strong flow PGD, the iterative attack is not working (or the gradients are masked).
// At the zero flow the bilinear warp sits on its kinks; the gradient taken there is autodiff's one-sided one, as flow PGD's
// first step from a zero start.
import * as tf from '@tensorflow/tfjs';
import type { AttackRunOptions, Model } from '../types';
import { warp, WARP_PADDINGS, type WarpPadding } from '../tf/warp';
import { checkEps, checkOneOf, runChecked, scoreIterate } from './base';
import { flowStats, type FlowAttack, type FlowAttackResult } from './stadv';

export interface FlowFgsmConfig {
  /** Budget in sampling-grid units: every flow component ends at -eps, 0 or +eps. */
  eps: number;
  /** Loss whose gradient sign is taken: 'ce' (default) or 'cw' (margin). */
  loss?: 'ce' | 'cw';
  padding?: WarpPadding;
  /** Step toward opts.targets (ascends -CE of the target, or the margin z_t - z_y). */
  targeted?: boolean;
}

export function flowFgsm(config: FlowFgsmConfig): FlowAttack {
  const eps = checkEps('flowFgsm', config.eps);
  const loss = checkOneOf('flowFgsm', 'loss', config.loss ?? 'ce', ['ce', 'cw'] as const);
  const padding = checkOneOf('flowFgsm', 'padding', config.padding ?? 'zeros', WARP_PADDINGS);
  const targeted = config.targeted ?? false;
  const runWithFlow = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: AttackRunOptions = {}): FlowAttackResult => {
    const targets = targeted ? opts.targets : undefined;
    if (targeted && !targets) throw new Error('flowFgsm: a targeted attack needs opts.targets');
    let flowOut: tf.Tensor4D | undefined;
    const xOut = runChecked('flowFgsm', model, x, y, () => {
      const [b, h, w] = x.shape;
      const zero = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
      if (eps === 0) flowOut = zero;
      else {
        const it = scoreIterate((f) => model.logits(warp(x, f, { padding })), zero, y, loss, targets, true);
        flowOut = tf.tidy(() => tf.mul(tf.sign(it.grad!), eps)) as tf.Tensor4D;
        tf.dispose([it.grad!, it.loss, it.fooled, zero]);
      }
      opts.onProgress?.(1, 1);
      return tf.tidy(() => tf.clipByValue(warp(x, flowOut!, { padding }), 0, 1)) as tf.Tensor4D;
    });
    return { x: xOut, flow: flowOut!, stats: flowStats(flowOut!) };
  };
  return {
    name: targeted ? 'flow-fgsm-targeted' : 'flow-fgsm',
    threat: { norm: 'flow', eps, targeted },
    config: { eps, loss, padding, targeted },
    runWithFlow,
    run(model, x, y, opts) {
      const r = runWithFlow(model, x, y, opts);
      r.flow.dispose();
      return r.x;
    },
  };
}
