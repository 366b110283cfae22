// A labelled matrix as a heatmap with the value (and, optionally, its interval) written in every cell: transfer matrices
// (source x target accuracy), confusion-style tables. Values are read from the text, the color only guides the eye.
import type { Figure } from './figure';
import { baseLayout, checkNonEmpty, fail } from './figure';

export interface MatrixHeatmapOptions {
  /** Row labels (top to bottom). */
  rows: string[];
  /** Column labels (left to right). */
  cols: string[];
  /** values[r][c]; NaN or null leaves the cell empty. */
  values: (number | null)[][];
  /** Text written in each cell (default: the value with 2 decimals). */
  text?: string[][];
  title?: string;
  /** Color range (default [min, max] of the finite values). */
  zRange?: [number, number];
  colorbarTitle?: string;
  xLabel?: string;
  yLabel?: string;
}

/** Heatmap of a labelled matrix, row 0 at the top, with every cell's text as an annotation. */
export function matrixHeatmap(opts: MatrixHeatmapOptions): Figure {
  const where = 'matrixHeatmap';
  if (!opts || typeof opts !== 'object') fail(where, 'options are missing', 'pass { rows, cols, values }');
  const rows = checkNonEmpty<string>(where, 'rows', opts.rows);
  const cols = checkNonEmpty<string>(where, 'cols', opts.cols);
  if (new Set(rows).size !== rows.length) fail(where, `rows has duplicate labels [${rows.join(', ')}]`, 'make every row label unique (plotly merges equal labels)');
  if (new Set(cols).size !== cols.length) fail(where, `cols has duplicate labels [${cols.join(', ')}]`, 'make every column label unique (plotly merges equal labels)');
  if (!Array.isArray(opts.values) || opts.values.length !== rows.length) fail(where, `values has ${Array.isArray(opts.values) ? opts.values.length : 'no'} rows, rows has ${rows.length} labels`, 'give one row of values per row label');
  opts.values.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== cols.length) fail(where, `values[${i}] has ${Array.isArray(r) ? r.length : 'no'} entries, cols has ${cols.length}`, 'give one value per column label');
    r.forEach((v, j) => { if (v !== null && typeof v !== 'number') fail(where, `values[${i}][${j}] is ${String(v)}`, 'use numbers (NaN or null for an empty cell)'); });
  });
  if (opts.text !== undefined) {
    if (!Array.isArray(opts.text) || opts.text.length !== rows.length || opts.text.some((r) => !Array.isArray(r) || r.length !== cols.length)) {
      fail(where, 'text is not shaped like values', `give ${rows.length} rows of ${cols.length} strings`);
    }
  }
  const finite = opts.values.flat().filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const [zmin, zmax] = opts.zRange ?? (finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1]);
  if (!(zmin <= zmax)) fail(where, `zRange [${zmin}, ${zmax}] is empty`, 'give [low, high] with low <= high');
  const z = opts.values.map((r) => r.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)));
  const text = opts.text ?? z.map((r) => r.map((v) => (v === null ? '' : v.toFixed(2))));
  const mid = (zmin + zmax) / 2;
  const annotations = z.flatMap((r, i) => r.map((v, j) => ({
    x: cols[j], y: rows[i], text: text[i][j], showarrow: false,
    // Dark cells get white text (the 'Viridis' scale is dark at its low end).
    font: { size: 11, color: v !== null && v < mid ? '#fff' : '#111' },
  })));
  return {
    data: [{
      type: 'heatmap', x: cols, y: rows, z, zmin, zmax, colorscale: 'Viridis', hoverongaps: false,
      colorbar: { title: { text: opts.colorbarTitle ?? '' } },
    }],
    layout: baseLayout(opts.title, {
      annotations,
      xaxis: { title: { text: opts.xLabel ?? '' }, side: 'bottom', automargin: true, type: 'category' },
      yaxis: { title: { text: opts.yLabel ?? '' }, autorange: 'reversed', automargin: true, type: 'category' },
      height: Math.max(300, 60 + 40 * rows.length),
    }),
  };
}
