// Robustness against training cost: one labelled point per trained model, x = wall seconds per training epoch (the trainer's
// history, gr.secondsPerEpoch), y = robust accuracy with its interval. For methods sold on cost (single-step adversarial
// training, Adv-GSCT: "no multi-step adversarial example generation"), a defense is only cheaper if it lies LEFT of the
// multi-step one at a similar height. Pure function: validated input -> plotly JSON.
import { axis, baseLayout, checkName, checkNonEmpty, checkNumbers, colorAt, fail, type Figure } from './figure';

export interface CostPoint {
  name: string;
  /** Mean wall seconds per training epoch (> 0). */
  secondsPerEpoch: number;
  /** Robust accuracy, a fraction. */
  robust: number;
  /** Its interval (e.g. Wilson 95%): both or neither. */
  lo?: number;
  hi?: number;
  /** Points of one group share a color and a legend entry (default: the point's name). */
  group?: string;
}

export function robustnessVsCost(points: CostPoint[], opts: { title?: string; robustLabel?: string; logX?: boolean } = {}): Figure {
  const where = 'robustnessVsCost';
  checkNonEmpty<CostPoint>(where, 'points', points).forEach((p, i) => {
    checkName(where, `points[${i}].name`, p?.name);
    checkNumbers(where, `${p.name}.robust`, [p.robust], { min: 0, max: 1 });
    checkNumbers(where, `${p.name}.secondsPerEpoch`, [p.secondsPerEpoch], { min: 0 });
    if (!(p.secondsPerEpoch > 0)) fail(where, `${p.name}.secondsPerEpoch is 0`, 'give the mean wall seconds of a training epoch (gr.secondsPerEpoch(result))');
    if ((p.lo === undefined) !== (p.hi === undefined)) fail(where, `${p.name} has only one end of its interval`, 'give both lo and hi, or neither');
    if (p.lo !== undefined && p.hi !== undefined) {
      checkNumbers(where, `${p.name}.lo/hi`, [p.lo, p.hi], { min: 0, max: 1 });
      if (p.lo > p.robust + 1e-9 || p.hi < p.robust - 1e-9) fail(where, `${p.name}.robust = ${p.robust} lies outside [${p.lo}, ${p.hi}]`, 'give lo <= robust <= hi');
    }
  });
  const groups = [...new Set(points.map((p) => p.group ?? p.name))];
  const data = groups.map((g, i) => {
    const ps = points.filter((p) => (p.group ?? p.name) === g);
    const color = colorAt(i);
    const withCi = ps.every((p) => p.lo !== undefined);
    return {
      type: 'scatter', mode: 'markers+text', name: g, x: ps.map((p) => p.secondsPerEpoch), y: ps.map((p) => p.robust),
      text: ps.map((p) => p.name), textposition: 'top center', marker: { color, size: 11 },
      ...(withCi ? { error_y: { type: 'data', symmetric: false, array: ps.map((p) => p.hi! - p.robust), arrayminus: ps.map((p) => p.robust - p.lo!), visible: true, color, thickness: 1.5, width: 4 } } : {}),
      hovertemplate: '%{text}<br>%{x:.2f} s / epoch<br>robust %{y:.3f}<extra></extra>',
    };
  });
  return {
    data,
    layout: baseLayout(opts.title, {
      // Room on the right for the rightmost point's label (plotly does not widen the axis for text).
      xaxis: axis('training seconds per epoch', opts.logX ? { type: 'log' } : { range: [0, 1.2 * Math.max(...points.map((p) => p.secondsPerEpoch))] }),
      yaxis: axis(opts.robustLabel ?? 'robust accuracy', { range: [0, 1.02] }),
      legend: { x: 1.02, y: 1, xanchor: 'left' },
    }),
  };
}
