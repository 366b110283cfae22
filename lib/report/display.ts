// Showing things in a notebook (tslab kernel) or, outside one, on the terminal.
import * as crypto from 'node:crypto';
import { renderFigure } from './browser';
import { notebookFigure, type Figure } from './figure';
import { toHtmlTable, toMarkdown, type FormatOptions, type TableInput } from './tables';

interface Bundle { data: Record<string, unknown>; metadata: Record<string, unknown>; transient?: { display_id?: string } }
type Writer = (b: Bundle, update: boolean) => void;

/**
 * tslab's display writer when running inside its kernel, else undefined. Found in the module cache (the kernel has loaded
 * it, whatever tslab install runs the kernel) instead of required, so outside a kernel nothing (zeromq, TypeScript) is loaded.
 */
function writer(): Writer | undefined {
  for (const [key, mod] of Object.entries(require.cache)) {
    if (mod && /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) {
      const w = (mod.exports as { lastWriteDisplayData?: Writer | null }).lastWriteDisplayData;
      return typeof w === 'function' ? w : undefined;
    }
  }
  return undefined;
}

export function inNotebook(): boolean {
  return writer() !== undefined;
}

/** Displays a mime bundle (several representations of one thing); false outside a notebook. */
export function displayBundle(data: Record<string, unknown>, opts: { displayId?: string; update?: boolean } = {}): boolean {
  const w = writer();
  if (!w) return false;
  w({ data, metadata: {}, transient: opts.displayId ? { display_id: opts.displayId } : undefined }, opts.update ?? false);
  return true;
}

export function newDisplayId(): string {
  return crypto.randomUUID();
}

export function showMarkdown(md: string): void {
  if (!displayBundle({ 'text/markdown': md, 'text/plain': md })) console.log(md);
}

export function showHtml(html: string, text = ''): void {
  if (!displayBundle({ 'text/html': html, 'text/plain': text })) if (text) console.log(text);
}

export function showPng(png: Uint8Array, text = '[image]'): void {
  if (!displayBundle({ 'image/png': Buffer.from(png).toString('base64'), 'text/plain': text })) console.log(text);
}

function figureTitle(fig: Figure): string {
  const t = fig.layout.title as { text?: unknown } | string | undefined;
  return typeof t === 'string' ? t : typeof t?.text === 'string' ? t.text : 'untitled';
}

/** Size of the PNG fallback when the figure gives none: a typical notebook output width. */
const FALLBACK_WIDTH = 800;
const FALLBACK_HEIGHT = 450;

/**
 * Shows a figure; await it (`await gr.show(fig)`), so its output lands in the cell that made it. Notebook: one mime bundle
 * that stands on its own in any later session, with no script and no plotly.js inlined (a few tens of KB):
 * - application/vnd.plotly.v1+json: the interactive figure, drawn by JupyterLab's plotly renderer (`pip install plotly`),
 *   sized to the output width (notebookFigure);
 * - image/png: the same figure rendered once by the export browser: what frontends without that renderer show (classic
 *   Notebook, nbviewer, GitHub, a reopened notebook in an untrusted session); images scale down to the output width;
 * - text/plain: a one-line note (also all a terminal gets).
 * Without a browser the PNG is left out and the note says why; the interactive part still works.
 */
export async function show(fig: Figure, opts: { png?: Uint8Array } = {}): Promise<void> {
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== 'object') throw new Error('show: expected a figure { data: object[], layout: object }; build one with the report figure helpers');
  const note = `[figure: ${figureTitle(fig)}, ${fig.data.length} traces; saveFigure(fig, notebook, name) writes html/png/svg]`;
  // The writer of the cell that called show: if the caller forgets to await, the figure still goes to that cell.
  const w = writer();
  if (!w) {
    console.log(note);
    return;
  }
  const nb = notebookFigure(fig);
  let png = opts.png;
  let missing = '';
  if (!png) {
    const width = typeof fig.layout.width === 'number' ? fig.layout.width : FALLBACK_WIDTH;
    const height = typeof nb.layout.height === 'number' ? nb.layout.height : FALLBACK_HEIGHT;
    try {
      png = (await renderFigure({ data: nb.data, layout: { ...nb.layout, width, height } }, { width, height, formats: ['png'] })).png;
    } catch (e) {
      missing = ` (no PNG fallback: ${(e as Error).message.split('\n')[0]})`;
    }
  }
  const data: Record<string, unknown> = {
    'application/vnd.plotly.v1+json': { data: nb.data, layout: nb.layout, config: { responsive: true, displaylogo: false } },
    ...(png ? { 'image/png': Buffer.from(png).toString('base64') } : {}),
    'text/plain': note + missing,
  };
  w({ data, metadata: {} }, false);
}

/** Shows a table (rows or a DataFrame): HTML in a notebook, Markdown on a terminal. */
export function showTable(table: TableInput, opts: FormatOptions & { caption?: string } = {}): void {
  const md = (opts.caption ? `${opts.caption}\n\n` : '') + toMarkdown(table, opts);
  if (!displayBundle({ 'text/html': toHtmlTable(table, opts), 'text/plain': md })) console.log(md.trimEnd());
}

/** Shows PNG bytes (e.g. from saveFigure's file) inline; on a terminal prints a note. */
export function showImage(png: Uint8Array, text?: string): void {
  if (!(png instanceof Uint8Array) || png.length < 8 || png[0] !== 0x89 || png[1] !== 0x50 || png[2] !== 0x4e || png[3] !== 0x47) {
    throw new Error('showImage: expected PNG bytes (a Uint8Array starting with the PNG signature); read the file with fs.readFileSync');
  }
  showPng(png, text ?? `[png image, ${png.length} bytes]`);
}
