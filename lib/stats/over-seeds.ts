// One accuracy per method, whatever the number of seeds: one seed keeps its binomial (Wilson) interval over the test examples;
// several seeds give the mean with a t-interval over the seeds (the seed-to-seed spread, which a binomial interval ignores).
import type { AccuracyInterval } from './intervals';
import { aggregateSeeds } from './aggregate';
import { formatAccCI } from './format';

export interface SeedAccuracy {
  /** The accuracy (one seed) or the mean over seeds. */
  acc: number;
  lo: number;
  hi: number;
  seeds: number;
  /** Sample standard deviation over seeds (0 for one seed). */
  sd: number;
  /** 'Wilson' for one seed (over examples), 't over seeds' for several. */
  interval: 'Wilson' | 't over seeds';
  /** e.g. '62.0% [54.0, 69.4]' or '61.3% [58.1, 64.5] (sd 1.2, 3 seeds)'. */
  text: string;
}

export function accuracyOverSeeds(accs: readonly AccuracyInterval[], level = 0.95): SeedAccuracy {
  if (!Array.isArray(accs) || accs.length === 0) {
    throw new Error('accuracyOverSeeds: accs must be a non-empty array, one accuracy interval per seed (e.g. report.clean of each seed)');
  }
  if (accs.length === 1) {
    const a = accs[0];
    return { acc: a.acc, lo: a.lo, hi: a.hi, seeds: 1, sd: 0, interval: 'Wilson', text: formatAccCI(a) };
  }
  const g = aggregateSeeds(accs.map((a) => a.acc), { level, clip: [0, 1] });
  const pct = (v: number) => (100 * v).toFixed(1);
  return {
    acc: g.mean, lo: g.ci!.lo, hi: g.ci!.hi, seeds: g.n, sd: g.sd, interval: 't over seeds',
    text: `${pct(g.mean)}% [${pct(g.ci!.lo)}, ${pct(g.ci!.hi)}] (sd ${pct(g.sd)}, ${g.n} seeds)`,
  };
}
