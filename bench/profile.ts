// `npm run bench -- --profile`: where one step's time goes, per kernel. tf.profile lists every kernel, including the ones that
// our composite kernels (lib/tf/wasm-kernels.ts: Conv2DBackpropInput/Filter as conv2d + reshapes) run inside themselves, so
// plain sums count those twice. The engine's kernelDepth at each kernel tells them apart: top-level kernels add up to the
// step (the rest is JavaScript, tape and download overhead), and each composite gets its own breakdown.
import * as tf from '@tensorflow/tfjs';
import { createWorkload, type WorkloadName } from './workloads';

export interface KernelShare { kernel: string; ms: number; calls: number }
export interface StepProfile {
  stepMs: number;
  /** Top-level kernels by total time (they do not overlap): their sum is the step's kernel time. */
  kernels: KernelShare[];
  /** step - sum of top-level kernels: JavaScript, gradient tape, download. */
  overheadMs: number;
  /** For each composite kernel, the kernels it ran inside itself (direct children). */
  inner: Record<string, KernelShare[]>;
}

export interface KernelRecord { name: string; ms: number; depth: number }

function add(by: Map<string, KernelShare>, name: string, ms: number): void {
  const e = by.get(name) ?? { kernel: name, ms: 0, calls: 0 };
  e.ms += ms;
  e.calls++;
  by.set(name, e);
}
const sorted = (by: Map<string, KernelShare>) => [...by.values()].sort((a, b) => b.ms - a.ms);

/**
 * Records in completion order (a kernel's inner kernels complete before it), depth 1 = called by an op, d + 1 = called
 * inside a kernel of depth d. Returns top-level totals and each composite's direct children.
 */
export function nestKernels(records: KernelRecord[]): { kernels: KernelShare[]; inner: Record<string, KernelShare[]> } {
  const top = new Map<string, KernelShare>();
  const inner = new Map<string, Map<string, KernelShare>>();
  let pending: KernelRecord[] = []; // completed, parent not seen yet
  for (const r of records) {
    const children = pending.filter((p) => p.depth === r.depth + 1);
    if (children.length) {
      const m = inner.get(r.name) ?? new Map<string, KernelShare>();
      for (const c of children) add(m, c.name, c.ms);
      inner.set(r.name, m);
    }
    pending = pending.filter((p) => p.depth <= r.depth);
    pending.push(r);
    if (r.depth === 1) add(top, r.name, r.ms);
  }
  return { kernels: sorted(top), inner: Object.fromEntries([...inner].map(([k, m]) => [k, sorted(m)])) };
}

interface EngineInternals {
  state: { kernelDepth: number };
  profiler: { profileKernel: (...a: unknown[]) => unknown };
}

/** One step of the workload after warm-up, profiled. */
export async function profileStep(name: WorkloadName, batch: number, warmup: number): Promise<StepProfile> {
  const w = createWorkload(name, batch);
  for (let i = 0; i < Math.max(1, warmup); i++) { const out = w.step(); out.dataSync(); out.dispose(); }
  const engine = tf.engine() as unknown as EngineInternals;
  const depths: number[] = [];
  const original = engine.profiler.profileKernel;
  // profileKernel runs inside the engine's kernelDepth++ scope and returns just before the kernel's record is pushed.
  engine.profiler.profileKernel = function (this: unknown, ...a: unknown[]) {
    const depth = engine.state.kernelDepth;
    const r = original.apply(this, a);
    depths.push(depth);
    return r;
  };
  let info: Awaited<ReturnType<typeof tf.profile>>;
  const t0 = performance.now();
  try {
    info = await tf.profile(() => { const out = w.step(); out.dataSync(); return out; });
  } finally {
    engine.profiler.profileKernel = original;
  }
  const stepMs = performance.now() - t0;
  tf.dispose(info.result as tf.Tensor);
  w.dispose();
  if (depths.length !== info.kernels.length) throw new Error(`bench --profile: ${depths.length} depths for ${info.kernels.length} kernels (tfjs internals changed?)`);
  const records: KernelRecord[] = [];
  for (let i = 0; i < info.kernels.length; i++) records.push({ name: info.kernels[i].name, ms: (await info.kernels[i].kernelTimeMs) as number, depth: depths[i] });
  const nested = nestKernels(records);
  return { stepMs, ...nested, overheadMs: stepMs - nested.kernels.reduce((s, k) => s + k.ms, 0) };
}
