// Plot spec builders for the kit's standard figures. Pure functions: validated input -> plotly JSON, no I/O.
// Accuracies can carry an interval per point (lo/hi, e.g. Wilson 95% from lib/stats): drawn as asymmetric error bars
// (plotly error_y with array = hi - value, arrayminus = value - lo) or, for curves, as a band.
import { axis, baseLayout, checkName, checkNonEmpty, checkNumbers, colorAt, fail, withAlpha, type Figure } from './figure';

export { imageGrid } from './image-grid';
export type { Figure } from './figure';

/** How per-point intervals are drawn on a curve. */
export type IntervalStyle = 'bars' | 'band';

/**
 * Checks lo/hi against the values (same length, lo <= value <= hi, within [min, max]) and returns the error-bar lengths.
 * Both or neither of lo and hi must be given.
 */
function intervalOf(where: string, field: string, values: number[], lo: unknown, hi: unknown, range: { min?: number; max?: number } = {}): { plus: number[]; minus: number[]; lo: number[]; hi: number[] } | undefined {
  if (lo === undefined && hi === undefined) return undefined;
  if (lo === undefined || hi === undefined) fail(where, `${field} has ${lo === undefined ? 'hi but no lo' : 'lo but no hi'}`, 'give both ends of the interval (e.g. from accuracyInterval: { lo, hi })');
  const l = checkNumbers(where, `${field}Lo`, lo, { length: values.length, ...range });
  const h = checkNumbers(where, `${field}Hi`, hi, { length: values.length, ...range });
  const tol = 1e-9;
  values.forEach((v, i) => {
    if (l[i] > v + tol || h[i] < v - tol) fail(where, `${field}[${i}] = ${v} lies outside its interval [${l[i]}, ${h[i]}]`, 'give lo <= value <= hi in the same units as the value');
  });
  return { plus: values.map((v, i) => Math.max(0, h[i] - v)), minus: values.map((v, i) => Math.max(0, v - l[i])), lo: l, hi: h };
}

/** Asymmetric plotly error bars. */
function errorBars(plus: number[], minus: number[], color: string): Record<string, unknown> {
  return { type: 'data', symmetric: false, array: plus, arrayminus: minus, visible: true, color, thickness: 1.5, width: 4 };
}

/** A filled band between lo and hi along x (x sorted), drawn under its line and sharing its legend entry. */
function band(x: number[], lo: number[], hi: number[], color: string, group: string, label: string): Record<string, unknown> {
  return {
    type: 'scatter', mode: 'lines', x: [...x, ...x.slice().reverse()], y: [...hi, ...lo.slice().reverse()],
    fill: 'toself', fillcolor: withAlpha(color, 0.18), line: { width: 0, color }, hoverinfo: 'skip',
    showlegend: false, legendgroup: group, name: label,
  };
}

export interface EpsSeries {
  name: string;
  /** Series with the same group share a colour (e.g. the method, when architectures are told apart by `dash`); default: name. */
  group?: string;
  /** Line style (e.g. one per architecture); default solid. */
  dash?: LineDash;
  eps: number[];
  /** Accuracy per eps, a fraction in [0, 1] (mean over seeds when accStd is given). */
  acc: number[];
  /** Standard deviation over seeds; drawn as a band of +-1 std. */
  accStd?: number[];
  /** Interval per eps (fractions, e.g. Wilson 95% lo/hi from accuracyInterval); drawn per opts.intervals. */
  lo?: number[];
  hi?: number[];
}

export interface AccuracyVsEpsOptions {
  title?: string;
  /** x-axis label, e.g. 'eps (Linf, pixels in [0,1])'. */
  epsLabel?: string;
  /** Plot accuracies in percent instead of fractions. */
  percent?: boolean;
  /** How lo/hi intervals are drawn: error bars (default) or a translucent band. */
  intervals?: IntervalStyle;
}

export type LineDash = 'solid' | 'dash' | 'dot' | 'dashdot';

/** Colour index per series: one colour per distinct group (default: the series name), in order of first appearance. */
function groupColors(series: { name: string; group?: string }[]): string[] {
  const order: string[] = [];
  return series.map((s) => {
    const g = s.group ?? s.name;
    if (!order.includes(g)) order.push(g);
    return colorAt(order.indexOf(g));
  });
}

/** Accuracy vs attack budget: one line per method, a +-std band when accStd is given, error bars or a band for lo/hi. */
export function accuracyVsEps(series: EpsSeries[], opts: AccuracyVsEpsOptions = {}): Figure {
  const where = 'accuracyVsEps';
  const scale = opts.percent ? 100 : 1;
  const data: Record<string, unknown>[] = [];
  const colors = groupColors(checkNonEmpty<EpsSeries>(where, 'series', series));
  series.forEach((s, i) => {
    const name = checkName(where, `series[${i}].name`, s?.name);
    let eps = checkNumbers(where, `${name}.eps`, s.eps, { min: 0 });
    if (eps.length === 0) fail(where, `${name}.eps is empty`, 'give at least one eps');
    const order = eps.map((_, j) => j).sort((a, b) => eps[a] - eps[b]);
    const sorted = (v: number[]) => order.map((j) => v[j]);
    const acc = sorted(checkNumbers(where, `${name}.acc`, s.acc, { length: eps.length, min: 0, max: 1 }));
    eps = sorted(eps);
    const color = colors[i];
    if (s.accStd !== undefined && (s.lo !== undefined || s.hi !== undefined)) {
      fail(where, `${name} has both accStd and lo/hi`, 'give the spread over seeds (accStd) or an interval (lo/hi), not both');
    }
    if (s.accStd !== undefined) {
      const std = sorted(checkNumbers(where, `${name}.accStd`, s.accStd, { length: eps.length, min: 0 }));
      const hi = acc.map((a, j) => Math.min(1, a + std[j]) * scale);
      const lo = acc.map((a, j) => Math.max(0, a - std[j]) * scale);
      data.push(band(eps, lo, hi, color, name, `${name} +-std`));
    }
    const ci = intervalOf(where, `${name}.acc`, acc, s.lo === undefined ? undefined : sorted(checkNumbers(where, `${name}.lo`, s.lo, { length: eps.length })),
      s.hi === undefined ? undefined : sorted(checkNumbers(where, `${name}.hi`, s.hi, { length: eps.length })), { min: 0, max: 1 });
    if (ci && opts.intervals === 'band') data.push(band(eps, ci.lo.map((v) => v * scale), ci.hi.map((v) => v * scale), color, name, `${name} interval`));
    data.push({
      type: 'scatter', mode: 'lines+markers', name, legendgroup: name, x: eps, y: acc.map((a) => a * scale),
      ...(ci && opts.intervals !== 'band' ? { error_y: errorBars(ci.plus.map((v) => v * scale), ci.minus.map((v) => v * scale), color) } : {}),
      line: { color, width: 2, dash: s.dash ?? 'solid' }, marker: { color, size: 6 },
    });
  });
  const yTitle = opts.percent ? 'accuracy (%)' : 'accuracy';
  return {
    data,
    layout: baseLayout(opts.title, {
      xaxis: axis(opts.epsLabel ?? 'eps'),
      yaxis: axis(yTitle, { range: [0, 1.02 * scale] }),
      legend: { x: 1.02, y: 1, xanchor: 'left' },
    }),
  };
}

export interface CleanRobustPoint {
  name: string;
  clean: number;
  robust: number;
  /** Points with the same group share a color and a legend entry (e.g. the method family). */
  group?: string;
  /** Intervals (fractions, e.g. Wilson 95%) drawn as error bars; within a group, all points or none have them. */
  cleanLo?: number;
  cleanHi?: number;
  robustLo?: number;
  robustHi?: number;
}

/** Non-dominated points (no other point is at least as good on both axes and better on one), sorted by clean accuracy. */
export function paretoFront<T extends { clean: number; robust: number }>(points: T[]): T[] {
  const front = points.filter((p) => !points.some((q) => q !== p && q.clean >= p.clean && q.robust >= p.robust && (q.clean > p.clean || q.robust > p.robust)));
  return front.sort((a, b) => a.clean - b.clean);
}

/** Clean vs robust accuracy scatter, labelled points (with error bars when intervals are given), Pareto front dashed. */
export function cleanVsRobust(points: CleanRobustPoint[], opts: {
  title?: string; robustLabel?: string; pareto?: boolean;
  /** Groups drawn as a curve (e.g. a lambda sweep): their points joined in order of clean accuracy. */
  lines?: string[];
} = {}): Figure {
  const where = 'cleanVsRobust';
  checkNonEmpty<CleanRobustPoint>(where, 'points', points).forEach((p, i) => {
    checkName(where, `points[${i}].name`, p?.name);
    checkNumbers(where, `${p.name}.clean/robust`, [p.clean, p.robust], { min: 0, max: 1 });
  });
  const groups = [...new Set(points.map((p) => p.group ?? p.name))];
  const data: Record<string, unknown>[] = groups.map((g, i) => {
    const curve = opts.lines?.includes(g) ?? false;
    const ps = points.filter((p) => (p.group ?? p.name) === g);
    if (curve) ps.sort((p, q) => p.clean - q.clean);
    const color = colorAt(i);
    const bars: Record<string, unknown> = {};
    for (const [key, axisKey] of [['clean', 'error_x'], ['robust', 'error_y']] as const) {
      const lo = ps.map((p) => p[`${key}Lo`]);
      const hi = ps.map((p) => p[`${key}Hi`]);
      const given = ps.filter((_, j) => lo[j] !== undefined || hi[j] !== undefined).length;
      if (given === 0) continue;
      if (given < ps.length) fail(where, `only ${given} of the ${ps.length} points of group '${g}' have a ${key} interval`, `give ${key}Lo/${key}Hi for every point of the group, or for none`);
      const ci = intervalOf(where, `${g}.${key}`, ps.map((p) => p[key]), lo, hi, { min: 0, max: 1 })!;
      bars[axisKey] = errorBars(ci.plus, ci.minus, color);
    }
    return {
      type: 'scatter', mode: curve ? 'lines+markers+text' : 'markers+text', name: g, x: ps.map((p) => p.clean), y: ps.map((p) => p.robust),
      text: ps.map((p) => p.name), textposition: 'top center', marker: { color, size: 10 }, ...bars,
      hovertemplate: '%{text}<br>clean %{x:.3f}<br>robust %{y:.3f}<extra></extra>',
    };
  });
  if (opts.pareto !== false && points.length > 1) {
    const front = paretoFront(points);
    data.push({ type: 'scatter', mode: 'lines', name: 'Pareto front', x: front.map((p) => p.clean), y: front.map((p) => p.robust), line: { color: '#444', dash: 'dash', width: 1 }, hoverinfo: 'skip' });
  }
  return {
    data,
    layout: baseLayout(opts.title, {
      // Methods crowd near clean accuracy 1: zoom to the data instead of [0, 1].
      xaxis: axis('clean accuracy'),
      yaxis: axis(opts.robustLabel ?? 'robust accuracy', { rangemode: 'tozero' }),
      legend: { x: 1.02, y: 1, xanchor: 'left' },
    }),
  };
}

export interface LambdaSweepRun {
  /** Method name; prefixes the legend entries when several sweeps share a plot. */
  name?: string;
  lambda: number[];
  clean: number[];
  robust: number[];
  cleanStd?: number[];
  robustStd?: number[];
  /** Intervals per lambda (fractions, e.g. Wilson 95%), drawn as asymmetric error bars; instead of the matching *Std. */
  cleanLo?: number[];
  cleanHi?: number[];
  robustLo?: number[];
  robustHi?: number[];
}

/** A number a paper reports, drawn as a hollow star beside the reproduced curve. */
export interface ReportedPoint {
  lambda: number;
  clean?: number;
  robust?: number;
  label?: string;
}

export interface LambdaSweepOptions {
  title?: string;
  /** Name of the regularization weight on the x axis (e.g. 'lambda (input-gradient penalty)'). */
  lambdaLabel?: string;
  robustLabel?: string;
  /** Log x axis; default: on when all lambdas are > 0 and span more than a factor 10. */
  logX?: boolean;
  reported?: ReportedPoint[];
}

/** Clean and robust accuracy as the regularization weight varies (solid = clean, dashed = robust). */
export function lambdaSweep(sweeps: LambdaSweepRun | LambdaSweepRun[], opts: LambdaSweepOptions = {}): Figure {
  const where = 'lambdaSweep';
  const runs = checkNonEmpty<LambdaSweepRun>(where, 'sweeps', Array.isArray(sweeps) ? sweeps : [sweeps]);
  const data: Record<string, unknown>[] = [];
  const allLambda: number[] = [];
  runs.forEach((r, i) => {
    const prefix = r.name ? `${r.name} ` : runs.length > 1 ? `run ${i} ` : '';
    const lambda = checkNumbers(where, `${prefix}lambda`, r?.lambda, { min: 0 });
    if (lambda.length === 0) fail(where, `${prefix}lambda is empty`, 'give at least one lambda');
    allLambda.push(...lambda);
    const order = lambda.map((_, j) => j).sort((a, b) => lambda[a] - lambda[b]);
    const color = colorAt(i);
    for (const key of ['clean', 'robust'] as const) {
      const y = checkNumbers(where, `${prefix}${key}`, r[key], { length: lambda.length, min: 0, max: 1 });
      const stdRaw = key === 'clean' ? r.cleanStd : r.robustStd;
      const std = stdRaw === undefined ? undefined : checkNumbers(where, `${prefix}${key}Std`, stdRaw, { length: lambda.length, min: 0 });
      const ci = intervalOf(where, `${prefix}${key}`, y, r[`${key}Lo`], r[`${key}Hi`], { min: 0, max: 1 });
      if (std && ci) fail(where, `${prefix}${key} has both ${key}Std and ${key}Lo/${key}Hi`, 'give the spread over seeds or an interval, not both');
      data.push({
        type: 'scatter', mode: 'lines+markers', name: `${prefix}${key}`, legendgroup: prefix,
        x: order.map((j) => lambda[j]), y: order.map((j) => y[j]),
        ...(std ? { error_y: { type: 'data', array: order.map((j) => std[j]), visible: true, color } } : {}),
        ...(ci ? { error_y: errorBars(order.map((j) => ci.plus[j]), order.map((j) => ci.minus[j]), color) } : {}),
        line: { color, dash: key === 'clean' ? 'solid' : 'dash', width: 2 }, marker: { color, symbol: key === 'clean' ? 'circle' : 'square', size: 7 },
      });
    }
  });
  const reported = opts.reported ?? [];
  reported.forEach((p, i) => {
    checkNumbers(where, `reported[${i}].lambda`, [p.lambda], { min: 0 });
    allLambda.push(p.lambda);
    for (const key of ['clean', 'robust'] as const) {
      const v = p[key];
      if (v === undefined) continue;
      checkNumbers(where, `reported[${i}].${key}`, [v], { min: 0, max: 1 });
      data.push({
        type: 'scatter', mode: 'markers', name: `${p.label ?? 'reported'} ${key}`, x: [p.lambda], y: [v],
        marker: { symbol: 'star-open', size: 14, color: '#000', line: { width: 2 } },
        hovertemplate: `${p.label ?? 'reported'} ${key} %{y:.3f} at lambda %{x}<extra></extra>`,
      });
    }
  });
  const positive = allLambda.every((l) => l > 0);
  const logX = opts.logX ?? (positive && Math.max(...allLambda) / Math.min(...allLambda) > 10);
  if (logX && !positive) fail(where, 'logX is on but a lambda is 0', 'drop the lambda = 0 run (show it as a reference line) or set logX: false');
  return {
    data,
    layout: baseLayout(opts.title, {
      xaxis: axis(opts.lambdaLabel ?? 'lambda', logX ? { type: 'log' } : {}),
      yaxis: axis(opts.robustLabel ? `accuracy (robust: ${opts.robustLabel})` : 'accuracy', { range: [0, 1.02] }),
      legend: { x: 1.02, y: 1, xanchor: 'left' },
    }),
  };
}

/** One row of a training history: the epoch and any number of logged metrics. */
export type HistoryRow = { epoch: number } & Record<string, number>;

export interface TrainingRun {
  name: string;
  history: HistoryRow[];
  /** Runs with the same group share a colour (default: name); `dash` tells them apart (e.g. per architecture). */
  group?: string;
  dash?: LineDash;
}

/** One panel per metric (loss, accuracy, each penalty...), one line per run, a run keeps its color across panels. */
export function trainingCurves(runs: TrainingRun[] | HistoryRow[], metrics: string[], opts: { title?: string; logY?: string[] } = {}): Figure {
  const where = 'trainingCurves';
  const list = checkNonEmpty<TrainingRun | HistoryRow>(where, 'runs', runs);
  const named: TrainingRun[] = 'history' in list[0] ? (list as TrainingRun[]) : [{ name: 'run', history: list as HistoryRow[] }];
  checkNonEmpty<string>(where, 'metrics', metrics);
  const available = new Set<string>();
  named.forEach((r, i) => {
    checkName(where, `runs[${i}].name`, r.name);
    checkNonEmpty<HistoryRow>(where, `${r.name}.history`, r.history).forEach((row, j) => {
      if (typeof row?.epoch !== 'number' || !Number.isFinite(row.epoch)) fail(where, `${r.name}.history[${j}].epoch is ${String(row?.epoch)}`, 'every history row needs a numeric epoch');
      Object.keys(row).forEach((k) => available.add(k));
    });
  });
  for (const m of metrics) {
    if (!available.has(m)) fail(where, `metric '${m}' is in no history`, `pick from: ${[...available].filter((k) => k !== 'epoch').join(', ')}`);
  }
  const n = metrics.length;
  const gap = 0.06;
  const h = (1 - gap * (n - 1)) / n;
  const layout: Record<string, unknown> = baseLayout(opts.title, { legend: { x: 1.02, y: 1, xanchor: 'left' }, height: Math.max(300, 220 * n) });
  const data: Record<string, unknown>[] = [];
  const colors = groupColors(named);
  metrics.forEach((m, k) => {
    const ax = k === 0 ? '' : String(k + 1);
    const top = 1 - k * (h + gap);
    layout[`xaxis${ax}`] = axis(k === n - 1 ? 'epoch' : '', { domain: [0, 1], anchor: `y${ax}`, ...(k < n - 1 ? { matches: `x${n === 1 ? '' : n}`, showticklabels: false } : {}) });
    layout[`yaxis${ax}`] = axis(m, { domain: [Math.max(0, top - h), top], anchor: `x${ax}`, ...(opts.logY?.includes(m) ? { type: 'log' } : {}) });
    named.forEach((r, i) => {
      const rows = r.history.filter((row) => typeof row[m] === 'number');
      data.push({
        type: 'scatter', mode: 'lines+markers', name: r.name, legendgroup: r.name, showlegend: k === 0,
        x: rows.map((row) => row.epoch), y: rows.map((row) => (Number.isFinite(row[m]) ? row[m] : null)),
        xaxis: `x${ax}`, yaxis: `y${ax}`, line: { color: colors[i], width: 2, dash: r.dash ?? 'solid' }, marker: { color: colors[i], size: 5 },
      });
    });
  });
  return { data, layout };
}

export interface BarGroup {
  /** Category on the x axis (e.g. the method). */
  name: string;
  /**
   * Bars inside the category (e.g. one per attack); bars with the same name share a color across groups. `error` is a
   * symmetric error (e.g. std over seeds); lo/hi an interval in the value's units (e.g. Wilson 95%), drawn asymmetric.
   */
  bars: { name: string; value: number; error?: number; lo?: number; hi?: number }[];
}

/** Grouped bar chart with optional error bars: symmetric (error) or an interval (lo/hi). */
export function barChart(groups: BarGroup[], opts: { title?: string; yLabel?: string; yRange?: [number, number] } = {}): Figure {
  const where = 'barChart';
  checkNonEmpty<BarGroup>(where, 'groups', groups).forEach((g, i) => {
    checkName(where, `groups[${i}].name`, g?.name);
    checkNonEmpty(where, `${g.name}.bars`, g.bars).forEach((b, j) => {
      const bar = b as { name: unknown; value: unknown; error?: unknown };
      checkName(where, `${g.name}.bars[${j}].name`, bar?.name);
      checkNumbers(where, `${g.name}.${String(bar.name)}.value`, [bar.value]);
      if (bar.error !== undefined) checkNumbers(where, `${g.name}.${String(bar.name)}.error`, [bar.error], { min: 0 });
      const b2 = b as { lo?: unknown; hi?: unknown };
      if (bar.error !== undefined && (b2.lo !== undefined || b2.hi !== undefined)) fail(where, `${g.name}.${String(bar.name)} has both error and lo/hi`, 'give a symmetric error or an interval, not both');
      intervalOf(where, `${g.name}.${String(bar.name)}.value`, [bar.value as number], b2.lo === undefined ? undefined : [b2.lo], b2.hi === undefined ? undefined : [b2.hi]);
    });
  });
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const data = series.map((s, i) => {
    const cells = groups.map((g) => g.bars.find((b) => b.name === s));
    const present = cells.filter((c): c is NonNullable<typeof c> => c !== undefined);
    const anyError = present.some((c) => c.error !== undefined);
    const withInterval = present.filter((c) => c.lo !== undefined).length;
    if (withInterval > 0 && anyError) fail(where, `the '${s}' bars mix error and lo/hi`, 'use one kind of error bar per bar name');
    if (withInterval > 0 && withInterval < present.length) fail(where, `only ${withInterval} of the ${present.length} '${s}' bars have lo/hi`, `give lo/hi for every '${s}' bar, or for none`);
    const interval = withInterval > 0 ? errorBars(cells.map((c) => (c ? c.hi! - c.value : 0)), cells.map((c) => (c ? c.value - c.lo! : 0)), '#222') : undefined;
    return {
      type: 'bar', name: s, x: groups.map((g) => g.name), y: cells.map((c) => (c ? c.value : null)),
      marker: { color: colorAt(i) },
      ...(anyError ? { error_y: { type: 'data', array: cells.map((c) => c?.error ?? 0), visible: true, color: '#222' } } : {}),
      ...(interval ? { error_y: interval } : {}),
    };
  });
  return {
    data,
    layout: baseLayout(opts.title, {
      barmode: 'group',
      xaxis: axis('', { showgrid: false }),
      yaxis: axis(opts.yLabel ?? 'value', opts.yRange ? { range: opts.yRange } : {}),
      legend: { x: 1.02, y: 1, xanchor: 'left' },
    }),
  };
}
