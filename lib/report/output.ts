// Writing figures and tables under figuresDir(notebook) (output-dir.ts), atomically, so a crash never leaves a half-written file.
import * as path from 'node:path';
import { renderFigure } from './browser';
import type { Figure } from './figure';
import { figurePage } from './html';
import { checkTableNotEmpty, toCsv, toLatex, toMarkdown, type FormatOptions, type TableInput } from './tables';

import { checkFileName, figuresDir } from './output-dir';
export { checkFileName, COMMITTED_PROFILE, describeOutputs, figuresDir, figuresRoot, repoRoot } from './output-dir';

import { atomicWrite } from '../util/atomic-write';
import { ensureWritableDir } from '../util/writable';

/** What to do about a figures folder that cannot be written. */
const FIGURES_FIX = 'set GRADREG_FIGURES_DIR to a writable folder (or npm run reproduce -- --figures DIR)';
export { atomicWrite, type WriteData } from '../util/atomic-write';

export type FigureFormat = 'html' | 'png' | 'svg';

export interface SaveFigureOptions {
  /** Default: all three. PNG/SVG need chromium; HTML does not. */
  formats?: FigureFormat[];
  /** Pixels; default the figure's layout width/height, else 800 x 500. */
  width?: number;
  height?: number;
  /** PNG device pixel ratio (default 1). */
  scale?: number;
}

/** Writes figures/<notebook>/<name>.{html,png,svg}; returns the written paths by format. */
export async function saveFigure(fig: Figure, notebook: string, name: string, opts: SaveFigureOptions = {}): Promise<Partial<Record<FigureFormat, string>>> {
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== 'object') throw new Error('saveFigure: fig must be { data: object[], layout: object } (build it with the report figure helpers)');
  checkFileName('saveFigure', 'name', name);
  const formats = opts.formats ?? ['html', 'png', 'svg'];
  for (const f of formats) if (!['html', 'png', 'svg'].includes(f)) throw new Error(`saveFigure: unknown format ${JSON.stringify(f)}; use 'html', 'png' or 'svg'`);
  const width = opts.width ?? (typeof fig.layout.width === 'number' ? fig.layout.width : 800);
  const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 500);
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 10 || v > 10000) throw new Error(`saveFigure: ${k} must be an integer number of pixels in [10, 10000], got ${v}`);
  }
  const dir = figuresDir(notebook);
  const out: Partial<Record<FigureFormat, string>> = {};
  const images = formats.filter((f): f is 'png' | 'svg' => f !== 'html');
  // Render first: if chromium is missing nothing is written (not even the folder), rather than an html without its png.
  const rendered = images.length > 0 ? await renderFigure(fig, { width, height, formats: images, scale: opts.scale }) : {};
  ensureWritableDir(dir, 'the figures folder', FIGURES_FIX);
  if (formats.includes('html')) {
    out.html = path.join(dir, `${name}.html`);
    atomicWrite(out.html, figurePage(fig, { title: name, width, height }), 'the figure');
  }
  for (const f of images) {
    const file = path.join(dir, `${name}.${f}`);
    const bytes = rendered[f];
    if (bytes === undefined) throw new Error(`saveFigure: the browser returned no ${f} for ${name}`);
    atomicWrite(file, bytes, 'the figure');
    out[f] = file;
  }
  return out;
}

export interface SaveTableOptions extends FormatOptions {
  /** Also write name.tex (booktabs), for paper tables. */
  latex?: boolean;
  caption?: string;
  label?: string;
}

/**
 * Writes figures/<notebook>/<name>.csv (full precision) and .md (fixed decimals, or the resolution opts.n supports), plus
 * .tex when asked; returns the paths. An empty table is refused before anything is written, and every file is rendered
 * before the first write, so a good earlier result is never replaced by an empty or half-written one.
 */
export function saveTable(table: TableInput, notebook: string, name: string, opts: SaveTableOptions = {}): { csv: string; md: string; tex?: string } {
  checkFileName('saveTable', 'name', name);
  const dir = figuresDir(notebook);
  checkTableNotEmpty(table, `saveTable: table '${name}' of notebook ${path.basename(dir)}`);
  ensureWritableDir(dir, 'the figures folder', FIGURES_FIX);
  const files: [string, string][] = [
    [path.join(dir, `${name}.csv`), toCsv(table)],
    [path.join(dir, `${name}.md`), (opts.caption ? `${opts.caption}\n\n` : '') + toMarkdown(table, opts)],
  ];
  if (opts.latex) files.push([path.join(dir, `${name}.tex`), toLatex(table, opts)]);
  for (const [file, text] of files) atomicWrite(file, text, 'the table');
  return { csv: files[0][0], md: files[1][0], ...(opts.latex ? { tex: files[2][0] } : {}) };
}
