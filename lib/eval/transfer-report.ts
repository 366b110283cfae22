// Transfer matrices (transfer.ts) as evidence: a 95% Wilson interval on every cell, the per-example worst case over several
// sources AND several attacks (one matrix per attack, same targets and examples), which is the paired arm a claim needs, and
// the table / heatmap of all of it with one row per defended model (target) and one column per attack@source.
// Why per example: "defense A resists transfer better than B" is a paired comparison on the same crafted examples (McNemar),
// which a mean per cell cannot give.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { withMode } from '../models/sequential';
import type { TransferMatrix } from './transfer';
import { checkEvaluation, evalBatches, predictCorrect, type EvalData } from './robustness';
import { accuracyInterval, countInterval, type AccuracyInterval } from '../stats/intervals';
import { formatAccCI } from '../stats/format';
import type { TableRow } from '../report/tables';
import type { Figure } from '../report/figure';
import { matrixHeatmap } from '../report/matrix-heatmap';

/** One transfer matrix with the name of its attack as shown in tables (e.g. 'MI-FGSM'). */
export interface LabelledTransfer {
  label: string;
  matrix: TransferMatrix;
}

function checkList(where: string, ms: LabelledTransfer[]): void {
  if (!Array.isArray(ms) || ms.length === 0) throw new Error(`${where}: give a non-empty array of { label, matrix } (one transferMatrix per attack)`);
  const n = ms[0].matrix?.n;
  const labels = new Set<string>();
  for (const [i, m] of ms.entries()) {
    if (!m || typeof m.label !== 'string' || m.label === '' || !m.matrix || !Array.isArray(m.matrix.correct)) {
      throw new Error(`${where}: entry ${i} must be { label: string, matrix: TransferMatrix (from transferMatrix) }`);
    }
    if (labels.has(m.label)) throw new Error(`${where}: two matrices are labelled "${m.label}"; labels name the columns, make them unique`);
    labels.add(m.label);
    if (m.matrix.n !== n) throw new Error(`${where}: "${m.label}" was measured on n=${m.matrix.n} examples, "${ms[0].label}" on n=${n}: per-example results only combine on the same examples`);
  }
}

function targetIndex(where: string, m: LabelledTransfer, target: string): number {
  const ti = m.matrix.targets.indexOf(target);
  if (ti < 0) throw new Error(`${where}: target "${target}" is not in "${m.label}" (targets: ${m.matrix.targets.join(', ')})`);
  return ti;
}

/**
 * Per example (0/1): the target is correct on the clean input and on every example crafted on the chosen sources (default: every
 * source whose name differs from the target, as TransferMatrix.worstTransfer) by every attack. The transfer robust accuracy's
 * per-example form, for claimPaired.
 */
export function worstTransferCorrect(ms: LabelledTransfer[], target: string, opts: { sources?: string[] } = {}): Uint8Array {
  const where = 'worstTransferCorrect';
  checkList(where, ms);
  let out: Uint8Array | undefined;
  for (const m of ms) {
    const ti = targetIndex(where, m, target);
    const srcs = opts.sources ?? m.matrix.sources.filter((s) => s !== target);
    for (const s of srcs) {
      const si = m.matrix.sources.indexOf(s);
      if (si < 0) throw new Error(`${where}: source "${s}" is not in "${m.label}" (sources: ${m.matrix.sources.join(', ')})`);
      const c = m.matrix.correct[si][ti];
      if (!out) out = Uint8Array.from(c);
      else for (let i = 0; i < c.length; i++) out[i] &= c[i];
    }
  }
  if (!out) throw new Error(`${where}: no source left for target "${target}" (a model is never its own transfer source): give sources`);
  return out;
}

/** One cell of the report: accuracy of `target` on examples crafted on `source` by the attack `attack`. */
export interface TransferCell {
  attack: string;
  source: string;
  target: string;
  acc: AccuracyInterval;
}

/** Every (attack, source, target) cell with its Wilson interval, and each target's clean accuracy (from the first matrix). */
export function transferCells(ms: LabelledTransfer[]): { clean: Record<string, AccuracyInterval>; cells: TransferCell[] } {
  checkList('transferCells', ms);
  const m0 = ms[0].matrix;
  // clean[t] is a mean over n whole examples: its count is exact.
  const clean = Object.fromEntries(m0.targets.map((t, ti) => [t, countInterval(Math.round(m0.clean[ti] * m0.n), m0.n)]));
  const cells = ms.flatMap((m) => m.matrix.sources.flatMap((s, si) => m.matrix.targets.map((t, ti) => ({
    attack: m.label, source: s, target: t, acc: accuracyInterval(m.matrix.correct[si][ti]),
  }))));
  return { clean, cells };
}

export interface TransferReportOptions {
  /** Display names of the targets (default their names), e.g. 'J-SIGR (small-cnn)'. */
  targetLabels?: Record<string, string>;
  /** Targets shown, in order (default the first matrix's). */
  targets?: string[];
}

function columns(ms: LabelledTransfer[]): { key: string; attack: LabelledTransfer; source: number }[] {
  return ms.flatMap((m) => m.matrix.sources.map((s, si) => ({ key: `${m.label} @ ${s}`, attack: m, source: si })));
}

/**
 * One row per target: clean accuracy, accuracy under each attack@source, and the worst case over every source and attack;
 * each an accuracy with its 95% Wilson interval ('48.0% [40.1, 56.0]').
 */
export function transferReportTable(ms: LabelledTransfer[], opts: TransferReportOptions = {}): TableRow[] {
  const where = 'transferReportTable';
  checkList(where, ms);
  const targets = opts.targets ?? ms[0].matrix.targets;
  const { clean } = transferCells(ms);
  return targets.map((t) => {
    if (!(t in clean)) throw new Error(`${where}: target "${t}" is not in the matrices (targets: ${ms[0].matrix.targets.join(', ')})`);
    const row: TableRow = { target: opts.targetLabels?.[t] ?? t, clean: formatAccCI(clean[t]) };
    for (const c of columns(ms)) row[c.key] = formatAccCI(accuracyInterval(c.attack.matrix.correct[c.source][targetIndex(where, c.attack, t)]));
    row['worst transfer'] = formatAccCI(accuracyInterval(worstTransferCorrect(ms, t)));
    return row;
  });
}

/** The same numbers as a heatmap: rows = targets, columns = clean, each attack@source, worst transfer; text = acc and interval. */
export function transferHeatmap(ms: LabelledTransfer[], opts: TransferReportOptions & { title?: string } = {}): Figure {
  const where = 'transferHeatmap';
  checkList(where, ms);
  const targets = opts.targets ?? ms[0].matrix.targets;
  const { clean } = transferCells(ms);
  const cols = ['clean', ...columns(ms).map((c) => c.key), 'worst transfer'];
  const ivs = targets.map((t) => {
    if (!(t in clean)) throw new Error(`${where}: target "${t}" is not in the matrices (targets: ${ms[0].matrix.targets.join(', ')})`);
    return [clean[t], ...columns(ms).map((c) => accuracyInterval(c.attack.matrix.correct[c.source][targetIndex(where, c.attack, t)])),
      accuracyInterval(worstTransferCorrect(ms, t))];
  });
  const pct = (x: number) => (100 * x).toFixed(0);
  return matrixHeatmap({
    rows: targets.map((t) => opts.targetLabels?.[t] ?? t), cols,
    values: ivs.map((r) => r.map((iv) => iv.acc)),
    text: ivs.map((r) => r.map((iv) => `${pct(iv.acc)}% [${pct(iv.lo)}, ${pct(iv.hi)}]`)),
    zRange: [0, 1], colorbarTitle: 'accuracy', title: opts.title, xLabel: 'attack @ surrogate (crafted on)', yLabel: 'defended model (target)',
  });
}

/**
 * Per example (0/1) on the first n test examples: the model's clean prediction is the label and its logits are finite (eval
 * mode). TransferMatrix keeps clean accuracy only as a mean; claims comparing clean and transfer accuracy need this, paired.
 */
export function cleanCorrect(model: Model, data: EvalData, opts: { n?: number; batchSize?: number } = {}): Uint8Array {
  const { n, batchSize } = checkEvaluation('cleanCorrect', model, data, opts);
  const out = new Uint8Array(n);
  withMode(model, 'eval', () => {
    let off = 0;
    for (const { x, y } of evalBatches(data, n, batchSize)) {
      try {
        out.set(predictCorrect('cleanCorrect', model, x, y).correct, off);
        off += x.shape[0];
      } finally {
        tf.dispose([x, y]);
      }
    }
  });
  return out;
}
