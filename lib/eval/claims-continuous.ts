// Claims about continuous per-example metrics (saliency localization, sparseness, deletion AUC, ...) measured on the SAME
// inputs for two models: the continuous counterpart of claimPaired (claims.ts), with the same verdict rules.
//
// Test: the paired differences d_i = a_i - b_i (better: 'higher') or b_i - a_i (better: 'lower'), i.e. a's improvement over b
// on input i, over the inputs where both values are finite (the others are dropped and counted: e.g. localization of an
// all-zero map is NaN). Mean d with its Student t interval (df = n - 1) and the two-sided paired t-test of mean d = 0; an
// exact sign test (ties dropped) is reported beside it as a check that does not lean on the normal approximation.
// Verdicts (alpha = 0.05 unless given), exactly claimPaired's with d in the metric's units and `margin` in those units:
//   supported     lo > margin, and p < alpha unless margin < 0
//   contradicted  hi < margin, and p < alpha when margin = 0
//   inconclusive  otherwise
// Why a t-interval: the metrics are bounded per example and n is tens to hundreds, so the mean difference is close to
// normal; it gives an interval in the metric's units, which a sign or rank test does not.
import type { ClaimResult, Verdict } from './claims';
import { binomialCdf, studentTCdf, studentTQuantile } from '../stats/special';
import { formatP, toFixedClean } from '../stats/format';

/** One model's metric per input (one entry per input, same order as the other arm's). */
export interface MetricSample {
  label: string;
  values: ArrayLike<number>;
}

export interface PairedMeanClaimSpec {
  id: string;
  statement: string;
  source?: string;
  /** The model claimed better. */
  a: MetricSample;
  b: MetricSample;
  /** Name of the metric in the evidence, e.g. 'localization'. */
  metric: string;
  /** Which direction is better for this metric (default 'higher'). */
  better?: 'higher' | 'lower';
  /** Claimed minimum improvement of a over b, in the metric's units (default 0; negative = non-inferiority). */
  margin?: number;
  alpha?: number;
}

export interface PairedMeanTest {
  /** Pairs used (both values finite) and pairs dropped. */
  n: number;
  dropped: number;
  meanA: number;
  meanB: number;
  /** Mean improvement of a over b (sign follows `better`) and its t-interval. */
  diff: number;
  lo: number;
  hi: number;
  sd: number;
  /** Two-sided paired t-test p-value of mean diff = 0. */
  pValue: number;
  /** Sign test: inputs where a is better, where b is better (ties dropped), exact two-sided p-value. */
  aBetter: number;
  bBetter: number;
  signP: number;
}

function checkSample(where: string, field: string, s: MetricSample): number[] {
  if (!s || typeof s.label !== 'string' || s.label === '') throw new Error(`${where}: ${field}.label must be a non-empty string (the model's name)`);
  if (s.values == null || typeof s.values.length !== 'number') throw new Error(`${where}: ${field}.values must be an array of numbers, one per input`);
  return Array.from(s.values, (v, i) => {
    if (typeof v !== 'number') throw new Error(`${where}: ${field}.values[${i}] is ${String(v)}, not a number`);
    return v;
  });
}

/** The paired test behind claimPairedMean: t-interval and t-test of the mean improvement, plus the exact sign test. */
export function pairedMeanTest(a: ArrayLike<number>, b: ArrayLike<number>, opts: { better?: 'higher' | 'lower'; level?: number } = {}): PairedMeanTest {
  const where = 'pairedMeanTest';
  const level = opts.level ?? 0.95;
  if (!(level > 0.5 && level < 1)) throw new Error(`${where}: level must be in (0.5, 1), e.g. 0.95, got ${level}`);
  const better = opts.better ?? 'higher';
  if (better !== 'higher' && better !== 'lower') throw new Error(`${where}: better must be 'higher' or 'lower', got ${JSON.stringify(better)}`);
  if (a.length !== b.length) throw new Error(`${where}: both arms must have one value per input, in the same order: got ${a.length} and ${b.length} values`);
  const va: number[] = [];
  const vb: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) { va.push(a[i]); vb.push(b[i]); }
  const n = va.length;
  if (n < 2) throw new Error(`${where}: need at least 2 inputs where both values are finite, got ${n} of ${a.length}`);
  const sign = better === 'higher' ? 1 : -1;
  const d = va.map((x, i) => sign * (x - vb[i]));
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const diff = mean(d);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - diff) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  let lo = diff;
  let hi = diff;
  let pValue: number;
  // Scale-aware zero test: a spread at float noise of the values is no spread.
  const scale = Math.max(1e-300, ...d.map(Math.abs));
  if (se > 1e-12 * scale) {
    const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * se;
    lo = diff - half;
    hi = diff + half;
    pValue = Math.min(1, 2 * (1 - studentTCdf(Math.abs(diff) / se, n - 1)));
  } else {
    pValue = Math.abs(diff) > 1e-12 * scale ? 0 : 1; // every difference identical: exact
  }
  const aBetter = d.filter((x) => x > 0).length;
  const bBetter = d.filter((x) => x < 0).length;
  const m = aBetter + bBetter;
  const signP = m === 0 ? 1 : Math.min(1, 2 * binomialCdf(Math.min(aBetter, bBetter), m, 0.5));
  return { n, dropped: a.length - n, meanA: mean(va), meanB: mean(vb), diff, lo, hi, sd, pValue, aBetter, bBetter, signP };
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3))));
const signed = (x: number) => (x > 0 ? `+${num(x)}` : num(x));

/** Claim: a's metric beats b's by more than `margin` (metric units) on the same inputs; verdict rules of claimPaired. */
export function claimPairedMean(spec: PairedMeanClaimSpec): ClaimResult {
  const where = 'claimPairedMean';
  if (typeof spec?.id !== 'string' || spec.id.trim() === '') throw new Error(`${where}: id must be a non-empty string (e.g. 'S4'), got ${JSON.stringify(spec?.id)}`);
  const w = `${where} ${spec.id}`;
  if (typeof spec.statement !== 'string' || spec.statement.trim() === '') throw new Error(`${w}: statement must be the claim in words`);
  if (typeof spec.metric !== 'string' || spec.metric.trim() === '') throw new Error(`${w}: metric must name the measured quantity (e.g. 'localization')`);
  const margin = spec.margin ?? 0;
  if (typeof margin !== 'number' || !Number.isFinite(margin)) throw new Error(`${w}: margin must be a finite number in the metric's units, got ${String(margin)}`);
  const alpha = spec.alpha ?? 0.05;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 0.5)) throw new Error(`${w}: alpha must be in (0, 0.5), e.g. 0.05, got ${String(alpha)}`);
  const better = spec.better ?? 'higher';
  const a = checkSample(w, 'a', spec.a);
  const b = checkSample(w, 'b', spec.b);
  const t = pairedMeanTest(a, b, { better, level: 1 - alpha });
  const significant = t.pValue < alpha;
  let verdict: Verdict = 'inconclusive';
  let why: string;
  if (t.lo > margin && (margin < 0 || significant)) {
    verdict = 'supported';
    why = margin < 0 ? `CI above ${signed(margin)}` : `CI above ${signed(margin)} and p < ${alpha}`;
  } else if (t.hi < margin && (margin !== 0 || significant)) {
    verdict = 'contradicted';
    why = margin === 0 ? `CI below 0 and p < ${alpha}: ${spec.b.label} is the better` : `CI below the claimed ${signed(margin)}`;
  } else {
    why = t.lo > margin ? `CI above ${signed(margin)} but p = ${toFixedClean(t.pValue, 3)} >= ${alpha}` : `CI includes ${signed(margin)}`;
  }
  const pct = Math.round((1 - alpha) * 100);
  const evidence = `${spec.metric} (${better} is better): ${spec.a.label} mean ${num(t.meanA)} vs ${spec.b.label} mean ${num(t.meanB)} on the same ${t.n} inputs` +
    `${t.dropped ? ` (${t.dropped} dropped: non-finite)` : ''}: improvement ${signed(t.diff)}, ${pct}% CI [${signed(t.lo)}, ${signed(t.hi)}], ` +
    `paired t ${formatP(t.pValue)}; sign test ${t.aBetter} vs ${t.bBetter} ${formatP(t.signP)}; ${why}`;
  const test = `paired (continuous): t-interval of mean ${spec.metric} improvement of ${spec.a.label} over ${spec.b.label} vs margin ${signed(margin)}, alpha ${alpha}`;
  return {
    id: spec.id, statement: spec.statement, ...(spec.source ? { source: spec.source } : {}), test, verdict, evidence,
    numbers: { n: t.n, dropped: t.dropped, a: spec.a.label, b: spec.b.label, metric: spec.metric, better, meanA: t.meanA, meanB: t.meanB,
      diff: t.diff, diffLo: t.lo, diffHi: t.hi, sd: t.sd, pValue: t.pValue, aBetter: t.aBetter, bBetter: t.bBetter, signP: t.signP, margin, alpha },
  };
}
