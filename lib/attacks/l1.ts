// L1 threat-model geometry shared by the L1 attacks: the exact Euclidean projection onto the L1 ball intersected with the
// [0,1] box, a random start inside it, and the sparse steepest-ascent direction (Croce & Hein 2021, "Mind the box").
// Done per example in float64 on the host: exactness matters more than speed here (the kit runs on the cpu/wasm backends,
// where a read-back is cheap).
import * as tf from '@tensorflow/tfjs';

/**
 * Euclidean projection of the perturbation `v` onto { d : ||d||_1 <= eps, 0 <= x + d <= 1 } (x in [0,1], so 0 is inside).
 * The problem is separable given the multiplier lambda of the L1 constraint: d_i = sign(v_i) min(max(|v_i| - lambda, 0), c_i),
 * c_i the room the box leaves in v_i's direction. lambda = 0 when the box-clipped v already fits; else it solves
 * f(lambda) = sum_i min(max(|v_i| - lambda, 0), c_i) = eps for the piecewise linear, non-increasing f. Writes into `out`
 * (default a new array) and returns it.
 */
export function projectL1BoxRow(v: ArrayLike<number>, x: ArrayLike<number>, eps: number, out = new Float64Array(v.length)): Float64Array {
  const n = v.length;
  if (scratch.a.length !== n) scratch = { a: new Float64Array(n), c: new Float64Array(n) };
  const { a, c } = scratch;
  let f0 = 0;
  for (let i = 0; i < n; i++) {
    a[i] = Math.abs(v[i]);
    c[i] = Math.max(0, v[i] >= 0 ? 1 - x[i] : x[i]);
    f0 += Math.min(a[i], c[i]);
  }
  if (eps === 0) return out.fill(0);
  const lambda = f0 <= eps ? 0 : l1Threshold(a, c, f0, eps);
  for (let i = 0; i < n; i++) out[i] = Math.sign(v[i]) * Math.min(Math.max(a[i] - lambda, 0), c[i]);
  return out;
}

// Reused buffers of projectL1BoxRow (the attacks project thousands of rows of one size; JS runs one projection at a time).
let scratch = { a: new Float64Array(0), c: new Float64Array(0) };

/**
 * The lambda > 0 with f(lambda) = eps (f(0) = f0 > eps), without sorting: Newton steps on the piecewise linear f (inside one
 * linear piece a Newton step is the exact root), safeguarded by bisection of a bracket [lo, hi] with f(lo) > eps >= f(hi).
 * Coordinate i is on f's sloped part for max(a_i - c_i, 0) <= lambda < a_i.
 */
function l1Threshold(a: Float64Array, c: Float64Array, f0: number, eps: number): number {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < a.length; i++) if (c[i] > 0 && a[i] > hi) hi = a[i];
  let lam = 0;
  let f = f0;
  const tol = 1e-12 * Math.max(1, eps);
  for (let it = 0; it < 200; it++) {
    let k = 0;
    f = 0;
    for (let i = 0; i < a.length; i++) {
      if (c[i] <= 0) continue;
      const t = a[i] - lam;
      if (t <= 0) continue;
      if (t > c[i]) f += c[i];
      else { f += t; k++; }
    }
    if (Math.abs(f - eps) <= tol) return lam;
    if (f > eps) lo = lam;
    else hi = lam;
    let next = k > 0 ? lam + (f - eps) / k : (lo + hi) / 2;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (next === lam || hi - lo <= 1e-15 * hi) return hi;
    lam = next;
  }
  return hi;
}

/**
 * Projects xAdv onto the L1 ball of radius eps around x intersected with [0,1] (exactly, per example). The float32 rounding of
 * x + d can add up to about 1e-7 per changed pixel to the L1 norm; a few re-projections at a radius lowered by the excess keep
 * the returned inputs inside the threat model as float32 values.
 */
export function projectL1(xAdv: tf.Tensor4D, x: tf.Tensor4D, eps: number): tf.Tensor4D {
  if (!(eps >= 0)) throw new Error(`projectL1: eps must be >= 0, got ${eps}`);
  const b = x.shape[0];
  const d = x.size / b;
  const xs = x.dataSync();
  const va = xAdv.dataSync();
  const out = new Float32Array(x.size);
  for (let r = 0; r < b; r++) {
    const xr = xs.subarray(r * d, (r + 1) * d);
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) v[i] = va[r * d + i] - xr[i];
    writeProjectedRow(out, r * d, v, xr, eps);
  }
  return tf.tensor4d(out, x.shape);
}

/** Writes fround(x + P(v)) at out[off..], lowering the radius until the float32 result's L1 distance is within eps. */
export function writeProjectedRow(out: Float32Array, off: number, v: Float64Array, x: ArrayLike<number>, eps: number): void {
  let radius = eps;
  const p = new Float64Array(v.length);
  for (let attempt = 0; attempt < 8; attempt++) {
    projectL1BoxRow(v, x, radius, p);
    let norm = 0;
    for (let i = 0; i < p.length; i++) {
      const z = Math.fround(Math.min(1, Math.max(0, x[i] + p[i])));
      out[off + i] = z;
      norm += Math.abs(z - x[i]);
    }
    if (norm <= eps) return;
    radius = Math.max(0, radius - 2 * (norm - eps));
  }
  for (let i = 0; i < v.length; i++) out[off + i] = x[i]; // cannot happen in practice; the clean input is always inside
}

/** AutoAttack's L1 start: a standard normal perturbation projected onto the L1 ball and the box (seeded). */
export function randomStartL1(x: tf.Tensor4D, eps: number, seed: number): tf.Tensor4D {
  const noise = tf.tidy(() => tf.add(x, tf.randomNormal(x.shape, 0, 1, 'float32', seed))) as tf.Tensor4D;
  try {
    return projectL1(noise, x, eps);
  } finally {
    noise.dispose();
  }
}

/**
 * Sparse steepest-ascent direction of one example (L1 norm 1): sign(g_i) / q on the q coordinates with the largest |g_i| among
 * those that can still move in g's direction (a pixel at 0 with g_i < 0, or at 1 with g_i > 0, would waste the budget: SLIDE's
 * clipped-gradient rule), q = max(1, round(topk * d)) capped by the number that can move. All zeros when none can move.
 */
export function sparseDirectionRow(g: ArrayLike<number>, xAdv: ArrayLike<number>, topk: number): Float64Array {
  const n = g.length;
  const mag = new Float64Array(n);
  const idx = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    if (gi === 0 || !Number.isFinite(gi) || (gi > 0 && xAdv[i] >= 1) || (gi < 0 && xAdv[i] <= 0)) continue;
    mag[count] = Math.abs(gi);
    idx[count++] = i;
  }
  const out = new Float64Array(n);
  if (count === 0) return out;
  const q = Math.min(count, Math.max(1, Math.round(topk * n)));
  // The q-th largest magnitude; everything above it, then ties at it in index order, until q coordinates are taken.
  const thr = mag.slice(0, count).sort()[count - q];
  let taken = 0;
  for (let k = 0; k < count; k++) if (mag[k] > thr) { out[idx[k]] = Math.sign(g[idx[k]]) / q; taken++; }
  for (let k = 0; k < count && taken < q; k++) if (mag[k] === thr) { out[idx[k]] = Math.sign(g[idx[k]]) / q; taken++; }
  return out;
}
