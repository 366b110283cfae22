// Special functions behind the intervals and tests: log-gamma, regularized incomplete beta and gamma, and the quantiles
// (normal, Student t, beta) found by bisection on those CDFs. Plain numbers, no tensors: these run on counts, not data.
// Accuracy ~1e-13 relative over the ranges the kit uses (n up to ~1e6); bisection trades speed (microseconds) for
// robustness: a table has a few dozen intervals.

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Gamma(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new Error(`logGamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection keeps accuracy near 0
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln C(n, k) for integers 0 <= k <= n. */
export function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

const EPS = 1e-16;
const TINY = 1e-300;

/** Continued fraction for the incomplete beta (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  throw new Error(`betaContinuedFraction: no convergence for a=${a}, b=${b}, x=${x}`);
}

/** Regularized incomplete beta I_x(a, b) = P(Beta(a, b) <= x), a, b > 0. */
export function regIncBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new Error(`regIncBeta: a and b must be > 0, got a=${a}, b=${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The fraction converges fast only on one side of the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on the other.
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), a > 0, x >= 0. */
export function regUpperGamma(a: number, x: number): number {
  if (!(a > 0)) throw new Error(`regUpperGamma: a must be > 0, got ${a}`);
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P.
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < 10000; n++) {
      ap += 1; del *= x / ap; sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) return 1 - sum * Math.exp(lead);
    }
    throw new Error(`regUpperGamma: series did not converge for a=${a}, x=${x}`);
  }
  // Continued fraction for Q (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b; if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return Math.exp(lead) * h;
  }
  throw new Error(`regUpperGamma: continued fraction did not converge for a=${a}, x=${x}`);
}

/** Standard normal CDF, via erfc(y) = Q(1/2, y^2): accurate in the tails too. */
export function normalCdf(x: number): number {
  const q = 0.5 * regUpperGamma(0.5, (x * x) / 2); // = P(Z > |x|)
  return x >= 0 ? 1 - q : q;
}

/** Student t CDF with df degrees of freedom (df > 0, real). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf: df must be > 0, got ${df}`);
  const tail = 0.5 * regIncBeta(df / (df + t * t), df / 2, 0.5); // = P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

/** Inverts a non-decreasing cdf on [lo, hi] by bisection, to relative double precision (also for tiny quantiles). */
function invert(cdf: (x: number) => number, p: number, lo: number, hi: number): number {
  for (let i = 0; i < 2000; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi || hi - lo <= 2e-16 * Math.max(Math.abs(lo), Math.abs(hi))) break;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

function checkProb(where: string, p: number): void {
  if (!(p > 0 && p < 1)) throw new Error(`${where}: probability must be in (0, 1), got ${p}`);
}

/** Standard normal quantile: normalQuantile(0.975) = 1.959963984540054. */
export function normalQuantile(p: number): number {
  checkProb('normalQuantile', p);
  if (p < 0.5) return -normalQuantile(1 - p);
  return invert(normalCdf, p, 0, 40);
}

/** Student t quantile with df degrees of freedom: studentTQuantile(0.975, 4) = 2.776445. */
export function studentTQuantile(p: number, df: number): number {
  checkProb('studentTQuantile', p);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  return invert((t) => studentTCdf(t, df), p, 0, hi);
}

/** Beta(a, b) quantile: the x with I_x(a, b) = p. */
export function betaQuantile(p: number, a: number, b: number): number {
  checkProb('betaQuantile', p);
  return invert((x) => regIncBeta(x, a, b), p, 0, 1);
}

/** P(X <= k) for X ~ Binomial(n, p), summed exactly term by term in log space (n up to ~1e6). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  let s = 0;
  for (let i = 0; i <= k; i++) s += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, s);
}
