// A paper's claims as computed verdicts: every verdict and every evidence string comes from these functions, never from
// hand-written prose. Each result keeps the numbers that decided it.
//
// Verdict rules (alpha = 0.05 and 95% intervals unless given; intervals are Wilson unless `method` says otherwise):
// - claimPaired (a beats b by more than `margin`, default 0; both measured on the SAME examples): d = accA - accB with its
//   Newcombe method-10 CI [lo, hi] and the exact McNemar p-value.
//     supported     lo > margin, and p < alpha unless margin < 0 (a non-inferiority claim needs no significant difference)
//     contradicted  hi < margin, and p < alpha when margin = 0 (b significantly better; for margin > 0: "the gain is
//                   significantly smaller than claimed", even when a does beat b)
//     inconclusive  otherwise (the CI straddles the margin)
// - claimAtLeast (value >= threshold): supported lo >= threshold; contradicted hi < threshold; else inconclusive.
//   claimAtMost  (value <= threshold): supported hi <= threshold; contradicted lo > threshold; else inconclusive.
//   A value given without an interval (one exact measurement, e.g. a wall time) is compared as is, and says so.
// - claimTrend (accuracy rises, or falls, along ordered points, e.g. lambda): 'endpoints' (default) = claimPaired of the last
//   point against the first in the claimed direction, downgraded from supported to inconclusive when some consecutive step
//   goes significantly the other way (not monotone); 'consecutive' = claimAll of the paired tests of every step.
//   Each test is at level alpha (no multiplicity correction: the steps are reported as they are).
// - claimAll (conjunction): contradicted if any part is; supported if all are; not testable if all are; else inconclusive.
// - claimNotTestable: 'not testable' with the reason (e.g. the quick profile has no CIFAR-10 model).
import type { SaveTableOptions } from '../report/output';
import { publishTable } from '../report/publish';
import type { TableRow } from '../report/tables';
import { countCorrect, countInterval, type IntervalMethod } from '../stats/intervals';
import { mcnemarExact } from '../stats/mcnemar';
import { formatAcc, formatInterval, formatP, formatPoints, pctDecimals, toFixedClean } from '../stats/format';

export type Verdict = 'supported' | 'contradicted' | 'inconclusive' | 'not testable';
export const VERDICTS: readonly Verdict[] = ['supported', 'contradicted', 'inconclusive', 'not testable'];

export interface ClaimResult {
  id: string;
  statement: string;
  /** Where the claim comes from, e.g. 'Xia & Li 2021, abstract'. */
  source?: string;
  /** The test that decided it, in words. */
  test: string;
  verdict: Verdict;
  /** The numbers that decided it, in words. */
  evidence: string;
  /** The same numbers, structured (fractions for accuracies). */
  numbers: Record<string, number | string>;
  /** The sub-claims of a conjunction or trend. */
  parts?: ClaimResult[];
}

/** One model's per-example correctness (0/1, one entry per test example). */
export interface Arm {
  label: string;
  correct: ArrayLike<number | boolean>;
}

/** A measured quantity for a threshold claim. */
export type Measured =
  /** An accuracy from per-example correctness (binomial interval). */
  | { label: string; correct: ArrayLike<number | boolean> }
  /** An accuracy from counts. */
  | { label: string; k: number; n: number }
  /** An estimate with its interval, e.g. from aggregateSeeds (mean, ci). unit 'fraction' prints as a percentage. */
  | { label: string; estimate: number; lo: number; hi: number; unit?: 'fraction' | 'value' }
  /** One exact measurement without an interval (e.g. seconds per epoch). */
  | { label: string; value: number; unit?: 'fraction' | 'value' };

interface ClaimBase {
  id: string;
  statement: string;
  source?: string;
}

export interface PairedClaimSpec extends ClaimBase {
  /** The model claimed better. */
  a: Arm;
  b: Arm;
  /** Claimed minimum of accA - accB (fraction; default 0; negative = "no worse than b by more than -margin"). */
  margin?: number;
  alpha?: number;
}

export interface ThresholdClaimSpec extends ClaimBase {
  value: Measured;
  /** In the value's units (a fraction for accuracies). */
  threshold: number;
  method?: IntervalMethod;
  alpha?: number;
}

export interface TrendClaimSpec extends ClaimBase {
  /** Ordered along the swept quantity (e.g. increasing lambda), all on the same examples. */
  points: Arm[];
  direction: 'increasing' | 'decreasing';
  mode?: 'endpoints' | 'consecutive';
  alpha?: number;
}

function checkBase(where: string, b: ClaimBase): void {
  if (typeof b?.id !== 'string' || b.id.trim() === '') throw new Error(`${where}: id must be a non-empty string (e.g. 'X1'), got ${JSON.stringify(b?.id)}`);
  if (typeof b.statement !== 'string' || b.statement.trim() === '') throw new Error(`${where} ${b.id}: statement must be the claim in words, got ${JSON.stringify(b.statement)}`);
}

function checkAlpha(where: string, alpha: number): void {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 0.5)) throw new Error(`${where}: alpha must be in (0, 0.5), e.g. 0.05, got ${String(alpha)}`);
}

function checkArm(where: string, field: string, arm: Arm): void {
  if (!arm || typeof arm.label !== 'string' || arm.label === '') throw new Error(`${where}: ${field}.label must be a non-empty string (the model's name)`);
  countCorrect(`${where} ${field} (${arm.label})`, arm.correct);
}

function result(base: ClaimBase, test: string, verdict: Verdict, evidence: string, numbers: Record<string, number | string>, parts?: ClaimResult[]): ClaimResult {
  return { id: base.id, statement: base.statement, ...(base.source ? { source: base.source } : {}), test, verdict, evidence, numbers, ...(parts ? { parts } : {}) };
}

function accWithCI(correct: ArrayLike<number | boolean>, level: number): { text: string; acc: number; lo: number; hi: number; n: number } {
  const { k, n } = countCorrect('claim', correct);
  const iv = countInterval(k, n, 'wilson', level);
  return { text: `${formatAcc(iv.acc, n)} ${formatInterval(iv, n)}`, acc: iv.acc, lo: iv.lo, hi: iv.hi, n };
}

function pointsInterval(lo: number, hi: number, n: number): string {
  const d = pctDecimals(n);
  const sign = (x: number) => { const s = toFixedClean(x * 100, d); return s.startsWith('-') || /^0(\.0*)?$/.test(s) ? s : `+${s}`; };
  return `[${sign(lo)}, ${sign(hi)}]`;
}

/** Claim: a is more accurate than b by more than `margin`, on the same examples (McNemar exact + Newcombe CI). */
export function claimPaired(spec: PairedClaimSpec): ClaimResult {
  const where = 'claimPaired';
  checkBase(where, spec);
  const margin = spec.margin ?? 0;
  const alpha = spec.alpha ?? 0.05;
  if (typeof margin !== 'number' || !(margin > -1 && margin < 1)) throw new Error(`${where} ${spec.id}: margin must be a fraction in (-1, 1) (0.05 = 5 points), got ${String(margin)}`);
  checkAlpha(`${where} ${spec.id}`, alpha);
  checkArm(`${where} ${spec.id}`, 'a', spec.a);
  checkArm(`${where} ${spec.id}`, 'b', spec.b);
  const level = 1 - alpha;
  const m = mcnemarExact(spec.a.correct, spec.b.correct, { level });
  const A = accWithCI(spec.a.correct, level);
  const B = accWithCI(spec.b.correct, level);
  const significant = m.pValue < alpha;
  let verdict: Verdict = 'inconclusive';
  let why: string;
  if (m.ci.lo > margin && (margin < 0 || significant)) {
    verdict = 'supported';
    why = margin < 0 ? `CI above ${formatPoints(margin, m.n)}` : `CI above ${formatPoints(margin, m.n)} and p < ${alpha}`;
  } else if (m.ci.hi < margin && (margin !== 0 || significant)) {
    verdict = 'contradicted';
    why = margin === 0 ? `CI below 0 and p < ${alpha}: ${spec.b.label} is the more accurate` : `CI below the claimed ${formatPoints(margin, m.n)}`;
  } else {
    why = m.ci.lo > margin ? `CI above ${formatPoints(margin, m.n)} but p = ${toFixedClean(m.pValue, 3)} >= ${alpha}` : `CI includes ${formatPoints(margin, m.n)}`;
  }
  const evidence = `${spec.a.label} ${A.text} vs ${spec.b.label} ${B.text} on the same ${m.n} examples: diff ${formatPoints(m.diff, m.n)}, ` +
    `${Math.round(level * 100)}% CI ${pointsInterval(m.ci.lo, m.ci.hi, m.n)}, McNemar exact ${formatP(m.pValue)} (${m.aOnly} vs ${m.bOnly} discordant); ${why}`;
  const test = `paired: McNemar exact + Newcombe ${Math.round(level * 100)}% CI of acc(${spec.a.label}) - acc(${spec.b.label}) vs margin ${formatPoints(margin, m.n)}, alpha ${alpha}`;
  return result(spec, test, verdict, evidence, {
    n: m.n, a: spec.a.label, b: spec.b.label, accA: m.accA, accALo: A.lo, accAHi: A.hi, accB: m.accB, accBLo: B.lo, accBHi: B.hi,
    diff: m.diff, diffLo: m.ci.lo, diffHi: m.ci.hi, pValue: m.pValue, aOnly: m.aOnly, bOnly: m.bOnly, margin, alpha,
  });
}

/** Estimate and interval of a Measured value, with how to print it. */
function measure(where: string, v: Measured, method: IntervalMethod, level: number): { label: string; est: number; lo: number; hi: number; exact: boolean; fmt: (x: number) => string; text: string; n?: number } {
  if (!v || typeof v.label !== 'string' || v.label === '') throw new Error(`${where}: value.label must be a non-empty string`);
  const pct = (n?: number) => (x: number) => `${toFixedClean(x * 100, n === undefined ? 1 : pctDecimals(n))}%`;
  const num = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3))));
  if ('correct' in v || 'k' in v) {
    const { k, n } = 'correct' in v ? countCorrect(`${where} (${v.label})`, v.correct) : v;
    const iv = countInterval(k, n, method, level);
    const fmt = pct(n);
    return { label: v.label, est: iv.acc, lo: iv.lo, hi: iv.hi, exact: false, fmt, n, text: `${fmt(iv.acc)} [${fmt(iv.lo).slice(0, -1)}, ${fmt(iv.hi).slice(0, -1)}] (n=${n}, ${method})` };
  }
  if ('estimate' in v) {
    for (const key of ['estimate', 'lo', 'hi'] as const) if (typeof v[key] !== 'number' || !Number.isFinite(v[key])) throw new Error(`${where}: value.${key} must be a finite number, got ${String(v[key])}`);
    if (!(v.lo <= v.estimate && v.estimate <= v.hi)) throw new Error(`${where}: value.estimate ${v.estimate} lies outside [lo, hi] = [${v.lo}, ${v.hi}]`);
    const fmt = v.unit === 'fraction' ? pct() : num;
    return { label: v.label, est: v.estimate, lo: v.lo, hi: v.hi, exact: false, fmt, text: `${fmt(v.estimate)} [${fmt(v.lo)}, ${fmt(v.hi)}]` };
  }
  if ('value' in v && typeof v.value === 'number' && Number.isFinite(v.value)) {
    const fmt = v.unit === 'fraction' ? pct() : num;
    return { label: v.label, est: v.value, lo: v.value, hi: v.value, exact: true, fmt, text: `${fmt(v.value)} (one measurement, no interval)` };
  }
  throw new Error(`${where}: value must be { label, correct } | { label, k, n } | { label, estimate, lo, hi } | { label, value }`);
}

function thresholdClaim(where: string, spec: ThresholdClaimSpec, atLeast: boolean): ClaimResult {
  checkBase(where, spec);
  const alpha = spec.alpha ?? 0.05;
  checkAlpha(`${where} ${spec.id}`, alpha);
  const method = spec.method ?? 'wilson';
  if (typeof spec.threshold !== 'number' || !Number.isFinite(spec.threshold)) throw new Error(`${where} ${spec.id}: threshold must be a finite number in the value's units (a fraction for accuracies), got ${String(spec.threshold)}`);
  const m = measure(`${where} ${spec.id}`, spec.value, method, 1 - alpha);
  const t = spec.threshold;
  const [sup, con] = atLeast ? [m.lo >= t, m.hi < t] : [m.hi <= t, m.lo > t];
  const verdict: Verdict = sup ? 'supported' : con ? 'contradicted' : 'inconclusive';
  const bound = m.exact ? 'the value' : 'the interval';
  const why = verdict === 'inconclusive' ? `${bound} straddles ${m.fmt(t)}`
    : verdict === 'supported' ? `${bound} lies ${atLeast ? 'at or above' : 'at or below'} ${m.fmt(t)}`
      : `${bound} lies ${atLeast ? 'below' : 'above'} ${m.fmt(t)}`;
  const rel = atLeast ? '>=' : '<=';
  const evidence = `${m.label} ${m.text}; claimed ${rel} ${m.fmt(t)}: ${why}`;
  const test = m.exact ? `threshold: value ${rel} ${m.fmt(t)}` : `threshold: ${Math.round((1 - alpha) * 100)}% interval vs ${rel} ${m.fmt(t)}`;
  return result(spec, test, verdict, evidence, {
    label: m.label, estimate: m.est, lo: m.lo, hi: m.hi, threshold: t, ...(m.n !== undefined ? { n: m.n } : {}), ...(m.exact ? { exact: 'yes' } : {}),
  });
}

/** Claim: the value is at least `threshold` (its interval decides). */
export function claimAtLeast(spec: ThresholdClaimSpec): ClaimResult {
  return thresholdClaim('claimAtLeast', spec, true);
}

/** Claim: the value is at most `threshold` (its interval decides). */
export function claimAtMost(spec: ThresholdClaimSpec): ClaimResult {
  return thresholdClaim('claimAtMost', spec, false);
}

/** Claim: accuracy rises (or falls) along the ordered points. */
export function claimTrend(spec: TrendClaimSpec): ClaimResult {
  const where = 'claimTrend';
  checkBase(where, spec);
  const alpha = spec.alpha ?? 0.05;
  const mode = spec.mode ?? 'endpoints';
  if (!Array.isArray(spec.points) || spec.points.length < 2) throw new Error(`${where} ${spec.id}: points must list at least 2 models in order (e.g. by increasing lambda)`);
  if (spec.direction !== 'increasing' && spec.direction !== 'decreasing') throw new Error(`${where} ${spec.id}: direction must be 'increasing' or 'decreasing', got ${JSON.stringify(spec.direction)}`);
  if (mode !== 'endpoints' && mode !== 'consecutive') throw new Error(`${where} ${spec.id}: mode must be 'endpoints' or 'consecutive', got ${JSON.stringify(mode)}`);
  spec.points.forEach((p, i) => checkArm(`${where} ${spec.id}`, `points[${i}]`, p));
  const up = spec.direction === 'increasing';
  const later = (i: number) => spec.points[i];
  // A step "in the claimed direction": the later point beats the earlier one if increasing, the reverse if decreasing.
  const step = (i: number, j: number, id: string): ClaimResult => claimPaired({
    id, statement: `${later(j).label} ${up ? 'above' : 'below'} ${later(i).label}`, a: up ? later(j) : later(i), b: up ? later(i) : later(j), alpha,
  });
  const steps = spec.points.slice(1).map((_, i) => step(i, i + 1, `${spec.id}.${i + 1}`));
  const last = spec.points.length - 1;
  const test = mode === 'endpoints'
    ? `trend (${spec.direction}): paired test of ${later(last).label} vs ${later(0).label}, no significant reversal at any step (alpha ${alpha})`
    : `trend (${spec.direction}, every step): paired test of each consecutive pair (alpha ${alpha})`;
  if (mode === 'consecutive') {
    const all = claimAll(spec.id, spec.statement, steps);
    return { ...all, ...(spec.source ? { source: spec.source } : {}), test };
  }
  const ends = spec.points.length === 2 ? steps[0] : step(0, last, `${spec.id}.ends`);
  const reversed = steps.map((s, i) => (s.verdict === 'contradicted' ? i : -1)).filter((i) => i >= 0);
  let verdict = ends.verdict;
  let note = '';
  if (verdict === 'supported' && reversed.length > 0) {
    verdict = 'inconclusive';
    note = `; not monotone: ${reversed.map((i) => `${later(i + 1).label} ${up ? 'below' : 'above'} ${later(i).label}`).join(', ')}, significantly`;
  }
  return result(spec, test, verdict, `${ends.evidence}${note}`, { ...ends.numbers, steps: steps.length, reversals: reversed.length }, spec.points.length === 2 ? undefined : steps);
}

/** Conjunction: every part must hold. */
export function claimAll(id: string, statement: string, parts: ClaimResult[], source?: string): ClaimResult {
  checkBase('claimAll', { id, statement });
  if (!Array.isArray(parts) || parts.length === 0) throw new Error(`claimAll ${id}: parts must be a non-empty array of claim results (claimPaired, claimAtLeast, ...)`);
  parts.forEach((p, i) => {
    if (!p || !VERDICTS.includes(p.verdict)) throw new Error(`claimAll ${id}: parts[${i}] is not a claim result; build parts with claimPaired/claimAtLeast/claimAtMost/claimTrend/claimNotTestable`);
  });
  const count = (v: Verdict) => parts.filter((p) => p.verdict === v).length;
  const verdict: Verdict = count('contradicted') > 0 ? 'contradicted'
    : count('supported') === parts.length ? 'supported'
      : count('not testable') === parts.length ? 'not testable' : 'inconclusive';
  const tally = VERDICTS.filter((v) => count(v) > 0).map((v) => `${count(v)} ${v}`).join(', ');
  const evidence = `${parts.length} parts: ${tally} (${parts.map((p) => `${p.id} ${p.verdict}`).join('; ')})`;
  return result({ id, statement, source }, 'all of the parts (a part contradicted contradicts the claim)', verdict, evidence,
    Object.fromEntries(VERDICTS.map((v) => [v, count(v)])), parts);
}

/** A claim this profile cannot test, with the reason. */
export function claimNotTestable(id: string, statement: string, reason: string, source?: string): ClaimResult {
  checkBase('claimNotTestable', { id, statement });
  if (typeof reason !== 'string' || reason.trim() === '') throw new Error(`claimNotTestable ${id}: give the reason the claim cannot be tested here (e.g. 'needs CIFAR-10 models: paper profile only')`);
  return result({ id, statement, source }, 'none', 'not testable', reason, {});
}

/** One dispatcher over the building blocks, for claims written as data. */
export type ClaimSpec =
  | ({ kind: 'paired' } & PairedClaimSpec)
  | ({ kind: 'atLeast' } & ThresholdClaimSpec)
  | ({ kind: 'atMost' } & ThresholdClaimSpec)
  | ({ kind: 'trend' } & TrendClaimSpec)
  | ({ kind: 'all'; parts: ClaimSpec[] } & ClaimBase)
  | ({ kind: 'notTestable'; reason: string } & ClaimBase);

export function claim(spec: ClaimSpec): ClaimResult {
  switch (spec?.kind) {
    case 'paired': return claimPaired(spec);
    case 'atLeast': return claimAtLeast(spec);
    case 'atMost': return claimAtMost(spec);
    case 'trend': return claimTrend(spec);
    case 'all': return claimAll(spec.id, spec.statement, spec.parts.map(claim), spec.source);
    case 'notTestable': return claimNotTestable(spec.id, spec.statement, spec.reason, spec.source);
    default: throw new Error(`claim: unknown kind ${JSON.stringify((spec as { kind?: unknown })?.kind)}; use 'paired', 'atLeast', 'atMost', 'trend', 'all' or 'notTestable'`);
  }
}

/**
 * The claims table: id, claim, (source,) test, verdict, evidence; the parts of a conjunction or trend follow their claim
 * as '↳' rows (parts: false leaves them out).
 */
export function claimsTable(results: ClaimResult[], opts: { parts?: boolean } = {}): TableRow[] {
  if (!Array.isArray(results) || results.length === 0) {
    throw new Error('claimsTable: no claims; list every claim of the paper (../shared/notes/papers.md), with claimNotTestable for those this profile cannot test');
  }
  const seen = new Set<string>();
  const withSource = results.some((r) => r.source);
  const rows: TableRow[] = [];
  const add = (r: ClaimResult, depth: number) => {
    if (!r || !VERDICTS.includes(r.verdict)) throw new Error(`claimsTable: ${JSON.stringify(r?.id)} is not a claim result; build it with claimPaired/claimAtLeast/claimAtMost/claimTrend/claimAll/claimNotTestable`);
    if (depth === 0) {
      if (seen.has(r.id)) throw new Error(`claimsTable: claim id '${r.id}' appears twice; give each claim its own id`);
      seen.add(r.id);
    }
    rows.push({
      id: r.id, claim: `${depth > 0 ? `${'  '.repeat(depth - 1)}↳ ` : ''}${r.statement}`,
      ...(withSource ? { source: r.source ?? '' } : {}), test: r.test, verdict: r.verdict, evidence: r.evidence,
    });
    if (opts.parts !== false) for (const p of r.parts ?? []) add(p, depth + 1);
  };
  results.forEach((r) => add(r, 0));
  return rows;
}

/** Shows the claims table and writes figures/<notebook>/claims.{csv,md} (name: another file name). */
export function publishClaims(results: ClaimResult[], notebook: string, opts: SaveTableOptions & { name?: string; parts?: boolean } = {}): void {
  const { name = 'claims', parts, ...tableOpts } = opts;
  publishTable(claimsTable(results, { parts }), notebook, name, tableOpts);
}
