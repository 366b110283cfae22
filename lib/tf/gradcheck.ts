// Finite-difference checks of autodiff gradients: the only way to trust second-order gradients in tfjs.
import * as tf from '@tensorflow/tfjs';

export interface GradCheckResult {
  /** max |autodiff - fd| / max(|fd|, tiny) over the sampled coordinates. */
  relError: number;
  /** Largest |fd| seen, to tell a vanishing gradient from a matching one. */
  maxAbsGrad: number;
  checked: number;
  /** Coordinates skipped because the function has a kink there (ReLU nets: ||dL/dx||^2 jumps where a unit switches). */
  skipped: number;
}

/**
 * Compares tf.grads(f)(params)[i] with central differences on up to `samples` coordinates of each parameter
 * (chosen with a fixed stride, so the check is deterministic). f must be a pure function of params.
 */
export async function gradCheck(
  f: (...params: tf.Tensor[]) => tf.Scalar, params: tf.Tensor[], opts: { h?: number; samples?: number } = {},
): Promise<GradCheckResult> {
  const h = opts.h ?? 1e-2;
  const samples = opts.samples ?? 12;
  const grads = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(params);
  const auto = await Promise.all(grads.map((g) => g.data()));
  tf.dispose(grads);
  let maxErr = 0;
  let maxAbs = 0;
  let checked = 0;
  for (let p = 0; p < params.length; p++) {
    const base = (await params[p].data()) as Float32Array;
    const stride = Math.max(1, Math.floor(base.length / samples));
    for (let i = 0; i < base.length; i += stride) {
      const eval1 = async (delta: number): Promise<number> => {
        const v = Float32Array.from(base);
        v[i] += delta;
        const t = tf.tensor(v, params[p].shape);
        const args = params.map((q, k) => (k === p ? t : q));
        const out = f(...args);
        const val = (await out.data())[0];
        tf.dispose([t, out]);
        return val;
      };
      const fd = ((await eval1(h)) - (await eval1(-h))) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - auto[p][i]));
      maxAbs = Math.max(maxAbs, Math.abs(fd));
      checked++;
    }
  }
  return { relError: maxErr / Math.max(maxAbs, 1e-12), maxAbsGrad: maxAbs, checked, skipped: 0 };
}

/**
 * Like gradCheck, for a loss that reads tf.Variables (a model's weights): autodiff via tf.variableGrads, finite differences
 * by assigning perturbed values (restored afterwards).
 */
export async function gradCheckVariables(
  f: () => tf.Scalar, vars: tf.Variable[], opts: { h?: number; samples?: number; skipKinks?: boolean } = {},
): Promise<GradCheckResult> {
  const h = opts.h ?? 1e-2;
  const samples = opts.samples ?? 6;
  let skipped = 0;
  const { value, grads } = tf.variableGrads(f, vars);
  value.dispose();
  let maxErr = 0;
  let maxAbs = 0;
  let checked = 0;
  for (const v of vars) {
    const auto = await grads[v.name].data();
    const base = Float32Array.from(await v.data());
    const stride = Math.max(1, Math.floor(base.length / samples));
    for (let i = 0; i < base.length; i += stride) {
      const at = async (delta: number): Promise<number> => {
        const p = Float32Array.from(base);
        p[i] += delta;
        v.assign(tf.tensor(p, v.shape));
        const out = f();
        const val = (await out.data())[0];
        out.dispose();
        return val;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      // Differences at h and h/4 disagree where the function is not smooth (a ReLU switching): no derivative to compare there.
      const fdFine = opts.skipKinks ? ((await at(h / 4)) - (await at(-h / 4))) / (h / 2) : fd;
      v.assign(tf.tensor(base, v.shape));
      if (Math.abs(fd - fdFine) > 0.05 * Math.max(Math.abs(fd), Math.abs(fdFine)) + 1e-4) { skipped++; continue; }
      maxErr = Math.max(maxErr, Math.abs(fd - auto[i]));
      maxAbs = Math.max(maxAbs, Math.abs(fd));
      checked++;
    }
  }
  tf.dispose(Object.values(grads));
  return { relError: maxErr / Math.max(maxAbs, 1e-12), maxAbsGrad: maxAbs, checked, skipped };
}
