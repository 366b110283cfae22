// Display outside a kernel (plain-text fallbacks, nothing of tslab loaded) and inside a real tslab kernel (mime bundles, in-place progress).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KernelSession } from '../../scripts/jupyter/kernel-client';
import { displayBundle, inNotebook, show, showImage, showTable } from '../../lib/report/display';
import { accuracyVsEps } from '../../lib/report/figures';

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

test('outside a kernel: show prints a one-line note, showTable prints Markdown, nothing of tslab gets loaded', () => {
  assert.equal(inNotebook(), false);
  assert.equal(displayBundle({ 'text/plain': 'x' }), false);
  const note = captureLog(() => show(fig));
  assert.equal(note.split('\n').length, 1);
  assert.match(note, /figure: MNIST, 1 traces/);
  const md = captureLog(() => showTable([{ method: 'ce', acc: 0.98765 }], { caption: 'results' }));
  assert.match(md, /^results\n\n\| method \| acc \|\n\| --- \| ---: \|\n\| ce \| 0\.988 \|$/);
  assert.ok(!Object.keys(require.cache).some((k) => /[\\/]tslab[\\/]/.test(k)), 'tslab (and zeromq) must not load outside a kernel');
  assert.throws(() => showImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /expected PNG bytes/);
  assert.throws(() => show({} as typeof fig), /expected a figure/);
});

test('inside a tslab kernel: figures as plotly bundle + html (plotly.js inlined once), tables as html, progress updated in place', async () => {
  const k = await KernelSession.start({ cwd: path.join(root, 'notebooks'), env: { GRADREG_QUIET: '0' } });
  try {
    const setup = await k.execute('import * as rep from "./lib/report/index";\nconsole.log("nb=" + rep.inNotebook());');
    assert.equal(setup.status, 'ok', setup.errorText);
    assert.match(JSON.stringify(setup.outputs), /nb=true/);

    const spec = 'rep.accuracyVsEps([{ name: "ce", eps: [0, 0.1], acc: [0.9876, 0.1234] }], { title: "MNIST" })';
    const shown = await k.execute(`rep.show(${spec});\nrep.show(${spec});`);
    assert.equal(shown.status, 'ok', shown.errorText);
    const displays = shown.outputs.filter((o) => o.output_type === 'display_data') as unknown as { data: Record<string, unknown> }[];
    assert.equal(displays.length, 2);
    for (const d of displays) {
      const plotly = d.data['application/vnd.plotly.v1+json'] as { data: { y: number[] }[] };
      assert.deepEqual(plotly.data[0].y, [0.9876, 0.1234]);
      assert.match(String(d.data['text/html']), /0\.1234/);
    }
    const html0 = String(displays[0].data['text/html']);
    const html1 = String(displays[1].data['text/html']);
    assert.ok(html0.length > 3_000_000 && /plotly\.js v\d/.test(html0), 'the first figure carries plotly.js');
    assert.ok(html1.length < 20_000, `later figures do not repeat plotly.js (${html1.length} chars)`);

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
