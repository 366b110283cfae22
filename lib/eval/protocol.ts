// The strong evaluation protocol (issue 14 item 2): one call per threat model runs an attack ensemble at every eps, takes the
// per-example worst case, keeps the paper's own attack as a separate column, runs the sanity checks (with an eps grid extended
// well past the training eps, where accuracy must reach ~chance) and the convergence check (doubling the steps of the strongest
// iterative attack at the headline eps), and puts a 95% Wilson interval on every accuracy. Results are cached per attack.
// Ensembles (evaluation.md, AutoAttack, issue 14):
//   linf: APGD-CE, APGD-DLR, Square (gradient-free), FGSM (single step, for the check);
//   l2:   APGD-CE and APGD-DLR in L2, FGM-L2 (one normalized-gradient step of length eps); the kit has no gradient-free L2
//         attack, so that check is 'n/a' (stated in the report);
//   l1:   APGD-L1 with CE and DLR (Croce & Hein 2021; sparse steps, exact projection onto the L1 ball and the box), Square-L1
//         (gradient-free random search with L1 squares), FGM-L1 (one sparse step of length eps from the clean input);
//   flow: strong flow PGD (restarts, margin loss, best iterate), flow FGSM (single step), flow Square (gradient-free),
//         stAdv and ADef bounded to the same eps.
// Nothing is weakened silently: the budget (steps, restarts, queries) is part of the report, cards and tables.
import type { Attack, Model } from '../types';
import { apgd, apgdL1, adef, fgsm, flowFgsm, flowPgd, flowSquare, markLibAttack, pgd, square, squareL1, stAdv } from '../attacks/index';
import type { WarpPadding } from '../tf/warp';
import { gridToPixels } from '../tf/warp';
import { activeProfile, type ProfileName } from '../experiment/profiles';
import { accuracyInterval, type AccuracyInterval } from '../stats/intervals';
import { eventLoopTurner } from '../util/event-loop';
import { checkEvaluation, evalSlice, robustnessSteps, worstCase, type AttackResult, type EvalData, type RobustnessReport } from './robustness';
import { BLACK_BOX_ATTACKS, gradientCheck, sanityChecks, sanitySummary, SINGLE_STEP_ATTACKS, type SanityCheck, type SanityOptions } from './sanity';
import { formatAccCI } from '../stats/format';
import type { TableRow } from '../report/tables';
import { convergenceFromResults, type ConvergenceResult } from './convergence';

export type StrongThreat = 'linf' | 'l2' | 'l1' | 'flow';
export const STRONG_THREATS: readonly StrongThreat[] = ['linf', 'l2', 'l1', 'flow'];

/** How much the strong protocol spends; always listed in its report. */
export interface StrongBudget {
  /** Preset it came from ('smoke', 'quick', 'paper') or 'custom'. */
  name: string;
  /** Iterations per restart of APGD (Linf, L2, L1) / strong flow PGD. */
  steps: number;
  /** Restarts of APGD (Linf, L2, L1) / strong flow PGD. */
  restarts: number;
  /** Queries per example of the gradient-free attack (Square, Square-L1, flow Square). Fewer than 1000: the black-box check is 'n/a'. */
  queries: number;
  /** stAdv Adam steps (flow). */
  stadvSteps: number;
  /** ADef iterations (flow). */
  adefIter: number;
}

/**
 * Presets per profile. quick: APGD 50 steps x 2 restarts (AutoAttack's standard run is 100 x 1), Square 1000 queries (the least
 * that counts for the black-box check); paper: AutoAttack-like 100 steps, 5 restarts, 5000 queries; smoke: only that the code
 * runs (its black-box check is 'n/a'). APGD-L1 gets the same steps x restarts (AutoAttack's L1 APGD: 100 steps, 5 restarts).
 */
export const STRONG_BUDGETS: Readonly<Record<ProfileName, StrongBudget>> = {
  smoke: { name: 'smoke', steps: 5, restarts: 1, queries: 50, stadvSteps: 5, adefIter: 3 },
  quick: { name: 'quick', steps: 50, restarts: 2, queries: 1000, stadvSteps: 50, adefIter: 20 },
  paper: { name: 'paper', steps: 100, restarts: 5, queries: 5000, stadvSteps: 200, adefIter: 50 },
};

export type BudgetInput = ProfileName | (Partial<StrongBudget> & { preset?: ProfileName });

/** A preset by name, or fields over a preset (default: the active profile's, GRADREG_PROFILE). */
export function resolveBudget(budget?: BudgetInput): StrongBudget {
  if (typeof budget === 'string') {
    const b = STRONG_BUDGETS[budget as ProfileName];
    if (!b) throw new Error(`strong budget "${budget}" is not a preset: use one of ${Object.keys(STRONG_BUDGETS).join(', ')} or an object { steps, restarts, queries, ... }`);
    return { ...b };
  }
  if (budget !== undefined && (budget === null || typeof budget !== 'object')) throw new Error(`budget must be a preset name or an object { steps, restarts, queries, ... }, got ${String(budget)}`);
  const preset = budget?.preset ?? activeProfile();
  const base = STRONG_BUDGETS[preset];
  if (!base) throw new Error(`budget.preset "${preset}" is not a preset: use one of ${Object.keys(STRONG_BUDGETS).join(', ')}`);
  const { preset: _p, ...fields } = budget ?? {};
  const custom = Object.keys(fields).some((k) => k !== 'name' && (fields as Record<string, unknown>)[k] !== undefined);
  const out: StrongBudget = { ...base, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), name: fields.name ?? (custom ? `${preset}+custom` : preset) };
  for (const k of ['steps', 'restarts', 'queries', 'stadvSteps', 'adefIter'] as const) {
    if (!(Number.isInteger(out[k]) && out[k] > 0)) throw new Error(`budget.${k} must be a positive integer, got ${out[k]}`);
  }
  return out;
}

/** One member of an ensemble at one eps; `rebuild` makes it with other steps (iterative gradient attacks: convergence). */
interface Member {
  attack: Attack;
  rebuild?: (steps: number) => Attack;
  /** Also run on the extended (large-eps) grid. */
  large: boolean;
}

function members(threat: StrongThreat, e: number, b: StrongBudget, padding?: WarpPadding): Member[] {
  if (threat === 'l1') {
    const mk = (loss: 'ce' | 'dlr') => (steps: number) => apgdL1({ eps: e, steps, restarts: b.restarts, loss });
    return [
      { attack: mk('ce')(b.steps), rebuild: mk('ce'), large: true },
      { attack: mk('dlr')(b.steps), rebuild: mk('dlr'), large: true },
      { attack: squareL1({ eps: e, queries: b.queries }), large: false },
      { attack: fgmL1(e), large: false },
    ];
  }
  if (threat === 'linf' || threat === 'l2') {
    const mk = (loss: 'ce' | 'dlr') => (steps: number) => apgd({ norm: threat, eps: e, steps, restarts: b.restarts, loss });
    const single: Attack = threat === 'linf' ? fgsm({ eps: e }) : fgmL2(e);
    return [
      { attack: mk('ce')(b.steps), rebuild: mk('ce'), large: true },
      { attack: mk('dlr')(b.steps), rebuild: mk('dlr'), large: true },
      ...(threat === 'linf' ? [{ attack: square({ eps: e, queries: b.queries }), large: false }] : []),
      { attack: single, large: false },
    ];
  }
  const mk = (steps: number) => flowPgd({ eps: e, steps, restarts: b.restarts, protocol: 'strong', padding });
  return [
    { attack: mk(b.steps), rebuild: mk, large: true },
    { attack: flowFgsm({ eps: e, padding }), large: false },
    { attack: flowSquare({ eps: e, queries: b.queries, padding }), large: false },
    { attack: stAdv({ eps: e, steps: b.stadvSteps, padding }), large: false },
    { attack: adef({ eps: e, maxIter: b.adefIter, padding }), large: false },
  ];
}

/** FGM in L2: one step of length eps along the normalized gradient from the clean input (the L2 single-step attack). */
function fgmL2(eps: number): Attack {
  const a = pgd({ norm: 'l2', eps, steps: 1, alpha: eps, randomStart: false, restarts: 1 });
  return markLibAttack({ ...a, name: 'fgm-l2' });
}

/** FGM in L1: one sparse steepest-ascent step of length eps from the clean input (APGD-L1's first step, 20% of the pixels). */
function fgmL1(eps: number): Attack {
  const a = apgdL1({ eps, steps: 1, restarts: 1, randomStart: false });
  return markLibAttack({ ...a, name: 'fgm-l1' });
}

function checkThreat(where: string, threat: unknown): StrongThreat {
  if (!STRONG_THREATS.includes(threat as StrongThreat)) throw new Error(`${where}: threat must be one of ${STRONG_THREATS.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(threat)}`);
  return threat as StrongThreat;
}

function checkEpsList(where: string, name: string, eps: unknown, allowEmpty = false): number[] {
  if (!Array.isArray(eps) || (!allowEmpty && eps.length === 0)) throw new Error(`${where}: ${name} must be a non-empty array of budgets, e.g. [0.1, 0.2, 0.3]`);
  for (const e of eps) if (!(typeof e === 'number' && Number.isFinite(e) && e >= 0)) throw new Error(`${where}: every ${name} entry must be a finite number >= 0, got ${e}`);
  return eps as number[];
}

/** The ensemble for a threat model at every eps of `eps` (in order), sized by `budget` (default: the active profile's preset). */
export function strongAttacks(threat: StrongThreat, eps: number[], budget?: BudgetInput, opts: { padding?: WarpPadding } = {}): Attack[] {
  checkThreat('strongAttacks', threat);
  const b = resolveBudget(budget);
  return checkEpsList('strongAttacks', 'eps', eps).flatMap((e) => members(threat, e, b, opts.padding).map((m) => m.attack));
}

/**
 * The extended grid for the "large eps reaches ~chance" check: 4x the largest eps and the budget at which the threat model can
 * map every input to one image (so accuracy at chance is reachable, not an expected floor): Linf 0.5 (every pixel to grey),
 * L2 sqrt(H*W*C)/2 and L1 H*W*C/2 (the distances to the grey image). Flow gets 4x the largest eps only, capped at 1 grid unit: at 1 a flow
 * can sample anywhere (outside the image too), a degenerate regime where flow PGD's signed steps of 2.5 eps/K wander instead
 * of ascending (measured on notebook 02's models: more examples survive at 1 than at 0.2), which fails the monotonicity
 * check for the attack's sake, not the model's. Entries not above the largest eps are dropped.
 */
export function defaultLargeEps(threat: StrongThreat, eps: number[], inputShape: readonly [number, number, number]): number[] {
  const max = Math.max(...eps);
  const dims = inputShape[0] * inputShape[1] * inputShape[2];
  const cap = threat === 'linf' ? 0.5 : threat === 'l2' ? Math.sqrt(dims) / 2 : threat === 'l1' ? dims / 2 : 1;
  const grid = threat === 'flow' ? [Math.min(4 * max, cap)] : [Math.min(4 * max, cap), cap];
  return [...new Set(grid)].filter((e) => e > max).sort((a, b) => a - b);
}

export type AttackRole = 'ensemble' | 'large-eps' | 'paper' | 'convergence';

/** One attack's result in a strong report: the robustness result, its role and its 95% interval. */
export interface StrongResult extends AttackResult {
  role: AttackRole;
  ci: AccuracyInterval;
}

/** One eps of the headline grid. */
export interface StrongEpsRow {
  eps: number;
  /** Flow: eps in pixels along the width. */
  epsPixels?: number;
  /** Per-example worst case over the ensemble (and the paper attacks when paperInWorstCase). */
  worst: AccuracyInterval & { correct: Uint8Array; attacks: string[] };
  /** Each ensemble attack. */
  attacks: { attack: string; acc: AccuracyInterval }[];
  /** The paper-protocol attacks at this eps, as their own columns. */
  paper: { attack: string; acc: AccuracyInterval }[];
}

export interface StrongReport {
  kind: 'strong';
  threat: StrongThreat;
  model: string;
  numClasses: number;
  n: number;
  seed: number;
  budget: StrongBudget;
  /** Headline grid (as given) and the eps whose convergence is checked. */
  eps: number[];
  headlineEps: number;
  /** Extended grid of the large-eps check. */
  largeEps: number[];
  clean: AccuracyInterval & { correct: Uint8Array };
  /** Per eps of the headline grid, ascending. */
  byEps: StrongEpsRow[];
  /** White-box worst case per eps over the headline and the extended grid (accuracy-vs-eps out to ~chance), ascending. */
  curve: { eps: number; acc: AccuracyInterval }[];
  /** Every attack run, with its settings (config), role and interval. */
  results: StrongResult[];
  convergence?: ConvergenceResult;
  /** The sanity checks (every kind listed; 'n/a' with the reason where one cannot apply), the gradient and convergence checks. */
  sanity: SanityCheck[];
  /**
   * The results that count (ensemble, large-eps, and paper attacks only with paperInWorstCase) as one RobustnessReport: what the
   * sanity checks saw; worstCaseByEps(report) is `curve` over all attacks. Paper and convergence runs are in `results`.
   */
  report: RobustnessReport;
  /** Attack results taken from the evaluation cache. */
  cachedResults: number;
  seconds: number;
}

export interface StrongEvaluationOptions {
  threat: StrongThreat;
  /** Headline budgets (Linf/L2/L1 in [0,1] pixel units, flow in grid units). */
  eps: number[];
  /** Where the convergence check runs (default eps[0]). */
  headlineEps?: number;
  /** First n test examples (default all). */
  n?: number;
  seed?: number;
  batchSize?: number;
  quiet?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** A preset name or fields over the active profile's preset (default: the active profile's preset). */
  budget?: BudgetInput;
  /** The paper's own attack(s): a list, or one per eps, e.g. (eps) => flowPgd({ eps, steps: 20, protocol: 'paper' }). */
  paperAttacks?: Attack[] | ((eps: number) => Attack | Attack[]);
  /** Count the paper attacks in the worst case too (default false: a column of their own). */
  paperInWorstCase?: boolean;
  /** Extended grid for the large-eps check (default defaultLargeEps); false: none (the check uses the largest headline eps). */
  largeEps?: number[] | false;
  /** The convergence check (default true). */
  convergence?: boolean;
  /** Per-attack evaluation cache (default true). */
  cache?: boolean;
  cacheDir?: string;
  /** Overrides for the sanity checks (minQueries, tolerance, largeEpsMax). */
  sanity?: Omit<SanityOptions, 'complete' | 'numClasses' | 'singleStep' | 'blackBox'>;
  /** Flow padding of every flow attack (default theirs, 'zeros'). */
  padding?: WarpPadding;
}

/** strongEvaluation, one (batch, attack) unit per step. */
function* strongSteps(model: Model, data: EvalData, o: StrongEvaluationOptions): Generator<void, StrongReport> {
  const where = 'strongEvaluation';
  if (!o || typeof o !== 'object') throw new Error(`${where}: options { threat, eps, ... } are required`);
  const threat = checkThreat(where, o.threat);
  const eps = [...new Set(checkEpsList(where, 'eps', o.eps))];
  const headline = o.headlineEps ?? o.eps[0];
  if (!eps.includes(headline)) throw new Error(`${where}: headlineEps ${headline} is not in eps [${eps}]`);
  const budget = resolveBudget(o.budget);
  const { n, seed, batchSize } = checkEvaluation(where, model, data, o);
  const largeEps = o.largeEps === false ? [] : o.largeEps ? [...new Set(checkEpsList(where, 'largeEps', o.largeEps, true))].filter((e) => !eps.includes(e)) : defaultLargeEps(threat, eps, model.inputShape);
  if (o.paperAttacks !== undefined && !Array.isArray(o.paperAttacks) && typeof o.paperAttacks !== 'function') {
    throw new Error(`${where}: paperAttacks must be an array of attacks or a function eps => attack(s)`);
  }
  const t0 = Date.now();
  const runs: { attack: Attack; role: AttackRole }[] = [];
  const rebuilds = new Map<Attack, (steps: number) => Attack>();
  for (const e of eps) {
    for (const m of members(threat, e, budget, o.padding)) {
      runs.push({ attack: m.attack, role: 'ensemble' });
      if (m.rebuild) rebuilds.set(m.attack, m.rebuild);
    }
  }
  for (const e of largeEps) for (const m of members(threat, e, budget, o.padding)) if (m.large) runs.push({ attack: m.attack, role: 'large-eps' });
  const paper = typeof o.paperAttacks === 'function' ? eps.flatMap((e) => { const p = (o.paperAttacks as (e: number) => Attack | Attack[])(e); return Array.isArray(p) ? p : [p]; }) : o.paperAttacks ?? [];
  for (const a of paper) runs.push({ attack: a, role: 'paper' });
  const evalOpts = { n, seed, batchSize, quiet: o.quiet, onProgress: o.onProgress, cache: o.cache ?? true, cacheDir: o.cacheDir, attackSeeds: 'identity' as const };
  const main = yield* robustnessSteps(model, data, runs.map((r) => r.attack), evalOpts, where);
  const results: StrongResult[] = main.attacks.map((r, i) => ({ ...r, role: runs[i].role, ci: accuracyInterval(r.correct) }));

  // Convergence: the strongest iterative gradient attack at the headline eps, with doubled steps, on the same examples.
  let convergence: ConvergenceResult | undefined;
  if (o.convergence ?? true) {
    const candidates = runs.map((r, i) => ({ ...r, i })).filter((r) => r.role === 'ensemble' && r.attack.threat.eps === headline && rebuilds.has(r.attack));
    const strongest = candidates.reduce((best, c) => (results[c.i].acc < results[best.i].acc ? c : best), candidates[0]);
    if (strongest) {
      const doubled = rebuilds.get(strongest.attack)!(2 * budget.steps);
      const rep = yield* robustnessSteps(model, data, [doubled], evalOpts, where);
      results.push({ ...rep.attacks[0], role: 'convergence', ci: accuracyInterval(rep.attacks[0].correct) });
      convergence = convergenceFromResults(results[strongest.i], rep.attacks[0], budget.steps, o.sanity?.tolerance);
    }
  }

  const inWorst = (r: StrongResult) => r.role === 'ensemble' || (r.role === 'paper' && o.paperInWorstCase === true);
  // What counts: the ensemble, the large-eps runs (and the paper attacks only when they count in the worst case).
  const checked = results.filter((r) => inWorst(r) || r.role === 'large-eps');
  const report: RobustnessReport = { n, clean: main.clean, cleanCorrect: main.cleanCorrect, attacks: checked, seconds: 0, numClasses: model.numClasses };
  const byEps: StrongEpsRow[] = [...eps].sort((a, b) => a - b).map((e) => {
    const here = results.filter((r) => r.eps === e && r.norm === threat);
    const worstOf = here.filter(inWorst);
    const w = worstCase(worstOf, main.cleanCorrect);
    return {
      eps: e, ...(threat === 'flow' ? { epsPixels: gridToPixels(e, model.inputShape[1]) } : {}),
      worst: { ...accuracyInterval(w.correct), correct: w.correct, attacks: worstOf.map((r) => r.attack) },
      attacks: here.filter((r) => r.role === 'ensemble').map((r) => ({ attack: r.attack, acc: r.ci })),
      paper: here.filter((r) => r.role === 'paper').map((r) => ({ attack: r.attack, acc: r.ci })),
    };
  });
  const sanity = sanityChecks(report, { ...o.sanity, numClasses: model.numClasses, complete: true });
  const curve = [...new Set(checked.map((r) => r.eps))].sort((a, b) => a - b).map((e) => {
    const white = checked.filter((r) => r.eps === e && !SINGLE_STEP_ATTACKS.includes(r.attack) && !BLACK_BOX_ATTACKS.includes(r.attack));
    return { eps: e, acc: accuracyInterval(worstCase(white, main.cleanCorrect).correct) };
  });
  const probeN = Math.min(n, 64);
  const probe = evalSlice(data, 0, probeN);
  try {
    sanity.push(gradientCheck(model, probe.x, probe.y));
  } finally {
    probe.x.dispose();
    probe.y.dispose();
  }
  if (convergence) sanity.push(convergence);
  const seconds = (Date.now() - t0) / 1000;
  report.seconds = seconds;
  return {
    kind: 'strong', threat, model: model.name, numClasses: model.numClasses, n, seed, budget, eps: o.eps.slice(), headlineEps: headline, largeEps,
    clean: { ...accuracyInterval(main.cleanCorrect), correct: main.cleanCorrect }, byEps, curve, results, convergence, sanity, report,
    cachedResults: results.filter((r) => r.cached).length, seconds,
  };
}

/**
 * The strong protocol on `model` (see the file header): the ensemble for `threat` at every eps, per-example worst case, the
 * paper attacks as separate columns, large-eps grid, convergence and sanity checks, intervals on every accuracy. Attack seeds
 * come from each attack's identity, so changing one setting re-runs (and changes) that attack only; cached per attack.
 */
export function strongEvaluation(model: Model, data: EvalData, opts: StrongEvaluationOptions): StrongReport {
  const steps = strongSteps(model, data, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** strongEvaluation letting the event loop turn about once a second (a notebook's progress bar stays live). Same numbers. */
export async function strongEvaluationAsync(model: Model, data: EvalData, opts: StrongEvaluationOptions): Promise<StrongReport> {
  const steps = strongSteps(model, data, opts);
  const turnEventLoop = eventLoopTurner();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await turnEventLoop();
  }
}

/** The settings of every attack run, one line each ("apgd-ce eps 0.1: steps 50, restarts 2, ..."), for reports and notes. */
export function describeSettings(r: StrongReport): string[] {
  const fmtv = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v));
  return r.results.map((x) => `${x.attack} eps ${x.eps} [${x.role}]${x.cached ? ' (cached)' : ''}: ` +
    Object.entries(x.config ?? {}).filter(([k]) => k !== 'eps').map(([k, v]) => `${k} ${fmtv(v)}`).join(', '));
}

/** The budget in words for tables: 'APGD/flow PGD 50 steps x 2 restarts, 1000 queries' (+ stAdv/ADef for flow). */
export function describeBudget(r: Pick<StrongReport, 'threat' | 'budget'>): string {
  const b = r.budget;
  const it = r.threat === 'flow' ? 'flow PGD' : r.threat === 'l1' ? 'APGD-L1' : 'APGD';
  return `${it} ${b.steps} steps x ${b.restarts} restarts` + (r.threat === 'l2' ? '' : `, ${r.threat === 'flow' ? 'flow Square' : r.threat === 'l1' ? 'Square-L1' : 'Square'} ${b.queries} queries`) +
    (r.threat === 'flow' ? `, stAdv ${b.stadvSteps} steps, ADef ${b.adefIter} iterations` : '');
}

/**
 * Table rows of one or more strong reports: one row per (model, eps) with clean and worst-case accuracy, every ensemble attack
 * and every paper-protocol attack as '23.5% [18.2, 29.8]' (95% Wilson, at the resolution n supports), the budget and the
 * sanity summary. Label the models with `{ label, report }` entries.
 */
export function strongTable(reports: StrongReport | { label: string; report: StrongReport }[]): TableRow[] {
  const list = Array.isArray(reports) ? reports : [{ label: reports.model, report: reports }];
  if (list.length === 0) throw new Error('strongTable: no reports given');
  return list.flatMap(({ label, report: r }) => {
    if (!r || r.kind !== 'strong') throw new Error(`strongTable: "${label}" is not a strong report (use strongEvaluation)`);
    const unit = r.threat === 'flow' ? ' (grid)' : '';
    return r.byEps.map((row) => {
      const out: TableRow = { model: label, threat: r.threat, [`eps${unit}`]: row.eps };
      if (row.epsPixels !== undefined) out['eps (px)'] = Number(row.epsPixels.toPrecision(3));
      out.n = r.n;
      out.clean = formatAccCI(r.clean);
      out['worst case'] = formatAccCI(row.worst);
      for (const a of row.attacks) out[a.attack] = formatAccCI(a.acc);
      for (const a of row.paper) out[`${a.attack} (paper protocol)`] = formatAccCI(a.acc);
      out.budget = describeBudget(r);
      out.sanity = sanitySummary(r.sanity);
      return out;
    });
  });
}
