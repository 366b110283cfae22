// Differentiable bilinear warp of NHWC images by a flow field, as torch's grid_sample(align_corners=True) on the identity grid.
//
// Why not tf.image.transform / resizeBilinear: neither takes a per-pixel flow. Why not tf.gather directly: its gradient is
// UnsortedSegmentSum, which tfjs-backend-wasm 4.22 lacks; the gather here has a customGrad whose backward is a scatterND
// (present on cpu and wasm) whose own backward is again the gather, so second-order gradients (flow gradient regularization
// differentiates the flow gradient w.r.t. the weights) stay linear and exact.
//
// Padding: torch's F.grid_sample defaults to padding_mode 'zeros', which is what the official FGR code (xpf/Flow-Gradient-
// Regularization) uses for its flow attack and its random start; its training regularizer uses its own sampler that clamps
// indices, i.e. 'border' at the bottom/right edges (it extrapolates linearly at the top/left, which we do not copy).
import * as tf from '@tensorflow/tfjs';

export type WarpPadding = 'zeros' | 'border';
export const WARP_PADDINGS: readonly WarpPadding[] = ['zeros', 'border'];

export interface WarpOptions {
  /** Value outside the image: 'zeros' (torch's default, used by the FGR attack) or 'border' (nearest edge pixel). */
  padding?: WarpPadding;
}

/** A flow budget in grid units (coordinates in [-1, 1], align_corners=True) as pixels along an axis of `size` pixels. */
export function gridToPixels(eps: number, size: number): number {
  checkSize(size);
  return (eps * (size - 1)) / 2;
}

/** A displacement in pixels as grid units along an axis of `size` pixels. */
export function pixelsToGrid(pixels: number, size: number): number {
  checkSize(size);
  return (2 * pixels) / (size - 1);
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 2) throw new Error(`size must be an integer >= 2 (pixels along the axis), got ${size}`);
}

/** Rows of `table` [N, C] at `idx` [M] -> [M, C]; gradient by scatter-add, second-order safe on cpu and wasm. */
function gatherRows(table: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const n = table.shape[0];
  const f = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([idx]);
    return {
      value: tf.gather(t, idx),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => scatterRows(dy, saved[0] as tf.Tensor1D, n),
    };
  }) as never) as (t: tf.Tensor2D) => tf.Tensor2D;
  return f(table);
}

/** Sum of `rows` [M, C] into an [n, C] table at `idx` [M] (duplicates add); its gradient is gatherRows. */
function scatterRows(rows: tf.Tensor2D, idx: tf.Tensor1D, n: number): tf.Tensor2D {
  const f = tf.customGrad(((r: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([idx]);
    return {
      value: tf.scatterND(tf.expandDims(idx, 1), r, [n, r.shape[1]]),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => gatherRows(dy, saved[0] as tf.Tensor1D),
    };
  }) as never) as (r: tf.Tensor2D) => tf.Tensor2D;
  return f(rows);
}

/** 1 where integer corner (yc, xc) lies in an h x w image, else 0; a constant to autodiff (comparisons have no gradient). */
function insideMask(yc: tf.Tensor3D, xc: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
  const f = tf.customGrad(((a: tf.Tensor3D, b: tf.Tensor3D) => ({
    value: tf.cast(tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(a, 0), tf.lessEqual(a, h - 1)),
      tf.logicalAnd(tf.greaterEqual(b, 0), tf.lessEqual(b, w - 1))), 'float32'),
    gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy), tf.zerosLike(dy)],
  })) as never) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
  return f(yc, xc);
}

/**
 * Samples x [B,H,W,C] at the identity grid plus `flow` [B,H,W,2] (channel 0 = x/width, 1 = y/height displacement, in grid
 * units: 1 unit = (size-1)/2 pixels), bilinearly. Differentiable w.r.t. x and flow (twice); exactly x when flow = 0.
 * At integer sample positions the flow derivative is the one-sided forward difference x[i+1] - x[i] (autodiff of the
 * piecewise-linear sampler with floor() held constant); at the last row/column it is -x (zeros) or 0 (border).
 */
export function warp(x: tf.Tensor4D, flow: tf.Tensor4D, opts: WarpOptions = {}): tf.Tensor4D {
  const padding = opts.padding ?? 'zeros';
  if (!WARP_PADDINGS.includes(padding)) throw new Error(`warp: padding must be one of ${WARP_PADDINGS.join(', ')}, got "${padding}"`);
  if (x.rank !== 4) throw new Error(`warp: x must be [B,H,W,C], got shape [${x.shape}]`);
  if (flow.rank !== 4 || flow.shape[3] !== 2 || flow.shape[0] !== x.shape[0] || flow.shape[1] !== x.shape[1] || flow.shape[2] !== x.shape[2]) {
    throw new Error(`warp: flow must be [B,H,W,2] = [${x.shape.slice(0, 3)},2] to match x, got shape [${flow.shape}]`);
  }
  const [b, h, w, c] = x.shape;
  if (h < 2 || w < 2) throw new Error(`warp: images must be at least 2x2 pixels, got ${h}x${w}`);
  return tf.tidy(() => {
    const table = tf.reshape(x, [b * h * w, c]) as tf.Tensor2D;
    // Source positions in pixels: the pixel's own index plus the flow, so the identity is exact (no grid round trip).
    const rows = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1]);
    const cols = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w]);
    let py = tf.add(rows, tf.mul(tf.squeeze(tf.slice(flow, [0, 0, 0, 1], [b, h, w, 1]), [3]), (h - 1) / 2)) as tf.Tensor3D;
    let px = tf.add(cols, tf.mul(tf.squeeze(tf.slice(flow, [0, 0, 0, 0], [b, h, w, 1]), [3]), (w - 1) / 2)) as tf.Tensor3D;
    if (padding === 'border') {
      py = tf.clipByValue(py, 0, h - 1);
      px = tf.clipByValue(px, 0, w - 1);
    }
    // floor() has a zero gradient: the corner indices are constants, the weights carry the flow derivative.
    const y0 = tf.floor(py);
    const x0 = tf.floor(px);
    const wy = tf.sub(py, y0);
    const wx = tf.sub(px, x0);
    const base = tf.reshape(tf.mul(tf.range(0, b, 1, 'float32'), h * w), [b, 1, 1]);
    const corner = (yc: tf.Tensor3D, xc: tf.Tensor3D, weight: tf.Tensor3D): tf.Tensor2D => {
      const flat = tf.add(base, tf.add(tf.mul(tf.clipByValue(yc, 0, h - 1), w), tf.clipByValue(xc, 0, w - 1)));
      const idx = tf.cast(tf.reshape(flat, [-1]), 'int32') as tf.Tensor1D;
      let wgt: tf.Tensor = weight;
      if (padding === 'zeros') {
        // Corners outside the image read 0. With 'border' a clipped corner reads the edge pixel instead.
        wgt = tf.mul(weight, insideMask(yc, xc, h, w));
      }
      return tf.mul(gatherRows(table, idx), tf.reshape(wgt, [-1, 1])) as tf.Tensor2D;
    };
    const y1 = tf.add(y0, 1) as tf.Tensor3D;
    const x1 = tf.add(x0, 1) as tf.Tensor3D;
    const ay = tf.sub(1, wy) as tf.Tensor3D;
    const ax = tf.sub(1, wx) as tf.Tensor3D;
    const out = tf.addN([
      corner(y0 as tf.Tensor3D, x0 as tf.Tensor3D, tf.mul(ay, ax) as tf.Tensor3D),
      corner(y0 as tf.Tensor3D, x1, tf.mul(ay, wx) as tf.Tensor3D),
      corner(y1, x0 as tf.Tensor3D, tf.mul(wy, ax) as tf.Tensor3D),
      corner(y1, x1, tf.mul(wy, wx) as tf.Tensor3D),
    ]);
    return tf.reshape(out, [b, h, w, c]) as tf.Tensor4D;
  });
}
