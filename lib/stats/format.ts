// Printing accuracies at the resolution their sample size supports: at n = 300 one example is 0.33 points, so a second
// decimal of a percent is noise; at n = 100, even the first is. Tables, cards and claims format through these.
import { countInterval, type AccuracyInterval, type Interval, type IntervalMethod } from './intervals';

/** Decimals of a percentage that n examples support: clamp(ceil(log10 n) - 2, 0, 2): n <= 100 -> 0, <= 1000 -> 1, else 2. */
export function pctDecimals(n: number): number {
  if (typeof n !== 'number' || !(n >= 1)) throw new Error(`pctDecimals: n must be a number of examples >= 1, got ${String(n)}`);
  return Math.min(2, Math.max(0, Math.ceil(Math.log10(n)) - 2));
}

/**
 * x with d decimals, rounding the decimal value half away from zero (23.45 -> '23.5', where (23.45).toFixed(1) gives
 * '23.4' from its binary expansion), and no '-0.0' for a tiny negative.
 */
export function toFixedClean(x: number, d: number): string {
  if (!Number.isFinite(x)) return String(x);
  const f = 10 ** d;
  const v = cleanNumber(Math.abs(x) * f);
  const s = ((Math.sign(x) * Math.round(v)) / f).toFixed(d);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Drops float noise: 9.999999999999998 -> 10, 0.30000000000000004 -> 0.3 (15 significant digits round-trip any decimal). */
export function cleanNumber(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(15)) : x;
}

function checkFraction(where: string, x: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new Error(`${where}: expected an accuracy as a fraction in [0, 1], got ${String(x)}${typeof x === 'number' && x > 1 && x <= 100 ? ' (divide a percentage by 100)' : ''}`);
  }
}

/** An accuracy (fraction) as a percent at the resolution n supports: formatAcc(0.2345, 300) = '23.5%'. */
export function formatAcc(acc: number, n: number): string {
  checkFraction('formatAcc', acc);
  return `${toFixedClean(acc * 100, pctDecimals(n))}%`;
}

/** An interval of fractions in percent points, at n's resolution: '[18.1, 29.9]'. */
export function formatInterval(ci: Interval, n: number): string {
  const d = pctDecimals(n);
  return `[${toFixedClean(ci.lo * 100, d)}, ${toFixedClean(ci.hi * 100, d)}]`;
}

/** A signed difference of fractions in percentage points: formatPoints(0.06, 200) = '+6.0 pts'. */
export function formatPoints(diff: number, n: number): string {
  const s = toFixedClean(diff * 100, pctDecimals(n));
  return `${s.startsWith('-') || /^0(\.0*)?$/.test(s) ? s : `+${s}`} pts`;
}

/** A p-value with two significant digits; tiny ones as 'p<0.0001'. */
export function formatP(p: number): string {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`formatP: expected a p-value in [0, 1], got ${String(p)}`);
  return p < 1e-4 ? 'p<0.0001' : `p=${Number(p.toPrecision(2))}`;
}

export interface FormatAccCIOptions {
  method?: IntervalMethod;
  level?: number;
}

/**
 * An accuracy with its interval: formatAccCI(0.235, 200) = '23.5% [18.2, 29.8]' (Wilson 95% by default).
 * x is an accuracy fraction (k = x n must be a whole count), or an AccuracyInterval / { k, n } (then n may be omitted).
 * A count k is never passed as a plain number (formatAccCI(1, 300) would be ambiguous): pass k / n or { k, n }.
 */
export function formatAccCI(x: number | AccuracyInterval | { k: number; n: number }, n?: number, opts: FormatAccCIOptions = {}): string {
  let iv: AccuracyInterval;
  if (typeof x === 'number') {
    if (Number.isInteger(x) && x > 1) {
      throw new Error(`formatAccCI: got ${x}, which looks like a count; pass the accuracy as a fraction (${x} / n) or { k: ${x}, n }`);
    }
    checkFraction('formatAccCI', x);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`formatAccCI: n must be the number of examples (a positive integer), got ${String(n)}`);
    const k = Math.round(x * n);
    if (Math.abs(k - x * n) > 1e-6 * Math.max(1, n)) {
      throw new Error(`formatAccCI: accuracy ${x} is not a whole count out of n=${n} (x n = ${x * n}); pass the n it was measured on (a mean over seeds needs aggregateSeeds, not a binomial interval)`);
    }
    iv = countInterval(k, n, opts.method, opts.level);
  } else if (x && typeof x === 'object') {
    if ('lo' in x && 'hi' in x && opts.method === undefined && opts.level === undefined) iv = x as AccuracyInterval;
    else iv = countInterval(x.k, x.n ?? (n as number), opts.method, opts.level);
  } else {
    throw new Error(`formatAccCI: expected an accuracy fraction, { k, n } or an AccuracyInterval, got ${String(x)}`);
  }
  return `${formatAcc(iv.acc, iv.n)} ${formatInterval(iv, iv.n)}`;
}
