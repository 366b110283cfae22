// FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps.
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../types';
import { checkPixelEps, lossAndGradient, project, runChecked } from './base';

export interface FgsmConfig { eps: number; targeted?: boolean }

export function fgsm(config: FgsmConfig): Attack {
  const eps = checkPixelEps('fgsm', 'linf', config.eps);
  return {
    name: config.targeted ? 'fgsm-targeted' : 'fgsm',
    threat: { norm: 'linf', eps, targeted: config.targeted ?? false },
    config: { eps, targeted: config.targeted ?? false },
    run(model, x, y, opts = {}) {
      if (config.targeted && !opts.targets) throw new Error('fgsm: a targeted attack needs opts.targets');
      return runChecked('fgsm', model, x, y, () => {
        const { grad, loss, correct } = lossAndGradient(model, x, y, 'ce', config.targeted ? opts.targets : undefined);
        const out = tf.tidy(() => project(tf.add(x, tf.mul(tf.sign(grad), eps)) as tf.Tensor4D, x, 'linf', eps));
        tf.dispose([grad, loss, correct]);
        opts.onProgress?.(1, 1);
        return out;
      });
    },
  };
}
