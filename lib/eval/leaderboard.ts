// Every method under one protocol (issue 21): one entry per method with its per-example correctness on the SAME test examples
// (clean, and the worst case of each threat), the leaderboard table, the Pareto fronts (clean vs robust) per threat, the
// paired tests, and a markdown summary written from those numbers only.
// Significance: per threat, every model against the most robust one (exact McNemar on the per-example worst case), with a
// Holm step-down correction over those comparisons (family-wise alpha); the "top group" is the models not significantly
// below the best. Every model is also tested against the reference (standard training), Holm-corrected likewise.
// Seeds: an entry's arrays are the seeds' arrays concatenated (the same examples once per seed), as the claims do.
import * as path from 'node:path';
import type { Model } from '../types';
import { mcnemarExact, type McNemarResult } from '../stats/mcnemar';
import { backendReport } from '../backend';
import { atomicWrite } from '../util/atomic-write';
import { checkFileName } from '../report/output-dir';
import { resultCard, type ResultCard } from './card';
import type { StrongReport, StrongThreat } from './protocol';
import { accuracyInterval, type AccuracyInterval } from '../stats/intervals';
import { formatAccCI, formatInterval, formatP, formatPoints } from '../stats/format';
import { paretoFront } from '../report/figures';
import type { TableRow } from '../report/tables';

export interface LeaderboardThreat {
  /** Column name, e.g. 'Linf ε=0.1'. */
  name: string;
  /** Per example: correct under every attack of the threat (clean-correct included). */
  correct: Uint8Array;
}

export interface LeaderboardEntry {
  id: string;
  label: string;
  /** How the method's lambda was chosen, e.g. 'λ=0.1 (validation, drop +1.2 pts)'; '' for methods without one. */
  lambda: string;
  clean: Uint8Array;
  threats: LeaderboardThreat[];
  secondsPerEpoch: number;
  params: number;
  seeds: number[];
  /** Sanity summary of the white-box evaluations, e.g. 'pass' or '1 fail: ...'. */
  sanity?: string;
}

export const ALL_THREATS = 'all threats';

function check(entries: LeaderboardEntry[]): void {
  const where = 'leaderboard';
  if (!Array.isArray(entries) || entries.length === 0) throw new Error(`${where}: give a non-empty array of entries`);
  const names = entries[0].threats.map((t) => t.name);
  const n = entries[0].clean.length;
  const ids = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) throw new Error(`${where}: entry id "${e.id}" is used twice`);
    ids.add(e.id);
    if (e.threats.map((t) => t.name).join('\u0000') !== names.join('\u0000')) {
      throw new Error(`${where}: "${e.label}" has threats [${e.threats.map((t) => t.name)}], "${entries[0].label}" has [${names}]: every entry needs the same threats in the same order`);
    }
    for (const a of [e.clean, ...e.threats.map((t) => t.correct)]) {
      if (a.length !== n) throw new Error(`${where}: "${e.label}" has ${a.length} per-example results where "${entries[0].label}" has ${n}: paired tests need the same examples`);
    }
    if (names.includes(ALL_THREATS)) throw new Error(`${where}: the threat name "${ALL_THREATS}" is reserved (the per-example worst case across threats)`);
  }
}

/** Per example: correct under every threat (the worst case across threats). */
export function acrossThreats(e: LeaderboardEntry): Uint8Array {
  const out = Uint8Array.from(e.clean);
  for (const t of e.threats) for (let i = 0; i < out.length; i++) out[i] &= t.correct[i];
  return out;
}

/** The threat columns with the across-threats column appended. */
export function threatColumns(entries: LeaderboardEntry[]): string[] {
  check(entries);
  return [...entries[0].threats.map((t) => t.name), ALL_THREATS];
}

/** Per-example robust correctness of an entry under a column (a threat name or ALL_THREATS). */
export function robustCorrect(e: LeaderboardEntry, column: string): Uint8Array {
  if (column === ALL_THREATS) return acrossThreats(e);
  const t = e.threats.find((x) => x.name === column);
  if (!t) throw new Error(`robustCorrect: "${e.label}" has no threat "${column}" (it has ${e.threats.map((x) => x.name).join(', ')})`);
  return t.correct;
}

/** The leaderboard table: one row per method, sorted by the across-threats worst case (then clean). */
export function leaderboardRows(entries: LeaderboardEntry[]): TableRow[] {
  const cols = threatColumns(entries);
  const acc = (e: LeaderboardEntry) => accuracyInterval(acrossThreats(e)).acc;
  const sorted = [...entries].sort((a, b) => acc(b) - acc(a) || accuracyInterval(b.clean).acc - accuracyInterval(a.clean).acc);
  return sorted.map((e) => ({
    method: e.label, λ: e.lambda, clean: formatAccCI(accuracyInterval(e.clean)),
    ...Object.fromEntries(cols.map((c) => [c, formatAccCI(accuracyInterval(robustCorrect(e, c)))])),
    's / epoch': Number(e.secondsPerEpoch.toFixed(2)), parameters: e.params, seeds: e.seeds.join(' '),
    ...(e.sanity !== undefined ? { sanity: e.sanity } : {}),
  }));
}

/** Labels of the non-dominated entries in the clean vs robust plane of a column, by clean accuracy. */
export function paretoLabels(entries: LeaderboardEntry[], column: string): string[] {
  const pts = entries.map((e) => ({ label: e.label, clean: accuracyInterval(e.clean).acc, robust: accuracyInterval(robustCorrect(e, column)).acc }));
  return paretoFront(pts).map((p) => p.label);
}

/** Holm's step-down adjusted p-values (same order as given). */
export function holmAdjust(p: number[]): number[] {
  const order = p.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(p.length);
  let run = 0;
  order.forEach(({ v, i }, k) => {
    run = Math.max(run, Math.min(1, (p.length - k) * v));
    out[i] = run;
  });
  return out;
}

export interface Comparison {
  column: string;
  /** 'best' (vs the most robust entry) or 'reference' (vs the reference entry). */
  against: 'best' | 'reference';
  a: LeaderboardEntry;
  b: LeaderboardEntry;
  test: McNemarResult;
  /** Holm-adjusted p over the comparisons of the same column and kind. */
  pHolm: number;
  significant: boolean;
}

/** Per column: every entry vs the most robust (ties: higher clean), and every entry vs the reference; McNemar + Holm. */
export function leaderboardComparisons(entries: LeaderboardEntry[], opts: { referenceId?: string; alpha?: number } = {}): Comparison[] {
  const cols = threatColumns(entries);
  const alpha = opts.alpha ?? 0.05;
  const ref = opts.referenceId === undefined ? undefined : entries.find((e) => e.id === opts.referenceId);
  if (opts.referenceId !== undefined && !ref) throw new Error(`leaderboardComparisons: referenceId "${opts.referenceId}" is not an entry (ids: ${entries.map((e) => e.id).join(', ')})`);
  return cols.flatMap((c) => {
    const acc = (e: LeaderboardEntry) => accuracyInterval(robustCorrect(e, c)).acc;
    const best = entries.reduce((a, b) => (acc(b) > acc(a) || (acc(b) === acc(a) && accuracyInterval(b.clean).acc > accuracyInterval(a.clean).acc) ? b : a));
    const kinds: ['best' | 'reference', LeaderboardEntry | undefined][] = [['best', best], ['reference', ref]];
    return kinds.flatMap(([against, other]) => {
      if (!other) return [];
      const rest = entries.filter((e) => e !== other);
      // a = the better-placed model (best), or the method tested against the reference.
      const tests = rest.map((e) => (against === 'best' ? mcnemarExact(robustCorrect(other, c), robustCorrect(e, c)) : mcnemarExact(robustCorrect(e, c), robustCorrect(other, c))));
      const adj = holmAdjust(tests.map((t) => t.pValue));
      return rest.map((e, i) => ({ column: c, against, a: against === 'best' ? other : e, b: against === 'best' ? e : other, test: tests[i], pHolm: adj[i], significant: adj[i] < alpha }));
    });
  });
}

/** The comparisons as table rows (difference with its Newcombe 95% CI, exact McNemar p, Holm-adjusted p, verdict). */
export function comparisonRows(cs: Comparison[]): TableRow[] {
  return cs.map((c) => ({
    threat: c.column, comparison: c.against === 'best' ? 'best vs' : 'vs reference', a: c.a.label, b: c.b.label,
    'a - b': formatPoints(c.test.diff, c.test.n), '95% CI (pts)': formatInterval(c.test.ci, c.test.n),
    'a only': c.test.aOnly, 'b only': c.test.bOnly, p: formatP(c.test.pValue), 'p (Holm)': formatP(c.pHolm),
    significant: c.significant ? 'yes' : 'no',
  }));
}

function list(xs: string[]): string {
  return xs.length === 0 ? 'none' : xs.join(', ');
}

/**
 * The summary in markdown, every sentence generated from the entries: per column the best model, the top group (not
 * significantly below it), the Pareto front, and which methods are significantly more / less robust than the reference.
 */
export function leaderboardSummary(entries: LeaderboardEntry[], opts: { referenceId: string; alpha?: number; context?: string }): string {
  const cols = threatColumns(entries);
  const cs = leaderboardComparisons(entries, opts);
  const ref = entries.find((e) => e.id === opts.referenceId)!;
  const n = ref.clean.length;
  const fmt = (e: LeaderboardEntry, c: string) => `${e.label} ${formatAccCI(accuracyInterval(robustCorrect(e, c)))}`;
  const lines: string[] = ['# Leaderboard summary', ''];
  if (opts.context) lines.push(opts.context, '');
  lines.push(`Per-example worst case on the same ${n} test-example evaluations per model (95% Wilson intervals). Paired tests: exact McNemar, ` +
    `Holm-corrected within each threat and comparison kind, alpha ${opts.alpha ?? 0.05}. Generated from the numbers; nothing here is hand-written.`, '');
  for (const c of cols) {
    const here = cs.filter((x) => x.column === c);
    const vsBest = here.filter((x) => x.against === 'best');
    const best = vsBest[0]?.a ?? entries[0];
    const top = [best, ...vsBest.filter((x) => !x.significant).map((x) => x.b)];
    const vsRef = here.filter((x) => x.against === 'reference');
    const better = vsRef.filter((x) => x.significant && x.test.diff > 0).map((x) => x.a.label);
    const worse = vsRef.filter((x) => x.significant && x.test.diff < 0).map((x) => x.a.label);
    lines.push(`## ${c}`, '',
      `- Most robust: ${fmt(best, c)}.`,
      `- Not significantly below it (top group, ${top.length} of ${entries.length}): ${list(top.map((e) => e.label))}.`,
      `- Pareto front, clean vs ${c} (no other model at least as good on both): ${list(paretoLabels(entries, c))}.`,
      `- Significantly more robust than ${ref.label}: ${list(better)}; significantly less: ${list(worse)}.`, '');
  }
  const cost = [...entries].sort((a, b) => a.secondsPerEpoch - b.secondsPerEpoch);
  lines.push('## Cost', '', `- Seconds per training epoch, cheapest to dearest: ${cost.map((e) => `${e.label} ${e.secondsPerEpoch.toFixed(1)}`).join(', ')}.`, '');
  return lines.join('\n');
}

/** The per-column accuracies of an entry (for figures and cards). */
export function entryIntervals(e: LeaderboardEntry, cols: string[]): { clean: AccuracyInterval; robust: Record<string, AccuracyInterval> } {
  return { clean: accuracyInterval(e.clean), robust: Object.fromEntries(cols.map((c) => [c, accuracyInterval(robustCorrect(e, c))])) };
}

const THREAT_NAMES: Partial<Record<StrongThreat, string>> = { linf: 'Linf', l2: 'L2', l1: 'L1', flow: 'flow' } as Partial<Record<StrongThreat, string>>;

/** The column name of a strong report's headline worst case, e.g. 'Linf ε=0.1' (flow: grid units). */
export function threatName(r: Pick<StrongReport, 'threat' | 'headlineEps'>): string {
  return `${THREAT_NAMES[r.threat] ?? r.threat} ε=${r.headlineEps}`;
}

function headlineWorst(r: StrongReport): Uint8Array {
  const row = r.byEps.find((b) => b.eps === r.headlineEps);
  if (!row) throw new Error(`leaderboard: the ${r.threat} report has no row at its headline eps ${r.headlineEps}`);
  return row.worst.correct;
}

/** One seed's evaluation of a method: its strong reports (one per white-box threat) and its transfer worst case. */
export interface LeaderboardRun {
  seed: number;
  reports: StrongReport[];
  /** Per example: correct on the clean input and on every transferred example (worstTransferCorrect), same examples. */
  transfer?: { name: string; correct: Uint8Array };
  secondsPerEpoch: number;
  params: number;
}

/** An entry from its runs (one per seed; arrays concatenated in seed order). Threat order: the reports', then transfer. */
export function leaderboardEntry(args: { id: string; label: string; lambda?: string; runs: LeaderboardRun[]; sanity?: string }): LeaderboardEntry {
  const where = 'leaderboardEntry';
  if (!Array.isArray(args.runs) || args.runs.length === 0) throw new Error(`${where}: "${args.label}" needs at least one run (one per seed)`);
  const cat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  };
  const cols = (run: LeaderboardRun) => [...run.reports.map((r) => ({ name: threatName(r), correct: headlineWorst(r) })), ...(run.transfer ? [run.transfer] : [])];
  const first = cols(args.runs[0]);
  for (const run of args.runs) {
    const n = run.reports[0]?.n;
    if (run.reports.some((r) => r.n !== n) || (run.transfer && run.transfer.correct.length !== n)) {
      throw new Error(`${where}: "${args.label}" seed ${run.seed}: the threats were evaluated on different numbers of examples; evaluate every threat on the same n`);
    }
    if (cols(run).map((c) => c.name).join('\u0000') !== first.map((c) => c.name).join('\u0000')) throw new Error(`${where}: "${args.label}": every seed needs the same threats`);
  }
  return {
    id: args.id, label: args.label, lambda: args.lambda ?? '',
    clean: cat(args.runs.map((r) => r.reports[0].clean.correct)),
    threats: first.map((c, i) => ({ name: c.name, correct: cat(args.runs.map((r) => cols(r)[i].correct)) })),
    secondsPerEpoch: args.runs.reduce((s, r) => s + r.secondsPerEpoch, 0) / args.runs.length,
    params: args.runs[0].params, seeds: args.runs.map((r) => r.seed), ...(args.sanity !== undefined ? { sanity: args.sanity } : {}),
  };
}

/** One model's card: a RobustBench-style ResultCard per white-box threat, the transfer and across-threats worst cases. */
export interface LeaderboardCard {
  method: string;
  lambda: string;
  dataset: string;
  architecture: string;
  paramCount: number;
  seed: number;
  backend: string;
  secondsPerEpoch: number;
  trainSeconds: number;
  nExamples: number;
  cleanAcc: number;
  cleanCI: { lo: number; hi: number };
  worstCase: { threat: string; acc: number; ci: { lo: number; hi: number } }[];
  threats: ResultCard[];
  notes?: string;
}

export function leaderboardCard(args: { method: string; lambda?: string; dataset: string; model: Model; run: LeaderboardRun; trainSeconds: number; notes?: string }): LeaderboardCard {
  const { run } = args;
  const entry = leaderboardEntry({ id: 'card', label: args.method, runs: [run] });
  const iv = (c: Uint8Array) => { const a = accuracyInterval(c); return { acc: a.acc, ci: { lo: a.lo, hi: a.hi } }; };
  const clean = iv(entry.clean);
  return {
    method: args.method, lambda: args.lambda ?? '', dataset: args.dataset, architecture: args.model.name, paramCount: args.model.paramCount(),
    seed: run.seed, backend: backendReport().name, secondsPerEpoch: run.secondsPerEpoch, trainSeconds: args.trainSeconds, nExamples: entry.clean.length,
    cleanAcc: clean.acc, cleanCI: clean.ci,
    worstCase: [...entry.threats.map((t) => ({ threat: t.name, ...iv(t.correct) })), { threat: ALL_THREATS, ...iv(acrossThreats(entry)) }],
    threats: run.reports.map((r) => resultCard({ method: args.method, dataset: args.dataset, model: args.model, seed: run.seed, report: r, trainSeconds: args.trainSeconds, reported: null })),
    ...(args.notes ? { notes: args.notes } : {}),
  };
}

/** Writes the card to <dir>/<name>.json atomically (name: a plain file name, as saveResultCard). */
export function saveLeaderboardCard(card: LeaderboardCard, dir: string, name: string): string {
  checkFileName('saveLeaderboardCard', 'name', name);
  const file = path.join(dir, `${name}.json`);
  atomicWrite(file, JSON.stringify(card, null, 2) + '\n');
  return file;
}
