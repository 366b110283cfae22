// The figure type shared by builders, display and export, plus the checks every builder applies to its input.

/** A plotly.js figure spec: plain JSON, rendered by `show` in a notebook and by `saveFigure` on disk. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

/** Colors cycled across methods/runs, so a method keeps its color in every panel and band. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** '#rrggbb' -> 'rgba(r,g,b,a)' for translucent bands. */
export function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

export function fail(where: string, problem: string, fix: string): never {
  throw new Error(`${where}: ${problem}; ${fix}`);
}

/** Checks an array of finite numbers (optionally of a given length and within a range). */
export function checkNumbers(where: string, field: string, v: unknown, opts: { length?: number; min?: number; max?: number } = {}): number[] {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) fail(where, `${field} must be an array of numbers, got ${typeof v}`, `pass ${field}: number[]`);
  const a = Array.from(v as ArrayLike<unknown>);
  if (opts.length !== undefined && a.length !== opts.length) {
    fail(where, `${field} has ${a.length} values but ${opts.length} were expected`, `give ${field} one value per point`);
  }
  a.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(where, `${field}[${i}] is ${String(x)}, not a finite number`, 'drop or fix that point');
    if (opts.min !== undefined && x < opts.min) fail(where, `${field}[${i}] = ${x} is below ${opts.min}`, rangeHint(field, opts));
    if (opts.max !== undefined && x > opts.max) fail(where, `${field}[${i}] = ${x} is above ${opts.max}`, rangeHint(field, opts));
  });
  return a as number[];
}

function rangeHint(field: string, opts: { min?: number; max?: number }): string {
  return opts.max === 1 && opts.min === 0 ? `${field} are fractions in [0, 1] (divide percentages by 100)` : `keep ${field} within [${opts.min ?? '-inf'}, ${opts.max ?? 'inf'}]`;
}

export function checkName(where: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail(where, `${field} must be a non-empty string, got ${JSON.stringify(v)}`, `give every entry a ${field}`);
  return v;
}

export function checkNonEmpty<T>(where: string, field: string, v: unknown): T[] {
  if (!Array.isArray(v) || v.length === 0) fail(where, `${field} must be a non-empty array, got ${Array.isArray(v) ? '[]' : typeof v}`, `pass at least one entry in ${field}`);
  return v as T[];
}

/** Shared look: white background, light grid, legend outside the plot. */
export function baseLayout(title: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...(title ? { title: { text: title } } : {}),
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
    font: { family: 'Arial, sans-serif', size: 13 },
    margin: { l: 60, r: 20, t: title ? 50 : 20, b: 50 },
    ...extra,
  };
}

export function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { text: title }, showgrid: true, gridcolor: '#e5e5e5', zeroline: false, linecolor: '#444', showline: true, ticks: 'outside', ...extra };
}

/** More legend entries than this go below the plot in a notebook: on the right they take a third of a narrow output. */
export const LEGEND_BELOW_AFTER = 4;

function legendEntries(fig: Figure): number {
  if (fig.layout.showlegend === false) return 0;
  const groups = new Set<string>();
  let n = 0;
  for (const t of fig.data) {
    if (t.showlegend === false || t.visible === false) continue;
    if (typeof t.legendgroup === 'string' && t.legendgroup !== '') {
      if (groups.has(t.legendgroup)) continue;
      groups.add(t.legendgroup);
    }
    n++;
  }
  // A lone trace shows no legend unless asked.
  return n === 1 && fig.layout.showlegend !== true ? 0 : n;
}

/** Heatmap and image values to 4 significant digits: a notebook saves every number of a figure (float32 noise costs ~3x). */
function roundDeep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Number(v.toPrecision(4)) : v;
  if (Array.isArray(v)) return v.map(roundDeep);
  return v;
}

/**
 * The figure as a notebook shows it: as wide as the output area (no fixed width; plotly's responsive autosize), the
 * height kept; with many legend entries the legend goes below the plot, in rows, and the figure grows by those rows.
 * Image grids keep square pixels (their axes are scale-anchored), so they shrink instead of needing a scroll bar.
 * Heatmap/image values are rounded to 4 significant digits. Files written by saveFigure keep the figure as it is.
 */
export function notebookFigure(fig: Figure): Figure {
  const data = fig.data.map((t) => (Array.isArray(t.z) ? { ...t, z: roundDeep(t.z) } : t));
  const { width: _width, ...layout } = fig.layout;
  layout.autosize = true;
  const entries = legendEntries(fig);
  if (entries > LEGEND_BELOW_AFTER) {
    // At the figure's bottom edge (container coordinates), in rows; the bottom margin grows by an estimate of those rows
    // (about two entries a row in a narrow output, 30 px each) and plotly grows it further if they need more.
    const extra = 30 * Math.ceil(entries / 2);
    const height = typeof fig.layout.height === 'number' ? fig.layout.height : 450;
    const margin = (typeof layout.margin === 'object' && layout.margin !== null ? layout.margin : {}) as Record<string, unknown>;
    const bottom = typeof margin.b === 'number' ? margin.b : 50;
    layout.height = height + extra;
    layout.margin = { ...margin, b: bottom + extra, r: Math.min(typeof margin.r === 'number' ? margin.r : 20, 20) };
    layout.legend = { ...(layout.legend as Record<string, unknown> | undefined), orientation: 'h', x: 0, xanchor: 'left', y: 0, yanchor: 'bottom', yref: 'container' };
  }
  return { data, layout };
}
