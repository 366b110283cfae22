// A result card per evaluated model, in the spirit of RobustBench's JSON.
import * as path from 'node:path';
import type { Model } from '../types';
import { backendReport } from '../backend';
import { atomicWrite } from '../util/atomic-write';
import { worstCase, worstCaseByEps, type RobustnessReport } from './robustness';
import type { SanityCheck } from './sanity';

export interface ResultCard {
  method: string;
  dataset: string;
  architecture: string;
  paramCount: number;
  threatModels: { norm: string; eps: number }[];
  cleanAcc: number;
  /** Flow attacks also carry eps in pixels; an unbounded attack's eps (Infinity) is written as null. */
  robustAcc: { attack: string; norm: string; eps: number; epsPixels?: number; targeted?: boolean; config?: Record<string, unknown>; acc: number; seconds: number }[];
  worstCaseByEps: { norm: string; eps: number; acc: number }[];
  worstCaseAll: number;
  nExamples: number;
  seed: number;
  backend: string;
  trainSeconds?: number;
  evalSeconds: number;
  sanity: SanityCheck[];
  /** What the paper reports, when it reports something comparable; null otherwise. */
  reported: Record<string, number> | null;
  notes?: string;
}

export function resultCard(args: { method: string; dataset: string; model: Model; seed: number; report: RobustnessReport; sanity: SanityCheck[];
  trainSeconds?: number; reported?: Record<string, number> | null; notes?: string }): ResultCard {
  const r = args.report;
  const norms = [...new Set(r.attacks.map((a) => a.norm))];
  return {
    method: args.method, dataset: args.dataset, architecture: args.model.name, paramCount: args.model.paramCount(),
    threatModels: [...new Map(r.attacks.map((a) => [`${a.norm}:${a.eps}`, { norm: a.norm, eps: a.eps }])).values()],
    cleanAcc: r.clean,
    robustAcc: r.attacks.map((a) => ({
      attack: a.attack, norm: a.norm, eps: a.eps, ...(a.epsPixels !== undefined ? { epsPixels: a.epsPixels } : {}),
      ...(a.targeted ? { targeted: true } : {}), ...(a.config ? { config: a.config } : {}), acc: a.acc, seconds: a.seconds,
    })),
    worstCaseByEps: norms.flatMap((n) => worstCaseByEps(r, n).map((p) => ({ norm: n, eps: p.eps, acc: p.acc }))),
    worstCaseAll: worstCase(r.attacks, r.cleanCorrect).acc,
    nExamples: r.n, seed: args.seed, backend: backendReport().name, trainSeconds: args.trainSeconds, evalSeconds: r.seconds,
    sanity: args.sanity, reported: args.reported ?? null, notes: args.notes,
  };
}

/** Writes the card as JSON (atomically) to <dir>/<name>.json. */
export function saveResultCard(card: ResultCard, dir: string, name: string): string {
  const file = path.join(dir, `${name}.json`);
  atomicWrite(file, JSON.stringify(card, null, 2) + '\n');
  return file;
}
