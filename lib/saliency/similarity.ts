// Similarity of two saliency maps of the same inputs, per example, on pixel heatmaps (|map| summed over channels by default):
// Spearman rank correlation (Adebayo et al. 2018's sanity checks), Pearson, cosine, and top-k intersection (Ghorbani et al. 2019).
import type * as tf from '@tensorflow/tfjs';
import { heatmapRows } from './heatmap';

export type SimilarityMetric = 'spearman' | 'pearson' | 'cosine' | 'topk';
export const SIMILARITY_METRICS: readonly SimilarityMetric[] = ['spearman', 'pearson', 'cosine', 'topk'];

export interface SimilarityOptions {
  metric?: SimilarityMetric;
  /** Compare |map| summed over channels (default true) or the signed channel sum. */
  abs?: boolean;
  /** Pixels in the top-k sets for 'topk' (default 10% of the pixels). */
  k?: number;
}

/** Ranks 1..n with ties given their average rank. */
export function ranks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const r = new Float64Array(v.length);
  for (let s = 0; s < idx.length;) {
    let e = s;
    while (e + 1 < idx.length && v[idx[e + 1]] === v[idx[s]]) e++;
    for (let t = s; t <= e; t++) r[idx[t]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return r;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { const da = a[i] - ma, db = b[i] - mb; sab += da * db; saa += da * da; sbb += db * db; }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

/** |top-k(a) ∩ top-k(b)| / k; ties broken by pixel order. */
function topkIntersection(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  const top = (v: ArrayLike<number>) => new Set(Array.from({ length: v.length }, (_, i) => i).sort((p, q) => v[q] - v[p] || p - q).slice(0, k));
  const ta = top(a);
  let both = 0;
  for (const i of top(b)) if (ta.has(i)) both++;
  return both / k;
}

/** One number per example; 1 = the same map (up to a monotone map for 'spearman', a positive scale for 'pearson'/'cosine'). */
export function saliencySimilarity(a: tf.Tensor4D, b: tf.Tensor4D, opts: SimilarityOptions = {}): number[] {
  const metric = opts.metric ?? 'spearman';
  if (!SIMILARITY_METRICS.includes(metric)) throw new Error(`saliencySimilarity: unknown metric "${metric}"; use one of ${SIMILARITY_METRICS.join(', ')}`);
  if (a.rank !== 4 || b.rank !== 4 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.shape[2] !== b.shape[2]) {
    throw new Error(`saliencySimilarity: maps must both be [B,H,W,C] with the same B, H, W, got [${a.shape}] and [${b.shape}]`);
  }
  const abs = opts.abs ?? true;
  const ra = heatmapRows(a, abs);
  const rb = heatmapRows(b, abs);
  const n = ra[0]?.length ?? 0;
  const k = opts.k ?? Math.max(1, Math.round(0.1 * n));
  if (metric === 'topk' && !(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`saliencySimilarity: k must be an integer in [1, ${n}] (pixels), got ${k}`);
  return ra.map((x, i) => {
    const y = rb[i];
    if (metric === 'spearman') return pearson(ranks(x), ranks(y));
    if (metric === 'pearson') return pearson(x, y);
    if (metric === 'cosine') return cosine(x, y);
    return topkIntersection(x, y, k);
  });
}
