// A real Jupyter frontend in headless Chromium: Run All on a notebook with two figures and a failing cell, save, reload the
// page, and check what a researcher sees. Debian has no JupyterLab, so this drives the classic Notebook 6 (`jupyter-notebook`,
// which `npm run setup` installs) over the same kernelspec as `npm run lab`; it has no plotly renderer, so every figure must
// draw from the PNG in its own mime bundle, in the reloaded page too (not from an output of an earlier session).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { closeBrowser, withBrowserPage } from '../../lib/report/browser';
import { writeKernelspec } from '../../scripts/jupyter/kernelspec';
import { freePort } from '../helpers';

const root = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(root, 'test', 'fixtures', 'notebooks', 'frontend.ipynb');

function notebookVersion(): string | undefined {
  const r = spawnSync('jupyter', ['notebook', '--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const version = notebookVersion();
const skip = version === undefined
  ? 'optional: the classic Jupyter Notebook is not installed; `npm run setup` as root installs it (or `sudo apt-get install -y jupyter-notebook`)'
  : Number(version.split('.')[0]) >= 7 ? `this test drives the classic Notebook 6 frontend (Debian's jupyter-notebook); found Notebook ${version}` : false;


async function waitForServer(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`jupyter notebook exited (${server.exitCode}):\n${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`jupyter notebook did not answer within 30 s:\n${log()}`);
}

// What the page shows, read from the DOM the classic frontend builds (plain JS: it runs in the page).
const READ_CELLS = `Array.from(document.querySelectorAll('#notebook-container .cell.code_cell')).map(function (c) {
  var imgs = Array.from(c.querySelectorAll('.output_png img'));
  return {
    prompt: (c.querySelector('.input_prompt') || {}).textContent || '',
    images: imgs.map(function (i) { return { complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, shownW: i.getBoundingClientRect().width }; }),
    error: (c.querySelector('.output_error') || {}).textContent || '',
    errorRed: !!c.querySelector('.output_error .ansi-red-fg'),
    stderr: (c.querySelector('.output_stderr') || {}).textContent || '',
    text: (c.querySelector('.output_area') || {}).textContent || '',
  };
})`;

interface CellView { prompt: string; images: { complete: boolean; w: number; h: number; shownW: number }[]; error: string; errorRed: boolean; stderr: string; text: string }

async function openNotebook(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction('window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded', undefined, { timeout: 30_000 });
}

async function cells(page: Page): Promise<CellView[]> {
  // Images decode asynchronously after the outputs are attached.
  await page.waitForFunction(`Array.from(document.querySelectorAll('.output_png img')).every(function (i) { return i.complete; })`, undefined, { timeout: 10_000 });
  return (await page.evaluate(READ_CELLS)) as CellView[];
}

function checkFigures(view: CellView[], when: string): void {
  // Code cells: 0 import, 1 line plot, 2 image grid, 3 failing, 4 after the failure.
  for (const i of [1, 2]) {
    assert.equal(view[i].images.length, 1, `${when}: code cell ${i} shows its figure as an image (${JSON.stringify(view[i])})`);
    const im = view[i].images[0];
    assert.ok(im.complete && im.w > 100 && im.h > 100, `${when}: code cell ${i}'s figure is drawn (${JSON.stringify(im)})`);
    assert.ok(im.shownW <= 1000, `${when}: the figure fits the output area (${im.shownW} px)`);
    assert.doesNotMatch(view[i].text, /not loaded/);
  }
}

function checkError(view: CellView[], when: string): void {
  const failed = view[3];
  assert.match(failed.error, /Error: boom-42/, `${when}: the failing cell shows a Jupyter error output (${JSON.stringify(failed)})`);
  assert.ok(failed.errorRed, `${when}: the error name is red (an error output, not stderr text)`);
  assert.equal(failed.stderr, '', `${when}: no stderr text in the failing cell`);
  assert.doesNotMatch(failed.error, /tslab[\\/]dist|node:vm/, `${when}: no kernel internals in the traceback`);
  assert.match(failed.error, /at <cell>/, `${when}: the traceback ends at the cell`);
  assert.match(failed.prompt, /\[\d+\]/, `${when}: the failing cell ran`);
  assert.doesNotMatch(view[4].prompt, /\[\d+\]|\[\*\]/, `${when}: Run All stopped at the failure (${JSON.stringify(view[4])})`);
  assert.equal(view[4].text, '');
}

test('classic Jupyter Notebook: Run All, save, reload: every figure is drawn, a failing cell is a Jupyter error and stops Run All', { skip, timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-frontend-'));
  // The notebook layout in miniature (nb/lib -> lib, node_modules beside it) so the kernel compiles and resolves as in notebooks/.
  const nbDir = path.join(tmp, 'nb');
  fs.mkdirSync(nbDir);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
  fs.symlinkSync(path.join(root, 'lib'), path.join(nbDir, 'lib'));
  fs.copyFileSync(FIXTURE, path.join(nbDir, 'frontend.ipynb'));
  const jupyterPath = writeKernelspec(path.join(tmp, 'jupyter'));
  const port = await freePort();
  const token = `gradreg-${process.pid}`;
  let log = '';
  // Jupyter's own config, data and runtime folders in tmp: nothing of the user's ~/.jupyter is read or written.
  const env = {
    ...process.env, JUPYTER_PATH: jupyterPath, JUPYTER_CONFIG_DIR: path.join(tmp, 'config'), JUPYTER_DATA_DIR: path.join(tmp, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(tmp, 'runtime'), IPYTHONDIR: path.join(tmp, 'ipython'), GRADREG_PROFILE: 'smoke', GRADREG_QUIET: '1',
    GRADREG_FIGURES_DIR: path.join(tmp, 'figures'),
  };
  const server = spawn('jupyter', ['notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--NotebookApp.token=${token}`,
    `--notebook-dir=${nbDir}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  server.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  server.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(`${base}/api/status?token=${token}`, server, () => log);
    const url = `${base}/notebooks/frontend.ipynb?token=${token}`;
    await withBrowserPage(async (page) => {
      await page.setViewportSize({ width: 1024, height: 900 });
      await openNotebook(page, url);
      await page.waitForFunction('Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()', undefined, { timeout: 60_000 });
      await page.evaluate('Jupyter.notebook.execute_all_cells()');
      // Done when the kernel is idle and no cell waits ("[*]"): the failing cell's error aborts the ones queued after it.
      await page.waitForFunction(`(function () {
        var prompts = Array.from(document.querySelectorAll('.code_cell .input_prompt')).map(function (p) { return p.textContent; });
        return prompts.length > 0 && !prompts.some(function (t) { return t.indexOf('*') >= 0; }) && !Jupyter.notebook.kernel_busy
          && document.querySelector('.code_cell .output_error') !== null;
      })()`, undefined, { timeout: 120_000, polling: 250 });
      const live = await cells(page);
      checkFigures(live, 'after Run All');
      checkError(live, 'after Run All');
      await page.evaluate('Jupyter.notebook.save_notebook()');
      await page.waitForFunction('!Jupyter.notebook.dirty', undefined, { timeout: 10_000 });

      await page.reload();
      await openNotebook(page, url);
      const reloaded = await cells(page);
      checkFigures(reloaded, 'after a reload');
      checkError(reloaded, 'after a reload');
    });

    // The saved file: small (no plotly.js inlined, no html), each figure a plotly bundle with its PNG, the error as an error.
    const saved = path.join(nbDir, 'frontend.ipynb');
    const size = fs.statSync(saved).size;
    assert.ok(size < 300_000, `the executed notebook is ${size} bytes`);
    const nb = JSON.parse(fs.readFileSync(saved, 'utf8')) as { cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string; traceback?: string[] }[] }[] };
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    for (const i of [1, 2]) {
      const d = code[i].outputs!.find((o) => o.output_type === 'display_data')!.data!;
      assert.deepEqual(Object.keys(d).sort(), ['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
    }
    const err = code[3].outputs!.find((o) => o.output_type === 'error')!;
    assert.equal(err.ename, 'Error');
    assert.equal(err.evalue, 'boom-42');
    assert.deepEqual(code[4].outputs, []);

    // The interactive part as JupyterLab's plotly renderer gets it (Plotly.newPlot(data, layout, config)), in a page with
    // nothing else: every trace drawn, and the figure as wide as its container.
    const plotlyJs = require.resolve('plotly.js-dist-min');
    for (const i of [1, 2]) {
      const spec = code[i].outputs!.find((o) => o.output_type === 'display_data')!.data!['application/vnd.plotly.v1+json'] as { data: unknown[]; layout: unknown; config: unknown };
      const drawn = await withBrowserPage(async (page) => {
        await page.setContent('<html><body style="margin:0"><div id="out" style="width:600px"></div></body></html>');
        await page.addScriptTag({ path: plotlyJs });
        return page.evaluate(`(async function (s) {
          var el = document.getElementById('out');
          await Plotly.newPlot(el, s.data, s.layout, s.config);
          return { traces: el.querySelectorAll('.trace, .hm, image').length, width: el.querySelector('.main-svg').getBoundingClientRect().width };
        })(${JSON.stringify(spec)})`) as Promise<{ traces: number; width: number }>;
      });
      assert.ok(drawn.traces >= 1, `plotly bundle ${i} draws its traces (${JSON.stringify(drawn)})`);
      assert.equal(Math.round(drawn.width), 600, 'the interactive figure takes the output width');
    }
  } catch (e) {
    (e as Error).message += `\n--- jupyter notebook log (tail) ---\n${log.split('\n').slice(-30).join('\n')}`;
    throw e;
  } finally {
    try { process.kill(-server.pid!, 'SIGTERM'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(-server.pid!, 'SIGKILL'); } catch { /* gone */ }
    await closeBrowser();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
