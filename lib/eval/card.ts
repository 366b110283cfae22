// A result card per evaluated model, in the spirit of RobustBench's JSON. Every accuracy carries its 95% Wilson interval
// (`ci`); a card made from a strong report (strongEvaluation) also lists the protocol (threat, budget, eps grids), the
// paper-protocol columns, each attack's role, and the sanity checks with status and diagnosis.
import * as path from 'node:path';
import type { Model } from '../types';
import { backendReport } from '../backend';
import { atomicWrite } from '../util/atomic-write';
import { checkFileName } from '../report/output';
import { accuracyInterval, type Interval } from '../stats/intervals';
import { worstCase, worstCaseByEps, type RobustnessReport } from './robustness';
import type { SanityCheck } from './sanity';
import type { AttackRole, StrongBudget, StrongReport, StrongResult, StrongThreat } from './protocol';

export interface ResultCard {
  method: string;
  dataset: string;
  architecture: string;
  paramCount: number;
  threatModels: { norm: string; eps: number }[];
  cleanAcc: number;
  /** 95% Wilson interval of cleanAcc. */
  cleanCI: Interval;
  /** Flow attacks also carry eps in pixels; an unbounded attack's eps (Infinity) is written as null. */
  robustAcc: {
    attack: string; norm: string; eps: number; epsPixels?: number; targeted?: boolean; config?: Record<string, unknown>; acc: number; ci: Interval;
    seconds: number; role?: AttackRole; cached?: boolean; nonFinite?: number;
  }[];
  worstCaseByEps: { norm: string; eps: number; acc: number; ci: Interval; attacks?: string[] }[];
  worstCaseAll: number;
  worstCaseAllCI: Interval;
  nExamples: number;
  seed: number;
  backend: string;
  trainSeconds?: number;
  evalSeconds: number;
  sanity: SanityCheck[];
  /** Strong reports: how the numbers were obtained. */
  protocol?: { threat: StrongThreat; budget: StrongBudget; eps: number[]; headlineEps: number; largeEps: number[]; paperInWorstCase: boolean };
  /** Strong reports: the paper's own attack(s) per eps, beside the worst case. */
  paperProtocol?: { attack: string; eps: number; acc: number; ci: Interval }[];
  /** What the paper reports, when it reports something comparable; null otherwise. */
  reported: Record<string, number> | null;
  notes?: string;
}

const ci = (correct: Uint8Array): Interval => {
  const a = accuracyInterval(correct);
  return { lo: a.lo, hi: a.hi };
};

export interface ResultCardArgs {
  method: string;
  dataset: string;
  model: Model;
  seed: number;
  report: RobustnessReport | StrongReport;
  /** Required with a RobustnessReport; a strong report brings its own (these replace them when given). */
  sanity?: SanityCheck[];
  trainSeconds?: number;
  reported?: Record<string, number> | null;
  notes?: string;
}

export function resultCard(args: ResultCardArgs): ResultCard {
  const strong = 'kind' in args.report && args.report.kind === 'strong' ? args.report : undefined;
  const r: RobustnessReport = strong ? strong.report : (args.report as RobustnessReport);
  const sanity = args.sanity ?? strong?.sanity;
  if (!sanity) throw new Error('resultCard: sanity is required with a RobustnessReport (pass sanityChecks(report)); a strong report brings its own');
  const rows = strong ? strong.results : r.attacks;
  const norms = [...new Set(r.attacks.map((a) => a.norm))];
  const worstAll = worstCase(strong ? strong.results.filter((a) => a.role === 'ensemble' || (a.role === 'paper' && strong.report.attacks.includes(a))) : r.attacks, r.cleanCorrect);
  return {
    method: args.method, dataset: args.dataset, architecture: args.model.name, paramCount: args.model.paramCount(),
    threatModels: [...new Map(r.attacks.filter((a) => !strong || strong.eps.includes(a.eps)).map((a) => [`${a.norm}:${a.eps}`, { norm: a.norm, eps: a.eps }])).values()],
    cleanAcc: r.clean, cleanCI: ci(r.cleanCorrect),
    robustAcc: rows.map((a) => ({
      attack: a.attack, norm: a.norm, eps: a.eps, ...(a.epsPixels !== undefined ? { epsPixels: a.epsPixels } : {}),
      ...(a.targeted ? { targeted: true } : {}), ...(a.config ? { config: a.config } : {}), acc: a.acc, ci: ci(a.correct), seconds: a.seconds,
      ...('role' in a ? { role: (a as StrongResult).role } : {}), ...(a.cached ? { cached: true } : {}), ...(a.nonFinite ? { nonFinite: a.nonFinite } : {}),
    })),
    worstCaseByEps: strong
      ? strong.byEps.map((p) => ({ norm: strong.threat, eps: p.eps, acc: p.worst.acc, ci: { lo: p.worst.lo, hi: p.worst.hi }, attacks: p.worst.attacks }))
      : norms.flatMap((n) => worstCaseByEps(r, n).map((p) => {
        const w = worstCase(r.attacks.filter((a) => a.norm === n && a.eps === p.eps), r.cleanCorrect);
        return { norm: n, eps: p.eps, acc: p.acc, ci: ci(w.correct) };
      })),
    worstCaseAll: worstAll.acc, worstCaseAllCI: ci(worstAll.correct),
    nExamples: r.n, seed: args.seed, backend: backendReport().name, trainSeconds: args.trainSeconds, evalSeconds: strong ? strong.seconds : r.seconds,
    sanity,
    ...(strong ? {
      protocol: { threat: strong.threat, budget: strong.budget, eps: strong.eps, headlineEps: strong.headlineEps, largeEps: strong.largeEps,
        paperInWorstCase: strong.results.some((a) => a.role === 'paper' && strong.report.attacks.includes(a)) },
      paperProtocol: strong.byEps.flatMap((p) => p.paper.map((q) => ({ attack: q.attack, eps: p.eps, acc: q.acc.acc, ci: { lo: q.acc.lo, hi: q.acc.hi } }))),
    } : {}),
    reported: args.reported ?? null, notes: args.notes,
  };
}

/**
 * Writes the card as JSON (atomically) to <dir>/<name>.json. `name` must be a plain file name (the rule of tables and figures:
 * letters, digits, '.', '_', '-'; no folders, no '..'), so a card can never land outside `dir`.
 */
export function saveResultCard(card: ResultCard, dir: string, name: string): string {
  checkFileName('saveResultCard', 'name', name);
  if (typeof dir !== 'string' || dir === '') throw new Error(`saveResultCard: dir must be a folder path, e.g. figuresDir(notebook) + '/cards', got ${JSON.stringify(dir)}`);
  if (!card || typeof card !== 'object' || typeof card.method !== 'string') throw new Error('saveResultCard: card must be a ResultCard (build it with resultCard)');
  const file = path.join(dir, `${name}.json`);
  atomicWrite(file, JSON.stringify(card, null, 2) + '\n');
  return file;
}
