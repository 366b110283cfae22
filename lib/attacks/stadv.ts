// stAdv (Xiao et al. 2018, "Spatially transformed adversarial examples"): optimize a per-pixel flow field f that warps the
// image (bilinear) to minimize L_adv + tau * L_flow, where
//   L_adv  = max(Z_y - max_{i!=y} Z_i, -kappa)          (targeted: max(max_{i!=t} Z_i - Z_t, -kappa)), on logits Z;
//   L_flow = sum_p sum_{q in N(p)} sqrt(||du||^2 + ||dv||^2 + 1e-8), N(p) the 4-neighbourhood, flow in PIXELS (the paper's
//            units; each neighbouring pair is counted from both ends, as the paper's sum does).
// Follows the paper except: Adam instead of L-BFGS (batched, a fixed step budget), and the warp is lib/tf/warp.ts (the kit's
// flow threat model: align_corners=True, 'zeros' padding by default, as flow PGD). Optional eps clamps every flow component to
// [-eps, eps] grid units (the flow-PGD budget); the default is unbounded (the paper's attack: smoothness is the only cost).
// Bounded mode (eps finite), as used by the strong flow protocol: the flow is clamped after every Adam step and tau defaults to
// STADV_BOUNDED_TAU = 0.0005 instead of 0.05: under a budget the smoothness term only costs success (measured on the small
// MNIST MLP of test/attacks/small-models.ts, 100 test images it classifies correctly, wasm, eps 0.05 grid units = 0.675 px,
// 100 steps, lr 0.1: robust accuracy 69% with tau 0.05, 2% with 0.005, 1% with 0.0005, 7% with 0; strong flow PGD (20 steps
// x 5 restarts) 3%, paper-protocol flow PGD 10%). Among successful iterates the smoothest is still the one kept.
// Per example the result is the successful iterate with the smallest L_flow; an example never fooled gets the last iterate.
// `runWithFlow` also returns the flow and its magnitude in grid units and in pixels.
import * as tf from '@tensorflow/tfjs';
import type { Attack, AttackRunOptions, Model } from '../types';
import { warp, WARP_PADDINGS, type WarpPadding } from '../tf/warp';
import { checkOneOf, checkPositiveInt, runChecked } from './base';
import { adamUpdate, cwMarginLoss } from './cw';

export interface StAdvConfig {
  /** Weight of the flow smoothness term (paper: 0.05, the default when unbounded; bounded mode: STADV_BOUNDED_TAU). */
  tau?: number;
  /** Confidence margin (paper: 0). */
  kappa?: number;
  /** Adam steps (the paper runs L-BFGS to convergence). */
  steps?: number;
  /** Adam learning rate, in pixels (default 0.1). With Adam and ~100 steps, tau = 0.005 fools a small MNIST MLP far more often than 0.05. */
  lr?: number;
  /** Per-component flow budget in grid units (coordinates in [-1,1]); default Infinity (unbounded). */
  eps?: number;
  padding?: WarpPadding;
  targeted?: boolean;
}

/** Flow magnitudes per example. */
export interface FlowStats {
  /** max |flow component| in grid units (what flow PGD's eps bounds). */
  maxGrid: Float32Array;
  /** The same displacement in pixels (x component * (W-1)/2, y component * (H-1)/2). */
  maxPixels: Float32Array;
  /** Mean over pixels of the displacement length, in pixels. */
  meanPixels: Float32Array;
}

export interface FlowAttackResult {
  x: tf.Tensor4D;
  /** The flow applied, grid units, [B,H,W,2] (channel 0 = x, 1 = y). */
  flow: tf.Tensor4D;
  stats: FlowStats;
}

/** An attack that deforms the image by a flow field, and can hand back that flow. */
export interface FlowAttack extends Attack {
  runWithFlow(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts?: AttackRunOptions): FlowAttackResult;
}

/** Pixels -> grid units per flow channel ([B,H,W,2], channel 0 along the width). */
export function pixelFlowToGrid(flowPx: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = flowPx.shape;
  return tf.tidy(() => tf.mul(flowPx, tf.tensor1d([2 / (w - 1), 2 / (h - 1)])) as tf.Tensor4D);
}

/** Grid units -> pixels per flow channel. */
export function gridFlowToPixels(flow: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = flow.shape;
  return tf.tidy(() => tf.mul(flow, tf.tensor1d([(w - 1) / 2, (h - 1) / 2])) as tf.Tensor4D);
}

/** Magnitudes of a grid-unit flow [B,H,W,2], per example. */
export function flowStats(flow: tf.Tensor4D): FlowStats {
  return tf.tidy(() => {
    const px = gridFlowToPixels(flow);
    return {
      maxGrid: Float32Array.from(tf.max(tf.abs(flow), [1, 2, 3]).dataSync()),
      maxPixels: Float32Array.from(tf.max(tf.abs(px), [1, 2, 3]).dataSync()),
      meanPixels: Float32Array.from(tf.mean(tf.sqrt(tf.sum(tf.square(px), 3)), [1, 2]).dataSync()),
    };
  });
}

/** stAdv's L_flow per example [B] of a pixel-unit flow [B,H,W,2]. */
export function flowSmoothness(flowPx: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, h, w] = flowPx.shape;
    const pair = (d: tf.Tensor) => tf.sum(tf.sqrt(tf.add(tf.sum(tf.square(d), 3), 1e-8)), [1, 2]);
    const right = w > 1 ? pair(tf.sub(tf.slice(flowPx, [0, 0, 1, 0], [b, h, w - 1, 2]), tf.slice(flowPx, [0, 0, 0, 0], [b, h, w - 1, 2]))) : tf.zeros([b]);
    const down = h > 1 ? pair(tf.sub(tf.slice(flowPx, [0, 1, 0, 0], [b, h - 1, w, 2]), tf.slice(flowPx, [0, 0, 0, 0], [b, h - 1, w, 2]))) : tf.zeros([b]);
    return tf.mul(tf.add(right, down), 2) as tf.Tensor1D;
  });
}

function checkNumberAtLeast(attack: string, name: string, v: number, min: number, allowInfinity = false): number {
  if (!(typeof v === 'number' && !Number.isNaN(v) && v >= min && (allowInfinity || Number.isFinite(v)))) {
    throw new Error(`${attack}: ${name} must be a ${allowInfinity ? '' : 'finite '}number >= ${min}, got ${v}`);
  }
  return v;
}

/** Validated common pieces of the flow attacks' configs. */
export function checkFlowBudget(attack: string, eps: number | undefined, padding: WarpPadding | undefined): { eps: number; padding: WarpPadding } {
  return {
    eps: checkNumberAtLeast(attack, 'eps (grid units)', eps ?? Infinity, 0, true),
    padding: checkOneOf(attack, 'padding', padding ?? 'zeros', WARP_PADDINGS),
  };
}

/** Clamps each component of a pixel-unit flow to eps grid units. */
export function clampPixelFlow(flowPx: tf.Tensor4D, eps: number): tf.Tensor4D {
  if (!Number.isFinite(eps)) return flowPx.clone();
  const [, h, w] = flowPx.shape;
  return tf.tidy(() => {
    const lim = tf.tensor1d([(eps * (w - 1)) / 2, (eps * (h - 1)) / 2]);
    return tf.minimum(tf.maximum(flowPx, tf.neg(lim)), lim) as tf.Tensor4D;
  });
}

/** stAdv's default smoothness weight when a budget eps is set (see the header for the measurement). */
export const STADV_BOUNDED_TAU = 0.0005;

export function stAdv(config: StAdvConfig = {}): FlowAttack {
  const bounded = config.eps !== undefined && Number.isFinite(config.eps);
  const tau = checkNumberAtLeast('stAdv', 'tau', config.tau ?? (bounded ? STADV_BOUNDED_TAU : 0.05), 0);
  const kappa = checkNumberAtLeast('stAdv', 'kappa', config.kappa ?? 0, 0);
  const steps = checkPositiveInt('stAdv', 'steps', config.steps ?? 100);
  const lr = checkNumberAtLeast('stAdv', 'lr', config.lr ?? 0.1, 0);
  const { eps, padding } = checkFlowBudget('stAdv', config.eps, config.padding);
  const targeted = config.targeted ?? false;
  const runWithFlow = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: AttackRunOptions = {}): FlowAttackResult => {
    const targets = targeted ? opts.targets : undefined;
    if (targeted && !targets) throw new Error('stAdv: a targeted attack needs opts.targets');
    let flowOut: tf.Tensor4D | undefined;
    const xOut = runChecked('stAdv', model, x, y, () => {
      const [b, h, w] = x.shape;
      let f = tf.zeros([b, h, w, 2]) as tf.Tensor4D;
      let m = tf.zerosLike(f) as tf.Tensor4D;
      let v = tf.zerosLike(f) as tf.Tensor4D;
      let best = tf.zerosLike(f) as tf.Tensor4D;
      const bestSmooth = new Float64Array(b).fill(Infinity);
      const everFooled = new Uint8Array(b);
      // Step `steps` only evaluates the final flow (no update after it).
      for (let s = 0; s <= steps; s++) {
        let lossParts: { ok: Uint8Array; smooth: Float32Array } | undefined;
        const grad = tf.grad((ff: tf.Tensor) => {
          const fp = ff as tf.Tensor4D;
          const logits = model.logits(warp(x, pixelFlowToGrid(fp), { padding }));
          const smooth = flowSmoothness(fp);
          lossParts = tf.tidy(() => ({ ok: isFooled(logits, y, targets), smooth: Float32Array.from(smooth.dataSync()) }));
          return tf.sum(tf.add(cwMarginLoss(logits, y, kappa, targets), tf.mul(smooth, tau)));
        })(f) as tf.Tensor4D;
        const improve = new Uint8Array(b);
        for (let i = 0; i < b; i++) {
          if (lossParts!.ok[i]) { everFooled[i] = 1; if (lossParts!.smooth[i] < bestSmooth[i]) { bestSmooth[i] = lossParts!.smooth[i]; improve[i] = 1; } }
          // Never fooled so far: track the latest iterate.
          else if (!everFooled[i]) improve[i] = 1;
        }
        const mask = tf.tensor(improve, [b, 1, 1, 1], 'bool');
        const nb = tf.tidy(() => tf.where(tf.broadcastTo(mask, f.shape), f, best)) as tf.Tensor4D;
        tf.dispose([mask, best]);
        best = nb;
        if (s === steps) { grad.dispose(); break; }
        const [f1, m1, v1] = adamUpdate(f, grad, m, v, s + 1, lr);
        const fc = clampPixelFlow(f1, eps);
        tf.dispose([grad, f, m, v, f1]);
        [f, m, v] = [fc, m1, v1];
        opts.onProgress?.(s + 1, steps);
      }
      tf.dispose([f, m, v]);
      flowOut = pixelFlowToGrid(best);
      best.dispose();
      return tf.tidy(() => tf.clipByValue(warp(x, flowOut!, { padding }), 0, 1)) as tf.Tensor4D;
    });
    return { x: xOut, flow: flowOut!, stats: flowStats(flowOut!) };
  };
  return {
    name: targeted ? 'stadv-targeted' : 'stadv',
    threat: { norm: 'flow', eps, targeted },
    config: { tau, kappa, steps, lr, eps, padding, targeted },
    runWithFlow,
    run(model, x, y, opts) {
      const r = runWithFlow(model, x, y, opts);
      r.flow.dispose();
      return r.x;
    },
  };
}

/** Per example: misclassified (untargeted) or classified as the target. */
export function isFooled(logits: tf.Tensor2D, y: tf.Tensor1D, targets?: tf.Tensor1D): Uint8Array {
  return tf.tidy(() => {
    const pred = tf.argMax(logits, 1);
    return Uint8Array.from((targets ? tf.equal(pred, targets) : tf.notEqual(pred, y)).dataSync());
  });
}
