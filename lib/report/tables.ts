// Result tables: rows or danfojs DataFrames -> DataFrame, CSV (full precision), Markdown/LaTeX/HTML (fixed decimals, or
// the resolution the sample size supports). The writers refuse an empty table: an empty file must never replace a result.
import type { DataFrame } from 'danfojs-node';
import { cleanNumber, pctDecimals, toFixedClean } from '../stats/format';

export type TableCell = number | string | null | undefined;
export type TableRow = Record<string, TableCell>;
export type TableInput = TableRow[] | DataFrame;

export interface TableData {
  columns: string[];
  rows: TableCell[][];
}

export interface FormatOptions {
  /** Decimals for non-integer numbers: one value, or per column (default 3, right for accuracies as fractions). */
  decimals?: number | Record<string, number>;
  /**
   * The number of test examples behind accuracy columns, so they print no more digits than n supports (pctDecimals(n):
   * n = 300 -> 1 decimal of a percent). A number applies to every column whose name contains '%'; a record gives n per
   * column. A column named with '%' holds percentages, any other a fraction (two more decimals). `decimals` for a column
   * wins. Whole numbers in such a column print with the same decimals ('0.0', not '0').
   */
  n?: number | Record<string, number>;
}

type Danfo = typeof import('danfojs-node');
let danfo: Danfo | undefined;

/** danfojs-node takes ~1-2 s to import: load it only when a DataFrame is really needed. */
export function loadDanfo(): Danfo {
  danfo ??= require('danfojs-node') as Danfo;
  return danfo;
}

function isDataFrame(v: unknown): v is DataFrame {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'columns' in v && 'values' in v;
}

/** Normalizes rows or a DataFrame into columns + cell matrix; columns are the union of row keys in first-seen order. */
export function tableData(input: TableInput): TableData {
  if (isDataFrame(input)) {
    const columns = (input.columns as string[]).map(String);
    const rows = (input.values as unknown[][]).map((r) => r.map((v) => (typeof v === 'number' || typeof v === 'string' || v == null ? v : String(v))) as TableCell[]);
    return { columns, rows };
  }
  if (!Array.isArray(input)) throw new Error(`table: expected an array of row objects or a danfojs DataFrame, got ${typeof input}; pass e.g. [{ method: 'ce', clean: 0.98 }]`);
  const columns: string[] = [];
  input.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error(`table: row ${i} is ${Array.isArray(r) ? 'an array' : String(r)}, not an object; rows are Record<column, number | string>`);
    for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  });
  const rows = input.map((r, i) => columns.map((c) => {
    const v = r[c];
    if (v !== null && v !== undefined && typeof v !== 'number' && typeof v !== 'string') {
      throw new Error(`table: row ${i} column '${c}' is a ${typeof v}; cells are numbers or strings (format objects before tabulating)`);
    }
    return v;
  }));
  return { columns, rows };
}

export function toDataFrame(input: TableInput): DataFrame {
  if (isDataFrame(input)) return input;
  const { columns, rows } = tableData(input);
  if (rows.length === 0) throw new Error('toDataFrame: no rows; a DataFrame needs at least one row');
  const dfd = loadDanfo();
  return new dfd.DataFrame(rows.map((r) => r.map((v) => (v === undefined ? null : v))), { columns });
}

/** The sample size behind a column, when the caller gave one (see FormatOptions.n). */
function nFor(opts: FormatOptions, column: string): number | undefined {
  const n = opts.n;
  if (n === undefined) return undefined;
  const v = typeof n === 'number' ? (column.includes('%') ? n : undefined) : n[column];
  if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
    throw new Error(`table: n for column '${column}' must be the number of examples (a positive integer), got ${String(v)}`);
  }
  return v;
}

/** Explicit decimals for a column, else the resolution its n supports, else 3. */
function decimalsFor(opts: FormatOptions, column: string): { decimals: number; fromN: boolean } {
  const d = opts.decimals;
  const explicit = typeof d === 'number' ? d : d?.[column];
  if (explicit !== undefined) return { decimals: explicit, fromN: false };
  const n = nFor(opts, column);
  if (n !== undefined) return { decimals: pctDecimals(n) + (column.includes('%') ? 0 : 2), fromN: true };
  return { decimals: 3, fromN: false };
}

/** Integer columns (epochs, counts) print as integers, unless n makes them accuracies; other numbers with fixed decimals. */
function formatColumns(t: TableData, opts: FormatOptions): string[][] {
  const fmt = t.columns.map((c) => decimalsFor(opts, c));
  const intCol = t.columns.map((_, j) => !fmt[j].fromN && t.rows.every((r) => typeof r[j] !== 'number' || Number.isInteger(r[j])));
  return t.rows.map((r) => r.map((v, j) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return intCol[j] ? String(v) : toFixedClean(v, fmt[j].decimals);
  }));
}

/** Fraction -> percent string: formatPct(0.8734) = '87.3%'. For an accuracy on n examples use formatAcc(acc, n). */
export function formatPct(x: number, decimals = 1): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x);
  return `${toFixedClean(x * 100, decimals)}%`;
}

/** Formats a number with fixed decimals (no float noise, no '-0.000'), integers unchanged. */
export function formatNumber(x: number, decimals = 3): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x);
  return Number.isInteger(x) ? String(x) : toFixedClean(x, decimals);
}

/**
 * Refuses a table that would write an invalid file: no columns (LaTeX `\begin{tabular}{}`) or no rows. `what` names the
 * table in the message, e.g. "publishTable: table 'results' of notebook 01-gp".
 */
export function checkTableNotEmpty(input: TableInput, what = 'table'): TableData {
  const t = tableData(input);
  const fix = 'nothing was written and any existing file is unchanged; check how the rows were built (an empty filter? no run finished?)';
  if (t.columns.length === 0) throw new Error(`${what} has no columns; ${fix}`);
  if (t.rows.length === 0) throw new Error(`${what} has no rows (columns: ${t.columns.join(', ')}); ${fix}`);
  if (t.rows.every((r) => r.every((v) => v === null || v === undefined || v === ''))) throw new Error(`${what} has only empty cells; ${fix}`);
  return t;
}

function csvCell(v: TableCell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(cleanNumber(v)) : v;
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * RFC 4180 CSV with numbers at full precision: 15 significant digits, which round-trip any decimal of up to 15 digits
 * exactly and drop float noise (9.999999999999998 -> 10).
 */
export function toCsv(input: TableInput): string {
  const t = checkTableNotEmpty(input, 'toCsv: the table');
  return [t.columns.map(csvCell).join(','), ...t.rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

/** Parses CSV written by toCsv (quoted fields, doubled quotes); numeric-looking cells become numbers. */
export function parseCsv(text: string): TableRow[] {
  const records: string[][] = [];
  let field = '';
  let rec: string[] = [];
  let quoted = false;
  let i = 0;
  const endField = () => { rec.push(field); field = ''; };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      field += ch; i++; continue;
    }
    if (ch === '"') { quoted = true; i++; continue; }
    if (ch === ',') { endField(); i++; continue; }
    if (ch === '\n' || ch === '\r') {
      endField(); records.push(rec); rec = [];
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += ch; i++;
  }
  if (field !== '' || rec.length > 0) { endField(); records.push(rec); }
  const [header, ...body] = records;
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, j) => {
    const s = r[j] ?? '';
    const n = Number(s);
    return [h, s === '' ? null : /^\s*$/.test(s) || Number.isNaN(n) ? s : n];
  })));
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** GitHub-flavoured Markdown table; numeric columns right-aligned. */
export function toMarkdown(input: TableInput, opts: FormatOptions = {}): string {
  const t = checkTableNotEmpty(input, 'toMarkdown: the table');
  const cells = formatColumns(t, opts);
  const numeric = t.columns.map((_, j) => t.rows.some((r) => typeof r[j] === 'number') && t.rows.every((r) => typeof r[j] !== 'string'));
  const head = `| ${t.columns.map(mdEscape).join(' | ')} |`;
  const rule = `|${numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`;
  return [head, rule, ...cells.map((r) => `| ${r.map(mdEscape).join(' | ')} |`)].join('\n') + '\n';
}

/** Parses a Markdown table written by toMarkdown back into rows (numbers as numbers). */
export function parseMarkdownTable(md: string): TableRow[] {
  const lines = md.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('|'));
  const split = (l: string) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
  const [head, , ...body] = lines;
  if (!head) return [];
  const cols = split(head);
  return body.map((l) => Object.fromEntries(split(l).map((c, j) => [cols[j], c === '' ? null : Number.isNaN(Number(c)) ? c : Number(c)])));
}

function latexEscape(s: string): string {
  return s.replace(/\\/g, '\\textbackslash{}').replace(/([&%$#_{}])/g, '\\$1').replace(/~/g, '\\textasciitilde{}').replace(/\^/g, '\\textasciicircum{}');
}

/** A booktabs LaTeX table (needs \usepackage{booktabs}); numbers right-aligned with fixed decimals. */
export function toLatex(input: TableInput, opts: FormatOptions & { caption?: string; label?: string } = {}): string {
  const t = checkTableNotEmpty(input, 'toLatex: the table');
  const cells = formatColumns(t, opts);
  const align = t.columns.map((_, j) => (t.rows.every((r) => typeof r[j] !== 'string') ? 'r' : 'l')).join('');
  const out = ['\\begin{table}[t]', '\\centering'];
  if (opts.caption) out.push(`\\caption{${latexEscape(opts.caption)}}`);
  if (opts.label) out.push(`\\label{${opts.label}}`);
  out.push(`\\begin{tabular}{${align}}`, '\\toprule', `${t.columns.map(latexEscape).join(' & ')} \\\\`, '\\midrule');
  for (const r of cells) out.push(`${r.map(latexEscape).join(' & ')} \\\\`);
  out.push('\\bottomrule', '\\end{tabular}', '\\end{table}');
  return out.join('\n') + '\n';
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A plain HTML table for notebook display. */
export function toHtmlTable(input: TableInput, opts: FormatOptions & { caption?: string } = {}): string {
  const t = checkTableNotEmpty(input, 'toHtmlTable: the table');
  const cells = formatColumns(t, opts);
  const numeric = t.columns.map((_, j) => t.rows.every((r) => typeof r[j] !== 'string'));
  const td = (s: string, j: number, tag: string) => `<${tag} style="text-align:${numeric[j] ? 'right' : 'left'}">${htmlEscape(s)}</${tag}>`;
  return [
    '<table class="gradreg-table">',
    opts.caption ? `<caption>${htmlEscape(opts.caption)}</caption>` : '',
    `<thead><tr>${t.columns.map((c, j) => td(c, j, 'th')).join('')}</tr></thead>`,
    `<tbody>${cells.map((r) => `<tr>${r.map((c, j) => td(c, j, 'td')).join('')}</tr>`).join('')}</tbody>`,
    '</table>',
  ].join('');
}
