// Confidence intervals for an accuracy k/n measured on n test examples.
// - Wilson score: the default for tables and claims (close to nominal coverage, never outside [0, 1], fine at k = 0 or n).
// - Clopper-Pearson "exact": inverts the binomial test, coverage >= the level for every p (conservative); via the
//   beta quantile: lo = Beta^-1(alpha/2; k, n-k+1), hi = Beta^-1(1-alpha/2; k+1, n-k).
import { betaQuantile, normalQuantile } from './special';

export interface Interval {
  lo: number;
  hi: number;
}

export type IntervalMethod = 'wilson' | 'clopper-pearson';

/** An accuracy with its interval: acc = k / n, [lo, hi] at `level`. */
export interface AccuracyInterval extends Interval {
  acc: number;
  k: number;
  n: number;
  method: IntervalMethod;
  level: number;
}

export function checkCounts(where: string, k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: n must be a positive integer (the number of examples), got ${n}; an accuracy on no examples has no interval`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`${where}: k must be an integer count in [0, n=${n}], got ${k}; pass the number of correct examples, not the fraction`);
}

export function checkLevel(where: string, level: number): void {
  if (typeof level !== 'number' || !(level > 0 && level < 1)) throw new Error(`${where}: level must be in (0, 1), e.g. 0.95, got ${String(level)}`);
}

/** z for a two-sided interval at `level`: 1.959964 for 0.95. */
export function zFor(level: number): number {
  let z = zCache.get(level);
  if (z === undefined) zCache.set(level, (z = normalQuantile(1 - (1 - level) / 2)));
  return z;
}
const zCache = new Map<number, number>(); // bisection is ~50 CDF calls: compute each level once

/** Wilson score interval for k successes in n trials. */
export function wilson(k: number, n: number, level = 0.95): Interval {
  checkCounts('wilson', k, n);
  checkLevel('wilson', level);
  const z = zFor(level);
  const z2 = z * z;
  const center = (k + z2 / 2) / (n + z2);
  const half = (z / (n + z2)) * Math.sqrt((k * (n - k)) / n + z2 / 4);
  // Exact ends at k = 0 and k = n (the formula gives them up to rounding).
  return { lo: k === 0 ? 0 : Math.max(0, center - half), hi: k === n ? 1 : Math.min(1, center + half) };
}

/** Clopper-Pearson exact interval for k successes in n trials. */
export function clopperPearson(k: number, n: number, level = 0.95): Interval {
  checkCounts('clopperPearson', k, n);
  checkLevel('clopperPearson', level);
  const a = (1 - level) / 2;
  return { lo: k === 0 ? 0 : betaQuantile(a, k, n - k + 1), hi: k === n ? 1 : betaQuantile(1 - a, k + 1, n - k) };
}

export function proportionInterval(k: number, n: number, method: IntervalMethod = 'wilson', level = 0.95): Interval {
  if (method === 'wilson') return wilson(k, n, level);
  if (method === 'clopper-pearson') return clopperPearson(k, n, level);
  throw new Error(`proportionInterval: unknown method ${JSON.stringify(method)}; use 'wilson' or 'clopper-pearson'`);
}

/** Counts the 1s of a per-example correctness vector (entries must be 0 or 1, or booleans). */
export function countCorrect(where: string, correct: ArrayLike<number | boolean>): { k: number; n: number } {
  if (correct == null || typeof correct !== 'object' || typeof (correct as ArrayLike<unknown>).length !== 'number') {
    throw new Error(`${where}: expected per-example correctness (a Uint8Array or number[] of 0/1), got ${correct === null ? 'null' : typeof correct}`);
  }
  let k = 0;
  for (let i = 0; i < correct.length; i++) {
    const v = correct[i];
    if (v === 1 || v === true) k++;
    else if (v !== 0 && v !== false) throw new Error(`${where}: correctness[${i}] is ${String(v)}; entries are 0 (wrong) or 1 (correct), one per test example`);
  }
  if (correct.length === 0) throw new Error(`${where}: the correctness vector is empty; evaluate at least one example`);
  return { k, n: correct.length };
}

/** Accuracy of a per-example correctness vector with its interval (default Wilson 95%). */
export function accuracyInterval(correct: ArrayLike<number | boolean>, method: IntervalMethod = 'wilson', level = 0.95): AccuracyInterval {
  const { k, n } = countCorrect('accuracyInterval', correct);
  return countInterval(k, n, method, level);
}

/** The same from counts: k correct out of n. */
export function countInterval(k: number, n: number, method: IntervalMethod = 'wilson', level = 0.95): AccuracyInterval {
  const ci = proportionInterval(k, n, method, level);
  return { acc: k / n, k, n, lo: ci.lo, hi: ci.hi, method, level };
}
