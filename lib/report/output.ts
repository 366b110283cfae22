// Writing figures and tables under figures/<notebook>/, atomically, so a crash never leaves a half-written file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderFigure } from './browser';
import type { Figure } from './figure';
import { figurePage } from './html';
import { checkTableNotEmpty, toCsv, toLatex, toMarkdown, type FormatOptions, type TableInput } from './tables';

/** The repository root: GRADREG_REPO, else the folder above lib/ holding package.json (symlinks resolved, so notebooks/lib works). */
export function repoRoot(): string {
  if (process.env.GRADREG_REPO) return path.resolve(process.env.GRADREG_REPO);
  let dir = fs.realpathSync(__dirname);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'lib'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no package.json above ${__dirname}; set GRADREG_REPO (or GRADREG_FIGURES_DIR) to the repository root`);
    dir = up;
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A plain file name (letters, digits, '.', '_', '-'; no folders, no '..'): the rule for every file the kit writes. */
export function checkFileName(where: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !SAFE_NAME.test(v) || v.includes('..')) {
    throw new Error(`${where}: ${field} ${JSON.stringify(v)} is not a plain file name; use letters, digits, '.', '_' and '-' (e.g. '01-gradient-penalty')`);
  }
  return v;
}

/**
 * The folder for a notebook's figures and tables (not created here; writes create it):
 * - under the headless runner (GRADREG_NOTEBOOK set), GRADREG_FIGURES_DIR is that notebook's own folder, and other
 *   notebook names go beside it;
 * - otherwise GRADREG_FIGURES_DIR, when set, is the root: <root>/<notebook>;
 * - else <repo>/figures/<notebook>.
 */
export function figuresDir(notebook: string): string {
  const name = checkFileName('figuresDir', 'notebook', typeof notebook === 'string' ? notebook.replace(/\.ipynb$/, '') : notebook);
  const env = process.env.GRADREG_FIGURES_DIR ? path.resolve(process.env.GRADREG_FIGURES_DIR) : undefined;
  const running = process.env.GRADREG_NOTEBOOK?.replace(/\.ipynb$/, '');
  if (env && running) return name === running ? env : path.join(path.dirname(env), name);
  return path.join(env ?? path.join(repoRoot(), 'figures'), name);
}

import { atomicWrite } from '../util/atomic-write';
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
  // Render first: if chromium is missing nothing is written, rather than an html without its png.
  const rendered = images.length > 0 ? await renderFigure(fig, { width, height, formats: images, scale: opts.scale }) : {};
  if (formats.includes('html')) {
    out.html = path.join(dir, `${name}.html`);
    atomicWrite(out.html, figurePage(fig, { title: name, width, height }));
  }
  for (const f of images) {
    const file = path.join(dir, `${name}.${f}`);
    const bytes = rendered[f];
    if (bytes === undefined) throw new Error(`saveFigure: the browser returned no ${f} for ${name}`);
    atomicWrite(file, bytes);
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
  const files: [string, string][] = [
    [path.join(dir, `${name}.csv`), toCsv(table)],
    [path.join(dir, `${name}.md`), (opts.caption ? `${opts.caption}\n\n` : '') + toMarkdown(table, opts)],
  ];
  if (opts.latex) files.push([path.join(dir, `${name}.tex`), toLatex(table, opts)]);
  for (const [file, text] of files) atomicWrite(file, text);
  return { csv: files[0][0], md: files[1][0], ...(opts.latex ? { tex: files[2][0] } : {}) };
}
