// HTML for a figure on disk: a self-contained page (plotly.js inlined). Notebooks get a mime bundle instead (display.ts).
import * as fs from 'node:fs';
import type { Figure } from './figure';

let plotlySource: string | undefined;

/** The plotly.js bundle (~4.7 MB), read once per process. */
export function plotlyJs(): string {
  if (plotlySource === undefined) {
    let file: string;
    try {
      file = require.resolve('plotly.js-dist-min');
    } catch {
      throw new Error('plotly.js-dist-min is not installed: run `npm ci` in the repository root');
    }
    plotlySource = fs.readFileSync(file, 'utf8');
  }
  return plotlySource;
}

/** JSON safe to embed in a <script> element (no '</script>' or '<!--' can appear). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A standalone page that renders the figure offline: plotly.js inlined, the spec as JSON. Yields chunks to avoid one 5 MB concat. */
export function* figurePage(fig: Figure, opts: { title: string; width: number; height: number }): Generator<string> {
  yield `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(opts.title)}</title>\n<script>`;
  yield plotlyJs();
  yield '</script>\n</head>\n<body style="margin:0">\n';
  yield `<div id="figure" style="width:${opts.width}px;height:${opts.height}px"></div>\n`;
  yield `<script id="figure-spec" type="application/json">${scriptJson({ data: fig.data, layout: fig.layout })}</script>\n`;
  yield '<script>\nvar spec = JSON.parse(document.getElementById("figure-spec").textContent);\n';
  yield 'Plotly.newPlot("figure", spec.data, spec.layout, {responsive: true, displaylogo: false});\n</script>\n</body>\n</html>\n';
}
