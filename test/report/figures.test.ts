// Figure spec builders: the data lands where plotly expects it, and bad input is refused with a named field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { accuracyVsEps, barChart, cleanVsRobust, lambdaSweep, paretoFront, trainingCurves } from '../../lib/report/figures';
import { imageGrid } from '../../lib/report/image-grid';

type Trace = Record<string, unknown> & { x?: unknown[]; y?: unknown[]; z?: unknown };

test('accuracyVsEps: one line per method, a +-std band clipped to [0, 1] in the same color, percent option', () => {
  const fig = accuracyVsEps([
    { name: 'ce', eps: [0, 0.1, 0.3], acc: [0.99, 0.5, 0.01] },
    { name: 'gp', eps: [0, 0.1, 0.3], acc: [0.98, 0.7, 0.02], accStd: [0.05, 0.1, 0.05] },
  ]);
  const traces = fig.data as Trace[];
  const lines = traces.filter((t) => t.mode === 'lines+markers');
  assert.deepEqual(lines.map((t) => t.name), ['ce', 'gp']);
  assert.deepEqual(lines[1].y, [0.98, 0.7, 0.02]);
  const band = traces.find((t) => t.fill === 'toself')!;
  assert.deepEqual(band.x, [0, 0.1, 0.3, 0.3, 0.1, 0]);
  const y = band.y as number[];
  assert.deepEqual(y.map((v) => Math.round(v * 1000) / 1000), [1, 0.8, 0.07, 0, 0.6, 0.93], 'upper clipped at 1, lower clipped at 0');
  assert.equal((band.line as { color: string }).color, (lines[1].line as { color: string }).color);
  const unsorted = accuracyVsEps([{ name: 'u', eps: [0.3, 0, 0.1], acc: [0.01, 0.99, 0.5], accStd: [0.03, 0.01, 0.02] }]);
  assert.deepEqual((unsorted.data[1] as Trace).x, [0, 0.1, 0.3], 'points sorted by eps');
  assert.deepEqual((unsorted.data[1] as Trace).y, [0.99, 0.5, 0.01]);
  const pct = accuracyVsEps([{ name: 'ce', eps: [0, 0.1], acc: [0.5, 0.25] }], { percent: true });
  assert.deepEqual((pct.data[0] as Trace).y, [50, 25]);
});

test('accuracyVsEps refuses mismatched lengths, percentages and NaN, naming the field', () => {
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0, 0.1], acc: [0.9] }]), /ce\.acc has 1 values but 2 were expected/);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0, 0.1], acc: [99, 50] }]), /ce\.acc\[0\] = 99 is above 1.*divide percentages by 100/);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0, NaN], acc: [0.9, 0.5] }]), /ce\.eps\[1\] is NaN/);
  assert.throws(() => accuracyVsEps([]), /series must be a non-empty array/);
  assert.throws(() => accuracyVsEps([{ name: '', eps: [0], acc: [1] }]), /series\[0\]\.name must be a non-empty string/);
});

test('paretoFront keeps exactly the non-dominated points; cleanVsRobust draws it and groups points', () => {
  const pts = [
    { name: 'a', clean: 0.99, robust: 0.01, group: 'ce' },
    { name: 'b', clean: 0.95, robust: 0.5, group: 'gp' },
    { name: 'c', clean: 0.9, robust: 0.4, group: 'gp' },
    { name: 'd', clean: 0.97, robust: 0.6, group: 'at' },
    { name: 'e', clean: 0.97, robust: 0.6, group: 'at' },
  ];
  assert.deepEqual(paretoFront(pts).map((p) => p.name), ['d', 'e', 'a']);
  const fig = cleanVsRobust(pts);
  const traces = fig.data as Trace[];
  assert.deepEqual(traces.map((t) => t.name), ['ce', 'gp', 'at', 'Pareto front']);
  assert.deepEqual(traces[1].text, ['b', 'c']);
  assert.deepEqual(traces[3].x, [0.97, 0.97, 0.99]);
  assert.throws(() => cleanVsRobust([{ name: 'x', clean: 1.5, robust: 0 }]), /x\.clean\/robust\[0\] = 1\.5 is above 1/);
});

test('lambdaSweep: clean solid and robust dashed sorted by lambda, error bars, reported stars, log axis rules', () => {
  const fig = lambdaSweep({ name: 'gp', lambda: [10, 0.1, 1], clean: [0.9, 0.99, 0.95], robust: [0.5, 0.1, 0.3], robustStd: [0.05, 0.01, 0.03] }, {
    reported: [{ lambda: 1, robust: 0.35, label: 'paper' }],
  });
  const traces = fig.data as Trace[];
  assert.deepEqual(traces.map((t) => t.name), ['gp clean', 'gp robust', 'paper robust']);
  assert.deepEqual(traces[0].x, [0.1, 1, 10]);
  assert.deepEqual(traces[0].y, [0.99, 0.95, 0.9]);
  assert.deepEqual((traces[1].error_y as { array: number[] }).array, [0.01, 0.03, 0.05]);
  assert.equal(traces[0].error_y, undefined);
  assert.deepEqual([traces[2].x, traces[2].y], [[1], [0.35]]);
  assert.equal(((fig.layout.xaxis as Record<string, unknown>).type), 'log', 'auto log when lambdas span > 10x');
  const lin = lambdaSweep({ lambda: [0, 1, 2], clean: [1, 1, 1], robust: [0, 0, 0] });
  assert.equal((lin.layout.xaxis as Record<string, unknown>).type, undefined);
  assert.throws(() => lambdaSweep({ lambda: [0, 1], clean: [1, 1], robust: [0, 0] }, { logX: true }), /logX is on but a lambda is 0/);
  assert.throws(() => lambdaSweep({ lambda: [1, 2], clean: [1], robust: [0, 0] }), /clean has 1 values but 2 were expected/);
});

test('trainingCurves: one panel per metric, a run keeps its color, unknown metrics list what exists', () => {
  const runs = [
    { name: 'ce', history: [{ epoch: 1, loss: 2, acc: 0.5 }, { epoch: 2, loss: 1, acc: 0.8 }] },
    { name: 'gp', history: [{ epoch: 1, loss: 3, acc: 0.4, penalty: 0.2 }, { epoch: 2, loss: 2, acc: 0.7, penalty: 0.1 }] },
  ];
  const fig = trainingCurves(runs, ['loss', 'penalty']);
  const traces = fig.data as Trace[];
  assert.equal(traces.length, 4);
  assert.deepEqual(traces.map((t) => [t.name, t.yaxis]), [['ce', 'y'], ['gp', 'y'], ['ce', 'y2'], ['gp', 'y2']]);
  assert.deepEqual(traces[3].y, [0.2, 0.1]);
  assert.deepEqual(traces[2].y, [], 'a run without the metric draws nothing in that panel');
  assert.equal((traces[0].line as { color: string }).color, (traces[2].line as { color: string }).color);
  assert.ok('yaxis2' in fig.layout && !('yaxis3' in fig.layout));
  const single = trainingCurves([{ epoch: 1, loss: 1 }, { epoch: 2, loss: 0.5 }], ['loss']);
  assert.deepEqual((single.data[0] as Trace).y, [1, 0.5]);
  assert.throws(() => trainingCurves(runs, ['los']), /metric 'los' is in no history; pick from: loss, acc, penalty/);
});

test('barChart: one trace per bar name across groups, error bars where given, gaps where missing', () => {
  const fig = barChart([
    { name: 'ce', bars: [{ name: 'FGSM', value: 0.3, error: 0.02 }, { name: 'PGD', value: 0.01 }] },
    { name: 'gp', bars: [{ name: 'PGD', value: 0.4, error: 0.05 }] },
  ]);
  const traces = fig.data as Trace[];
  assert.deepEqual(traces.map((t) => t.name), ['FGSM', 'PGD']);
  assert.deepEqual(traces[0].y, [0.3, null]);
  assert.deepEqual(traces[1].y, [0.01, 0.4]);
  assert.deepEqual((traces[1].error_y as { array: number[] }).array, [0, 0.05]);
  assert.equal(fig.layout.barmode, 'group');
  assert.throws(() => barChart([{ name: 'ce', bars: [{ name: 'FGSM', value: 0.3, error: -1 }] }]), /ce\.FGSM\.error\[0\] = -1 is below 0/);
});

test('imageGrid: heatmap z in rows, shared symmetric scale for signed rows, RGB as image traces, tensors read without disposal', () => {
  const a = new Float32Array([0, 0.25, 0.5, 1]);
  const d1 = new Float32Array([-0.1, 0, 0.05, 0.02]);
  const d2 = new Float32Array([0.3, 0, 0, 0]);
  const fig = imageGrid([
    { label: 'x', kind: 'image', images: [a] },
    { label: 'delta 1', kind: 'signed', images: [d1] },
    { label: 'delta 2', kind: 'signed', images: [d2] },
  ], { width: 2, height: 2, channels: 1 });
  const traces = fig.data as Trace[];
  assert.deepEqual(traces[0].z, [[0, 0.25], [0.5, 1]]);
  assert.deepEqual([traces[0].zmin, traces[0].zmax], [0, 1]);
  for (const t of traces.slice(1)) assert.deepEqual([Math.round((t.zmin as number) * 1e6), Math.round((t.zmax as number) * 1e6)], [-300000, 300000], 'shared, centered at 0');
  assert.deepEqual(traces.map((t) => t.showscale), [false, true, false], 'one colorbar per shared scale');
  const own = imageGrid([{ label: 'd', kind: 'signed', images: [d1] }, { label: 'e', kind: 'signed', images: [d2] }], { width: 2, height: 2, channels: 1, sharedScale: false });
  assert.deepEqual((own.data as Trace[]).map((t) => Math.round((t.zmax as number) * 1e6)), [100000, 300000]);

  const t = tf.tensor4d([0, 0.5, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0.2, 0.4, 0.6, 0, 0, 0, 0, 0, 0], [2, 2, 2, 3]);
  const rgb = imageGrid([{ label: 'rgb', kind: 'image', images: t }], { width: 2, height: 2, channels: 3, colLabels: ['first', 'second'] });
  assert.equal(t.isDisposed, false);
  t.dispose();
  const rt = rgb.data as Trace[];
  assert.equal(rt.length, 2);
  assert.equal(rt[0].type, 'image');
  assert.deepEqual((rt[0].z as number[][][])[0], [[0, 128, 255], [255, 0, 0]]);
  assert.deepEqual((rt[1].z as number[][][])[0][1], [51, 102, 153]);
  assert.ok(JSON.stringify(rgb.layout.annotations).includes('second'));
});

test('imageGrid refuses wrong sizes, kinds and non-finite pixels, naming the row', () => {
  const ok = new Float32Array(4);
  assert.throws(() => imageGrid([{ label: 'x', kind: 'image', images: [new Float32Array(3)] }], { width: 2, height: 2, channels: 1 }), /row 'x' image 0 has 3 values, expected 4/);
  assert.throws(() => imageGrid([{ label: 'x', kind: 'sal' as 'image', images: [ok] }], { width: 2, height: 2, channels: 1 }), /row 'x' has kind "sal"/);
  assert.throws(() => imageGrid([{ label: 'x', kind: 'heatmap', images: [new Float32Array([0, NaN, 0, 0])] }], { width: 2, height: 2, channels: 1 }), /NaN/);
  assert.throws(() => imageGrid([{ label: 'x', kind: 'image', images: [ok] }], { width: 2, height: 2, channels: 2 }), /channels must be 1 or 3/);
  assert.throws(() => imageGrid([{ label: 'bytes', kind: 'image', images: [new Float32Array([0, 255, 3, 4])] }], { width: 2, height: 2, channels: 1 }), /row 'bytes' is kind 'image' but its values span \[0, 255\].*divide bytes by 255/);
  const t = tf.zeros([1, 3, 3, 1]) as tf.Tensor4D;
  assert.throws(() => imageGrid([{ label: 't', kind: 'image', images: t }], { width: 2, height: 2, channels: 1 }), /row 't' tensor has shape \[1, 3, 3, 1\], expected \[n, 2, 2, 1\]/);
  t.dispose();
});

test('intervals: accuracyVsEps error bars (or a band), sorted with the points and scaled to percent; calls without them unchanged', () => {
  const plain = accuracyVsEps([{ name: 'ce', eps: [0.1, 0], acc: [0.5, 0.9] }]);
  assert.equal((plain.data[0] as Trace).error_y, undefined, 'no interval, no error bars');
  const fig = accuracyVsEps([{ name: 'ce', eps: [0.1, 0], acc: [0.5, 0.9], lo: [0.4, 0.85], hi: [0.62, 0.93] }], { percent: true });
  const line = fig.data[0] as Trace;
  const err = line.error_y as { array: number[]; arrayminus: number[]; symmetric: boolean; type: string };
  assert.equal(err.type, 'data');
  assert.equal(err.symmetric, false);
  assert.deepEqual(err.array.map((v) => Math.round(v * 1e9) / 1e9), [3, 12], 'upper lengths follow the eps order, in percent');
  assert.deepEqual(err.arrayminus.map((v) => Math.round(v * 1e9) / 1e9), [5, 10]);
  const banded = accuracyVsEps([{ name: 'ce', eps: [0.1, 0], acc: [0.5, 0.9], lo: [0.4, 0.85], hi: [0.62, 0.93] }], { intervals: 'band' });
  const b = banded.data[0] as Trace;
  assert.equal(b.fill, 'toself');
  assert.deepEqual(b.x, [0, 0.1, 0.1, 0]);
  assert.deepEqual(b.y, [0.93, 0.62, 0.4, 0.85]);
  assert.equal((banded.data[1] as Trace).error_y, undefined);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0], acc: [0.5], lo: [0.6], hi: [0.7] }]), /ce\.acc\[0\] = 0\.5 lies outside its interval \[0\.6, 0\.7\]/);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0], acc: [0.5], lo: [0.4] }]), /lo but no hi/);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0, 1], acc: [0.5, 0.1], lo: [0.4], hi: [0.6, 0.2] }]), /ce\.lo has 1 values but 2 were expected/);
  assert.throws(() => accuracyVsEps([{ name: 'ce', eps: [0], acc: [0.5], accStd: [0.1], lo: [0.4], hi: [0.6] }]), /both accStd and lo\/hi/);
});

test('intervals: lambdaSweep, cleanVsRobust and barChart draw asymmetric error bars where given', () => {
  const sweep = lambdaSweep({ name: 'gp', lambda: [10, 1], clean: [0.9, 0.95], robust: [0.5, 0.3], robustLo: [0.45, 0.2], robustHi: [0.6, 0.35] });
  const [clean, robust] = sweep.data as Trace[];
  assert.equal(clean.error_y, undefined);
  const e = robust.error_y as { array: number[]; arrayminus: number[] };
  assert.deepEqual(e.array.map((v) => Math.round(v * 1e9) / 1e9), [0.05, 0.1], 'sorted by lambda: 1 then 10');
  assert.deepEqual(e.arrayminus.map((v) => Math.round(v * 1e9) / 1e9), [0.1, 0.05]);
  assert.throws(() => lambdaSweep({ lambda: [1], clean: [1], robust: [0.5], robustStd: [0.1], robustLo: [0.4], robustHi: [0.6] }), /both robustStd and robustLo\/robustHi/);

  const cvr = cleanVsRobust([
    { name: 'a', clean: 0.9, robust: 0.1, group: 'g', cleanLo: 0.88, cleanHi: 0.93, robustLo: 0.05, robustHi: 0.2 },
    { name: 'b', clean: 0.8, robust: 0.3, group: 'g', cleanLo: 0.75, cleanHi: 0.84, robustLo: 0.25, robustHi: 0.36 },
    { name: 'c', clean: 0.7, robust: 0.4 },
  ]);
  const [g, c] = cvr.data as Trace[];
  assert.deepEqual((g.error_x as { array: number[] }).array.map((v) => Math.round(v * 1e9) / 1e9), [0.03, 0.04]);
  assert.deepEqual((g.error_y as { arrayminus: number[] }).arrayminus.map((v) => Math.round(v * 1e9) / 1e9), [0.05, 0.05]);
  assert.equal(c.error_x, undefined);
  assert.throws(() => cleanVsRobust([{ name: 'a', clean: 0.9, robust: 0.1, group: 'g', robustLo: 0, robustHi: 0.2 }, { name: 'b', clean: 0.8, robust: 0.3, group: 'g' }]), /only 1 of the 2 points of group 'g' have a robust interval/);

  const bars = barChart([
    { name: 'ce', bars: [{ name: 'pgd', value: 0.1, lo: 0.05, hi: 0.18 }, { name: 'fgsm', value: 0.3, error: 0.02 }] },
    { name: 'gp', bars: [{ name: 'pgd', value: 0.4, lo: 0.33, hi: 0.47 }] },
  ]);
  const [pgd, fgsm] = bars.data as Trace[];
  assert.deepEqual((pgd.error_y as { array: number[] }).array.map((v) => Math.round(v * 1e9) / 1e9), [0.08, 0.07]);
  assert.deepEqual((pgd.error_y as { arrayminus: number[] }).arrayminus.map((v) => Math.round(v * 1e9) / 1e9), [0.05, 0.07]);
  assert.deepEqual((fgsm.error_y as { array: number[] }).array, [0.02, 0], 'symmetric error unchanged');
  assert.throws(() => barChart([{ name: 'ce', bars: [{ name: 'pgd', value: 0.1, lo: 0.05, hi: 0.18 }] }, { name: 'gp', bars: [{ name: 'pgd', value: 0.4 }] }]), /only 1 of the 2 'pgd' bars have lo\/hi/);
  assert.throws(() => barChart([{ name: 'ce', bars: [{ name: 'pgd', value: 0.1, error: 0.1, lo: 0.05, hi: 0.18 }] }]), /both error and lo\/hi/);
});

test('accuracyVsEps and trainingCurves: one colour per group (method), dash per series (architecture)', () => {
  type Trace = { name?: string; line?: { color: string; dash: string }; showlegend?: boolean };
  const fig = accuracyVsEps([
    { name: 'mlp Standard', group: 'Standard', dash: 'solid', eps: [0, 0.1], acc: [0.9, 0.1] },
    { name: 'mlp p=2', group: 'p=2', dash: 'solid', eps: [0, 0.1], acc: [0.9, 0.2] },
    { name: 'maxout Standard', group: 'Standard', dash: 'dash', eps: [0, 0.1], acc: [0.9, 0.1] },
  ]);
  const lines = (fig.data as Trace[]).filter((t) => t.line);
  assert.equal(lines[0].line!.color, lines[2].line!.color, 'same method, same colour');
  assert.notEqual(lines[0].line!.color, lines[1].line!.color);
  assert.deepEqual(lines.map((t) => t.line!.dash), ['solid', 'solid', 'dash']);
  const h = [{ epoch: 1, loss: 1 }, { epoch: 2, loss: 0.5 }];
  const tc = trainingCurves([{ name: 'a', group: 'g', history: h }, { name: 'b', group: 'g', dash: 'dot', history: h }], ['loss']);
  const tl = tc.data as Trace[];
  assert.equal(tl[0].line!.color, tl[1].line!.color);
  assert.equal(tl[1].line!.dash, 'dot');
});
