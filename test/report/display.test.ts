// Display outside a kernel (plain-text fallbacks, nothing of tslab loaded) and inside a real tslab kernel (mime bundles, in-place progress).
// The frontend side (figures drawn after a save and reload, errors) is test/runner/frontend.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KernelSession } from '../../scripts/jupyter/kernel-client';
import { displayBundle, inNotebook, show, showImage, showTable } from '../../lib/report/display';
import { accuracyVsEps, trainingCurves } from '../../lib/report/figures';
import { LEGEND_BELOW_AFTER, notebookFigure } from '../../lib/report/figure';
import { imageGrid } from '../../lib/report/image-grid';

const root = path.resolve(__dirname, '..', '..');

function captureLog(fn: () => void): string {
  const orig = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => { lines.push(a.map(String).join(' ')); };
  try {
    fn();
  } finally {
    console.log = orig;
  }
  return lines.join('\n');
}

const fig = accuracyVsEps([{ name: 'ce', eps: [0, 0.1], acc: [0.9876, 0.1234] }], { title: 'MNIST' });

test('outside a kernel: show prints a one-line note, showTable prints Markdown, nothing of tslab gets loaded', async () => {
  assert.equal(inNotebook(), false);
  assert.equal(displayBundle({ 'text/plain': 'x' }), false);
  let shown: Promise<void> | undefined;
  const note = captureLog(() => { shown = show(fig); });
  await shown;
  assert.equal(note.split('\n').length, 1);
  assert.match(note, /figure: MNIST, 1 traces/);
  const md = captureLog(() => showTable([{ method: 'ce', acc: 0.98765 }], { caption: 'results' }));
  assert.match(md, /^results\n\n\| method \| acc \|\n\| --- \| ---: \|\n\| ce \| 0\.988 \|$/);
  assert.ok(!Object.keys(require.cache).some((k) => /[\\/]tslab[\\/]/.test(k)), 'tslab (and zeromq) must not load outside a kernel');
  assert.throws(() => showImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /expected PNG bytes/);
  await assert.rejects(() => show({} as typeof fig), /expected a figure/);
});

test('notebookFigure: no fixed width (fits the output), height kept, legend below past a few entries; files keep their layout', () => {
  const few = notebookFigure(fig);
  assert.equal(few.layout.width, undefined);
  assert.equal(few.layout.autosize, true);
  assert.equal((few.layout.legend as { orientation?: string }).orientation, undefined, 'one series: legend where it was');
  const runs = Array.from({ length: LEGEND_BELOW_AFTER + 2 }, (_, i) => ({ name: `run ${i}`, history: [{ epoch: 1, loss: 1 }, { epoch: 2, loss: 0.5 }] }));
  const many = trainingCurves(runs, ['loss']);
  const nb = notebookFigure({ ...many, layout: { ...many.layout, width: 1200 } });
  const legend = nb.layout.legend as { orientation: string; y: number; yanchor: string; yref: string };
  assert.deepEqual([legend.orientation, legend.y, legend.yanchor, legend.yref], ['h', 0, 'bottom', 'container'], 'at the bottom edge, below the plot');
  assert.ok((nb.layout.height as number) > (many.layout.height as number), 'grows by the legend rows');
  assert.equal(nb.layout.width, undefined);
  assert.equal(many.layout.legend && (many.layout.legend as { orientation?: string }).orientation, undefined, 'the input figure is not modified');
  // Image grids: square pixels (scale-anchored axes), so without a fixed width they shrink rather than scroll.
  const grid = notebookFigure(imageGrid([{ label: 'x', images: [Float32Array.from([0.1, 0.123456789, 1 / 3, 1])], kind: 'image' }], { width: 2, height: 2, channels: 1 }));
  assert.deepEqual(grid.data[0].z, [[0.1, 0.1235], [0.3333, 1]], 'pixel values to 4 significant digits (a saved notebook keeps each one)');
  assert.equal(grid.layout.width, undefined);
  assert.equal((grid.layout.yaxis as { scaleanchor?: string }).scaleanchor, 'x');
});

test('inside a tslab kernel: figures as plotly bundle + PNG fallback (no html, no plotly.js), tables as html, progress updated in place', async () => {
  const k = await KernelSession.start({ cwd: path.join(root, 'notebooks'), env: { GRADREG_QUIET: '0' } });
  try {
    const setup = await k.execute('import * as rep from "./lib/report/index";\nconsole.log("nb=" + rep.inNotebook());');
    assert.equal(setup.status, 'ok', setup.errorText);
    assert.match(JSON.stringify(setup.outputs), /nb=true/);

    const spec = 'rep.accuracyVsEps([{ name: "ce", eps: [0, 0.1], acc: [0.9876, 0.1234] }], { title: "MNIST" })';
    // The second show is not awaited: it still lands in its own cell (the writer is taken when show is called) once awaited below.
    const shown = await k.execute(`await rep.show(${spec});\nconst late = rep.show(${spec});\nawait late;`);
    assert.equal(shown.status, 'ok', shown.errorText);
    const displays = shown.outputs.filter((o) => o.output_type === 'display_data') as unknown as { data: Record<string, unknown> }[];
    assert.equal(displays.length, 2);
    for (const d of displays) {
      assert.deepEqual(Object.keys(d.data).sort(), ['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
      const plotly = d.data['application/vnd.plotly.v1+json'] as { data: { y: number[] }[]; layout: Record<string, unknown> };
      assert.deepEqual(plotly.data[0].y, [0.9876, 0.1234]);
      assert.equal(plotly.layout.width, undefined, 'sized to the output width');
      const png = Buffer.from(String(d.data['image/png']), 'base64');
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
      assert.ok(png.readUInt32BE(16) >= 400, `the PNG has a readable width (${png.readUInt32BE(16)} px)`);
      const size = JSON.stringify(d.data).length;
      assert.ok(size < 150_000, `a figure's output is small (${size} chars): no plotly.js inlined`);
    }

    const table = await k.execute('rep.showTable([{ method: "ce", acc: 0.98765 }]);');
    const tdata = (table.outputs.find((o) => o.output_type === 'display_data') as unknown as { data: Record<string, string> }).data;
    assert.match(tdata['text/html'], /<table[^>]*>.*<td[^>]*>0\.988<\/td>/);

    const prog = await k.execute('const p = rep.progress(3, "steps", { minIntervalMs: 0 });\nfor (let i = 0; i < 3; i++) p.tick(1, "i=" + i);\np.done("finished");');
    assert.equal(prog.status, 'ok', prog.errorText);
    const bars = prog.outputs.filter((o) => o.output_type === 'display_data') as unknown as { data: Record<string, string> }[];
    assert.equal(bars.length, 1, 'one display, updated in place');
    assert.match(bars[0].data['text/plain'], /^steps █+ 3\/3 \(100%\) [\d.]+s finished$/);
    assert.match(bars[0].data['text/html'], /<progress value="1" max="1"/);
    assert.ok(!prog.outputs.some((o) => o.output_type === 'stream' && o.name === 'stderr'), 'no terminal bar inside the notebook');
  } finally {
    await k.close();
  }
});
