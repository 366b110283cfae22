// Results over several seeds: mean, spread and a t-interval of the mean. Keep the per-seed rows too (values).
import { checkLevel, type Interval } from './intervals';
import { studentTQuantile } from './special';

export interface SeedAggregate {
  /** Number of seeds. */
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 denominator); 0 for a single seed, where no spread was measured (ci is absent). */
  sd: number;
  min: number;
  max: number;
  /** t-interval of the mean at `level` (n >= 2 only): mean +- t_{n-1} sd / sqrt(n). */
  ci?: Interval;
  level: number;
  /** The per-seed values, in the order given. */
  values: number[];
}

export function aggregateSeeds(values: ArrayLike<number>, opts: { level?: number; clip?: [number, number] } = {}): SeedAggregate {
  const level = opts.level ?? 0.95;
  checkLevel('aggregateSeeds', level);
  if (values == null || typeof values.length !== 'number' || values.length === 0) {
    throw new Error('aggregateSeeds: values must be a non-empty array of numbers, one per seed');
  }
  const v = Array.from(values);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`aggregateSeeds: values[${i}] is ${String(x)}, not a finite number; drop or fix that seed's result`);
  });
  const n = v.length;
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const out: SeedAggregate = { n, mean, sd, min: Math.min(...v), max: Math.max(...v), level, values: v };
  if (n >= 2) {
    const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
    let lo = mean - half;
    let hi = mean + half;
    // e.g. clip: [0, 1] for accuracies: a t-interval knows nothing of the range.
    if (opts.clip) [lo, hi] = [Math.max(opts.clip[0], lo), Math.min(opts.clip[1], hi)];
    out.ci = { lo, hi };
  }
  return out;
}
