// Transfer (black-box) evaluation: adversarial examples crafted on one model, tested on another. J-SIGR's threat model (paper 3),
// and a sanity check for any defense: a transfer attack that beats the white-box attack means the white-box gradients are masked.
import * as tf from '@tensorflow/tfjs';
import type { Attack, Model } from '../types';
import { withMode } from '../models/sequential';
import { deriveSeed } from '../data/rng';
import { checkEvalInputs, checkEvaluation, evalBatches, predictCorrect, randomTargets, type EvalData } from './robustness';
import { TRANSFER_PREFIX } from './sanity';
import type { TableRow } from '../report/tables';

export interface NamedModel { name: string; model: Model }

/**
 * An attack crafted on `source` (in eval mode) whatever model it is run against: a transfer attack, named
 * 'transfer:<attack>@<source>' so that sanityChecks treats it as black-box. Its threat model is the inner attack's.
 */
export function transferAttack(source: NamedModel, inner: Attack): Attack {
  return {
    name: `${TRANSFER_PREFIX}${inner.name}@${source.name}`,
    threat: inner.threat,
    config: { ...inner.config, source: source.name },
    run(_model, x, y, opts) {
      return withMode(source.model, 'eval', () => inner.run(source.model, x, y, opts));
    },
  };
}

export interface TransferMatrix {
  /** Name of the attack run on each source (the first source's, when makeAttack builds one per source). */
  attack: string;
  sources: string[];
  targets: string[];
  n: number;
  /** Clean accuracy of each target. */
  clean: number[];
  /** acc[s][t]: robust accuracy of target t on examples crafted on source s (correct both clean and attacked, as evaluateRobustness). */
  acc: number[][];
  /** Per-example robustness behind acc[s][t]. */
  correct: Uint8Array[][];
  /** Per target: the per-example worst case over every source other than itself (same name): the transfer robust accuracy. */
  worstTransfer: number[];
  seconds: number;
}

export interface TransferOptions {
  /** First n test examples (default all). */
  n?: number;
  seed?: number;
  batchSize?: number;
}

function checkModels(where: string, list: NamedModel[]): void {
  if (!Array.isArray(list) || list.length === 0) throw new Error(`transferMatrix: ${where} must be a non-empty array of { name, model }, got ${JSON.stringify(list)}`);
  const names = new Set<string>();
  for (const [i, s] of list.entries()) {
    if (!s || typeof s.name !== 'string' || !s.model || typeof s.model.logits !== 'function') {
      throw new Error(`transferMatrix: ${where}[${i}] must be { name: string, model: Model }`);
    }
    if (names.has(s.name)) throw new Error(`transferMatrix: ${where} has two models named "${s.name}"; names key the matrix, make them unique`);
    names.add(s.name);
  }
}

/** Correct on (x, y) with finite logits (non-finite logits give no prediction: not correct). */
const correctOn = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D): Uint8Array => predictCorrect('transferMatrix', model, x, y).correct;

/**
 * Crafts adversarial examples on every source (makeAttack(source), or one shared attack) for the first n test examples, batch by
 * batch, and measures every target on them. Seeds: deriveSeed(seed, source index, batch index), the same for every target; targeted
 * attacks get randomTargets with a seed derived from that. All models run in eval mode.
 */
export function transferMatrix(sources: NamedModel[], targets: NamedModel[], makeAttack: Attack | ((source: NamedModel) => Attack),
  data: EvalData, opts: TransferOptions = {}): TransferMatrix {
  checkModels('sources', sources);
  checkModels('targets', targets);
  const shape = sources[0].model.inputShape;
  for (const m of [...sources, ...targets]) {
    if (m.model.inputShape.join() !== shape.join()) throw new Error(`transferMatrix: all models must take the same input shape; "${m.name}" takes [${m.model.inputShape}], "${sources[0].name}" [${shape}]`);
  }
  const attacks = sources.map((s) => (typeof makeAttack === 'function' ? makeAttack(s) : makeAttack));
  // Data, labels, n, batchSize and seed checked against every target (labels must be classes of each).
  let n = 0;
  let bs = 0;
  for (const t of targets) ({ n, batchSize: bs } = checkEvaluation('transferMatrix', t.model, data, opts));
  const t0 = Date.now();
  const clean = targets.map(() => new Uint8Array(n));
  const correct = sources.map(() => targets.map(() => new Uint8Array(n)));
  const run = () => {
    let off = 0;
    let bi = 0;
    for (const { x, y } of evalBatches(data, n, bs)) {
      const m = x.shape[0];
      try {
        checkEvalInputs('transferMatrix', x, off);
        const cleanHere = targets.map((t, ti) => { const c = correctOn(t.model, x, y); clean[ti].set(c, off); return c; });
        sources.forEach((s, si) => {
          const seed = deriveSeed(opts.seed ?? 0, si, bi);
          const a = attacks[si];
          const tgt = a.threat.targeted ? randomTargets(y, s.model.numClasses, deriveSeed(seed, 1)) : undefined;
          let xa: tf.Tensor4D | undefined;
          try {
            xa = withMode(s.model, 'eval', () => a.run(s.model, x, y, { seed, targets: tgt }));
            targets.forEach((t, ti) => {
              const c = correctOn(t.model, xa!, y);
              for (let i = 0; i < m; i++) correct[si][ti][off + i] = c[i] & cleanHere[ti][i];
            });
          } finally {
            tf.dispose([...(xa ? [xa] : []), ...(tgt ? [tgt] : [])]);
          }
        });
      } finally {
        tf.dispose([x, y]);
      }
      off += m;
      bi++;
    }
  };
  // Eval mode for every target for the whole run (sources switch inside withMode per call).
  const nest = targets.reduceRight<() => void>((inner, t) => () => withMode(t.model, 'eval', inner), run);
  nest();
  const mean = (a: Uint8Array) => a.reduce((p, q) => p + q, 0) / a.length;
  const worstTransfer = targets.map((t, ti) => {
    const w = Uint8Array.from(clean[ti]);
    sources.forEach((s, si) => { if (s.name !== t.name) for (let i = 0; i < n; i++) w[i] &= correct[si][ti][i]; });
    return mean(w);
  });
  return {
    attack: attacks[0].name, sources: sources.map((s) => s.name), targets: targets.map((t) => t.name), n,
    clean: clean.map(mean), acc: correct.map((row) => row.map(mean)), correct, worstTransfer, seconds: (Date.now() - t0) / 1000,
  };
}

/** The matrix as table rows: one per source, one column per target (robust accuracy), plus the targets' clean accuracy row. */
export function transferTable(m: TransferMatrix): TableRow[] {
  const row = (label: string, vals: number[]): TableRow => Object.fromEntries([['crafted on', label], ...m.targets.map((t, i) => [t, vals[i]])]);
  return [row('(clean)', m.clean), ...m.sources.map((s, si) => row(s, m.acc[si])), row('(worst transfer)', m.worstTransfer)];
}
