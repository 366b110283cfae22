// HTML for a figure: a self-contained page (plotly.js inlined) for disk, and a light fragment for notebooks.
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

let fragmentCount = 0;

/**
 * A notebook text/html fragment. plotly.js is inlined only when asked (the first figure of a kernel session);
 * later fragments wait for window.Plotly and say how to recover if it never arrives (e.g. a reloaded page).
 */
export function figureFragment(fig: Figure, opts: { includePlotly: boolean; height?: number }): string {
  const id = `gradreg-fig-${process.pid}-${++fragmentCount}-${Date.now().toString(36)}`;
  const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 450);
  const loader = opts.includePlotly ? `<script>${plotlyJs()}</script>` : '';
  return `${loader}<div id="${id}" style="height:${height}px"></div>
<script>(function () {
  var spec = ${scriptJson({ data: fig.data, layout: fig.layout })};
  var tries = 0;
  function draw() {
    var el = document.getElementById(${JSON.stringify(id)});
    if (!el) return;
    if (window.Plotly) { window.Plotly.newPlot(el, spec.data, spec.layout, {responsive: true, displaylogo: false}); return; }
    if (++tries < 100) { setTimeout(draw, 100); return; }
    el.textContent = 'plotly.js is not loaded in this page: re-run the cell that showed the first figure, or call show(fig, {includePlotly: true}).';
  }
  draw();
})();</script>`;
}
