// Result tables: rows or danfojs DataFrames -> DataFrame, CSV (full precision), Markdown/LaTeX/HTML (fixed decimals).
import type { DataFrame } from 'danfojs-node';

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

function decimalsFor(opts: FormatOptions, column: string): number {
  const d = opts.decimals;
  if (d === undefined) return 3;
  if (typeof d === 'number') return d;
  return d[column] ?? 3;
}

/** Integer columns (epochs, counts) print as integers; other numbers with fixed decimals. */
function formatColumns(t: TableData, opts: FormatOptions): string[][] {
  const intCol = t.columns.map((_, j) => t.rows.every((r) => typeof r[j] !== 'number' || Number.isInteger(r[j])));
  return t.rows.map((r) => r.map((v, j) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return intCol[j] ? String(v) : v.toFixed(decimalsFor(opts, t.columns[j]));
  }));
}

/** Fraction -> percent string: formatPct(0.8734) = '87.3%'. */
export function formatPct(x: number, decimals = 1): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x);
  return `${(x * 100).toFixed(decimals)}%`;
}

/** Formats a number with fixed decimals, integers unchanged. */
export function formatNumber(x: number, decimals = 3): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(decimals);
}

function csvCell(v: TableCell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with numbers at full precision (String(x) round-trips exactly). */
export function toCsv(input: TableInput): string {
  const t = tableData(input);
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
  const t = tableData(input);
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
  const t = tableData(input);
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
  const t = tableData(input);
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
