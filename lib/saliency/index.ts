// Saliency maps and their metrics. Methods return maps shaped like the input ([B,H,W,C], signed), except occlusion ([B,H,W,1]);
// metrics work on pixel heatmaps (|map| summed over channels) and return one number per example.
import type * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { gradientTimesInput, vanillaGradient } from './gradient';
import { smoothGrad, type SmoothGradOptions } from './smoothgrad';
import { integratedGradients, type IntegratedGradientsOptions } from './integrated-gradients';
import { occlusion, type OcclusionOptions } from './occlusion';
import type { SaliencyOptions } from './score';

export * from './score';
export * from './gradient';
export * from './smoothgrad';
export * from './integrated-gradients';
export * from './occlusion';
export * from './heatmap';
export * from './sparseness';
export * from './localization';
export * from './deletion';
export * from './similarity';

const METHODS = {
  gradient: (m: Model, x: tf.Tensor4D, o?: SaliencyOptions) => vanillaGradient(m, x, o),
  'gradient-x-input': (m: Model, x: tf.Tensor4D, o?: SaliencyOptions) => gradientTimesInput(m, x, o),
  smoothgrad: (m: Model, x: tf.Tensor4D, o?: SmoothGradOptions) => smoothGrad(m, x, o),
  'integrated-gradients': (m: Model, x: tf.Tensor4D, o?: IntegratedGradientsOptions) => integratedGradients(m, x, o),
  occlusion: (m: Model, x: tf.Tensor4D, o?: OcclusionOptions) => occlusion(m, x, o),
};
export type SaliencyMethodName = keyof typeof METHODS;
export const SALIENCY_METHOD_NAMES = Object.keys(METHODS) as SaliencyMethodName[];

/** A saliency method by name; unknown names list the known ones. */
export function saliencyMethod<N extends SaliencyMethodName>(name: N): (typeof METHODS)[N] {
  const f = (METHODS as Record<string, unknown>)[name];
  if (!f) throw new Error(`unknown saliency method "${name}": use one of ${SALIENCY_METHOD_NAMES.join(', ')}`);
  return f as (typeof METHODS)[N];
}
