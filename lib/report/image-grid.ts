// A grid of small images (inputs, adversarial examples, perturbations, saliency maps) as one plotly figure.
import type * as tf from '@tensorflow/tfjs';
import { checkName, checkNonEmpty, fail, type Figure } from './figure';

/**
 * 'image': pixel values in [0, 1] (grayscale or RGB).
 * 'signed': perturbations; diverging colors centered at 0, symmetric range.
 * 'heatmap': saliency; sequential colors from the row's (or shared) min to max.
 */
export type ImageKind = 'image' | 'signed' | 'heatmap';

export interface ImageRow {
  label: string;
  /** HWC-flattened images, or a [n, height, width, channels] tensor (read, not disposed). */
  images: Float32Array[] | tf.Tensor4D;
  kind: ImageKind;
}

export interface ImageGridOptions {
  width: number;
  height: number;
  channels: number;
  colLabels?: string[];
  /** One color scale for all 'signed' rows and one for all 'heatmap' rows (default true), so magnitudes compare across rows. */
  sharedScale?: boolean;
  title?: string;
  /** Pixels per image cell in the rendered figure (default 110). */
  cellSize?: number;
}

// Blue (negative) - white (0) - red (positive); plotly's built-in RdBu has a gray middle that hides small values.
export const DIVERGING: [number, string][] = [[0, '#2166ac'], [0.25, '#92c5de'], [0.5, '#f7f7f7'], [0.75, '#f4a582'], [1, '#b2182b']];
const SEQUENTIAL = 'Viridis';

function isTensor(v: unknown): v is tf.Tensor4D {
  return typeof v === 'object' && v !== null && 'dataSync' in v && 'shape' in v;
}

function rowImages(where: string, row: ImageRow, opts: ImageGridOptions): Float32Array[] {
  const size = opts.width * opts.height * opts.channels;
  if (isTensor(row.images)) {
    const [n, h, w, c] = row.images.shape;
    if (row.images.rank !== 4 || h !== opts.height || w !== opts.width || c !== opts.channels) {
      fail(where, `row '${row.label}' tensor has shape [${row.images.shape.join(', ')}], expected [n, ${opts.height}, ${opts.width}, ${opts.channels}]`, 'pass NHWC images matching width/height/channels');
    }
    const all = row.images.dataSync() as Float32Array;
    return Array.from({ length: n }, (_, i) => all.slice(i * size, (i + 1) * size));
  }
  const imgs = checkNonEmpty<Float32Array>(where, `row '${row.label}'.images`, row.images);
  imgs.forEach((im, i) => {
    if (!(im instanceof Float32Array) || im.length !== size) {
      fail(where, `row '${row.label}' image ${i} has ${(im as { length?: number })?.length ?? 'no'} values, expected ${size} (${opts.height}x${opts.width}x${opts.channels}, HWC)`, 'pass Float32Array images of width*height*channels values');
    }
  });
  return imgs;
}

/** Per-pixel value for color-mapped kinds: the channel mean (callers wanting max|.| over channels reduce first). */
function toGray(img: Float32Array, opts: ImageGridOptions): number[][] {
  const { width: w, height: h, channels: c } = opts;
  const z: number[][] = [];
  for (let y = 0; y < h; y++) {
    const r: number[] = [];
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += img[(y * w + x) * c + k];
      r.push(s / c);
    }
    z.push(r);
  }
  return z;
}

function toRgb(img: Float32Array, opts: ImageGridOptions, map: (v: number) => number): number[][][] {
  const { width: w, height: h } = opts;
  const z: number[][][] = [];
  for (let y = 0; y < h; y++) {
    const r: number[][] = [];
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      r.push([0, 1, 2].map((k) => Math.round(255 * Math.min(1, Math.max(0, map(img[o + k]))))));
    }
    z.push(r);
  }
  return z;
}

function extent(imgs: Float32Array[]): { min: number; max: number; absMax: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const im of imgs) for (const v of im) {
    if (!Number.isFinite(v)) fail('imageGrid', `an image holds ${v}`, 'replace NaN/Infinity before plotting (they usually mean a broken attack or gradient)');
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, absMax: Math.max(Math.abs(min), Math.abs(max)) };
}

/** Rows of images with row labels on the left, optional column labels on top, one colorbar per color scale. */
export function imageGrid(rows: ImageRow[], opts: ImageGridOptions): Figure {
  const where = 'imageGrid';
  for (const k of ['width', 'height', 'channels'] as const) {
    const v = opts?.[k];
    if (!Number.isInteger(v) || (v as number) <= 0) fail(where, `opts.${k} must be a positive integer, got ${String(v)}`, `pass opts.${k} (e.g. 28, 28, 1 for MNIST)`);
  }
  if (opts.channels !== 1 && opts.channels !== 3) fail(where, `opts.channels must be 1 or 3, got ${opts.channels}`, 'pass grayscale or RGB images');
  const list = checkNonEmpty<ImageRow>(where, 'rows', rows);
  const images = list.map((r, i) => {
    checkName(where, `rows[${i}].label`, r?.label);
    if (!['image', 'signed', 'heatmap'].includes(r.kind)) fail(where, `row '${r.label}' has kind ${JSON.stringify(r.kind)}`, "use 'image', 'signed' or 'heatmap'");
    const imgs = rowImages(where, r, opts);
    const e = extent(imgs);
    if (r.kind === 'image' && (e.min < -1e-6 || e.max > 1 + 1e-6)) {
      fail(where, `row '${r.label}' is kind 'image' but its values span [${e.min}, ${e.max}]`, "images are in [0, 1] (divide bytes by 255); use kind 'signed' for perturbations or 'heatmap' for saliency");
    }
    return imgs;
  });
  const shared = opts.sharedScale !== false;
  const scaleOf = (kind: ImageKind) => extent(images.filter((_, i) => list[i].kind === kind).flat());
  const sharedExt = { signed: shared ? scaleOf('signed') : undefined, heatmap: shared ? scaleOf('heatmap') : undefined };

  const nRows = list.length;
  const nCols = Math.max(...images.map((im) => im.length));
  if (opts.colLabels && opts.colLabels.length > nCols) fail(where, `${opts.colLabels.length} column labels for ${nCols} columns`, 'give at most one label per column');
  const cell = opts.cellSize ?? 110;
  const margin = { l: 110, r: 90, t: (opts.title ? 40 : 10) + (opts.colLabels ? 25 : 0), b: 10 };
  const gap = 0.08;
  const layout: Record<string, unknown> = {
    ...(opts.title ? { title: { text: opts.title } } : {}),
    width: margin.l + margin.r + nCols * cell,
    height: margin.t + margin.b + nRows * cell,
    margin,
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
    showlegend: false,
    font: { family: 'Arial, sans-serif', size: 12 },
  };
  const annotations: Record<string, unknown>[] = [];
  const data: Record<string, unknown>[] = [];
  const shownScale = new Set<string>();

  list.forEach((row, r) => {
    const ext = row.kind === 'image' ? undefined : (shared ? sharedExt[row.kind] : undefined) ?? extent(images[r]);
    images[r].forEach((img, c) => {
      const idx = r * nCols + c + 1;
      const ax = idx === 1 ? '' : String(idx);
      const x0 = c / nCols;
      const y1 = 1 - r / nRows;
      layout[`xaxis${ax}`] = { domain: [x0 + gap / nCols / 2, x0 + (1 - gap / 2) / nCols], visible: false, anchor: `y${ax}`, range: [-0.5, opts.width - 0.5] };
      layout[`yaxis${ax}`] = { domain: [y1 - (1 - gap / 2) / nRows, y1 - gap / nRows / 2], visible: false, anchor: `x${ax}`, autorange: 'reversed', scaleanchor: `x${ax}` };
      const common = { xaxis: `x${ax}`, yaxis: `y${ax}`, name: `${row.label} ${c}`, hoverinfo: 'x+y+z' };
      if (row.kind === 'image' && opts.channels === 3) {
        data.push({ type: 'image', z: toRgb(img, opts, (v) => v), ...common });
      } else if (row.kind === 'signed' && opts.channels === 3) {
        // Mid-gray is zero; the same scale maps every RGB perturbation of the row (or grid).
        const m = ext!.absMax || 1;
        data.push({ type: 'image', z: toRgb(img, opts, (v) => 0.5 + v / (2 * m)), ...common });
      } else {
        const scaleKey = row.kind === 'image' ? 'image' : shared ? row.kind : `${row.kind}-${r}`;
        const showscale = row.kind !== 'image' && !shownScale.has(scaleKey);
        if (showscale) shownScale.add(scaleKey);
        const range = row.kind === 'image' ? { zmin: 0, zmax: 1 } : row.kind === 'signed' ? { zmin: -(ext!.absMax || 1), zmax: ext!.absMax || 1 } : { zmin: ext!.min, zmax: ext!.max > ext!.min ? ext!.max : ext!.min + 1 };
        data.push({
          type: 'heatmap', z: toGray(img, opts), ...range, ...common,
          colorscale: row.kind === 'image' ? 'Greys' : row.kind === 'signed' ? DIVERGING : SEQUENTIAL,
          showscale,
          ...(showscale ? { colorbar: { len: 0.9 / nRows, y: 1 - (r + 0.5) / nRows, x: 1.01, thickness: 12, title: { text: row.kind === 'signed' ? 'delta' : 'saliency', side: 'right' } } } : {}),
        });
      }
    });
    annotations.push({ text: row.label, xref: 'paper', yref: 'paper', x: 0, y: 1 - (r + 0.5) / nRows, xanchor: 'right', xshift: -8, showarrow: false, align: 'right' });
  });
  (opts.colLabels ?? []).forEach((t, c) => {
    annotations.push({ text: t, xref: 'paper', yref: 'paper', x: (c + 0.5) / nCols, y: 1, yanchor: 'bottom', showarrow: false });
  });
  layout.annotations = annotations;
  return { data, layout };
}
