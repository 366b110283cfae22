// Comparing two defenses' robustness at matched clean accuracy: a regularizer trades clean accuracy for robustness along its
// lambda, so "A beats B" means something only where both are equally accurate on clean inputs.
//   matchByClean: each point of A paired with the point of B closest in clean accuracy; a pair further apart than `tolerance`
//     is kept but marked unmatched (the sweeps do not overlap there: widen B's lambda grid).
//   interpolateRobust: B's robust accuracy linearly interpolated along its curve (sorted by clean accuracy) at a clean
//     accuracy; undefined outside the curve's clean range (no extrapolation). Descriptive: it has no interval.

export interface CleanRobust { clean: number; robust: number }

export interface CleanMatch<A, B> {
  a: A;
  b: B;
  /** a.clean - b.clean. */
  gap: number;
  /** |gap| <= tolerance. */
  matched: boolean;
}

export function matchByClean<A extends { clean: number }, B extends { clean: number }>(a: readonly A[], b: readonly B[], tolerance: number): CleanMatch<A, B>[] {
  if (!(typeof tolerance === 'number' && tolerance >= 0 && tolerance <= 1)) {
    throw new Error(`matchByClean: tolerance must be a clean-accuracy difference in [0, 1] (e.g. 0.05 = 5 points), got ${tolerance}`);
  }
  if (a.length === 0 || b.length === 0) throw new Error(`matchByClean: both curves need points (got ${a.length} and ${b.length})`);
  for (const p of [...a, ...b]) {
    if (!(Number.isFinite(p.clean) && p.clean >= 0 && p.clean <= 1)) throw new Error(`matchByClean: clean accuracy must be a fraction in [0, 1], got ${p.clean}`);
  }
  return a.map((pa) => {
    const pb = b.reduce((best, q) => (Math.abs(q.clean - pa.clean) < Math.abs(best.clean - pa.clean) ? q : best));
    const gap = pa.clean - pb.clean;
    return { a: pa, b: pb, gap, matched: Math.abs(gap) <= tolerance + 1e-12 };
  });
}

export function interpolateRobust(curve: readonly CleanRobust[], clean: number): number | undefined {
  const pts = [...curve].sort((p, q) => p.clean - q.clean);
  if (pts.length === 0 || clean < pts[0].clean || clean > pts[pts.length - 1].clean) return undefined;
  for (let i = 0; i < pts.length; i++) {
    if (pts[i].clean === clean) return pts[i].robust;
    if (i > 0 && pts[i - 1].clean < clean && clean < pts[i].clean) {
      const t = (clean - pts[i - 1].clean) / (pts[i].clean - pts[i - 1].clean);
      return pts[i - 1].robust + t * (pts[i].robust - pts[i - 1].robust);
    }
  }
  return undefined;
}
