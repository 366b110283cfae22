// Figures on disk through headless chromium: which browser (GRADREG_CHROMIUM, system, npm), then one launch for the rest of the file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accuracyVsEps, imageGrid } from '../../lib/report/figures';
import { browserInfo, browserOpen, chromiumCandidates, closeBrowser, launchFailure, systemChromiums, withBrowserPage } from '../../lib/report/browser';
import { saveFigure } from '../../lib/report/output';
import { decodePng, pixelAt, pixelVariance } from './png';
import { assertWellFormedXml } from './xml';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-figs-'));
const savedEnv = { dir: process.env.GRADREG_FIGURES_DIR };

before(() => {
  delete process.env.GRADREG_NOTEBOOK;
  process.env.GRADREG_FIGURES_DIR = root;
});
after(async () => {
  await closeBrowser();
  process.env.GRADREG_FIGURES_DIR = savedEnv.dir;
  if (savedEnv.dir === undefined) delete process.env.GRADREG_FIGURES_DIR;
  fs.rmSync(root, { recursive: true, force: true });
});

const curves = accuracyVsEps([
  { name: 'cross-entropy', eps: [0, 0.1, 0.2, 0.3], acc: [0.991, 0.4321, 0.0512, 0.0007] },
  { name: 'input-gradient', eps: [0, 0.1, 0.2, 0.3], acc: [0.987, 0.7654, 0.3141, 0.0123], accStd: [0.002, 0.011, 0.02, 0.004] },
], { title: 'MNIST, Linf PGD' });

/** Runs fn with env vars set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) { if (x === undefined) delete process.env[k]; else process.env[k] = x; }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

function fakeBrowserDir(script: string): string {
  const dir = fs.mkdtempSync(path.join(root, 'bin-'));
  fs.writeFileSync(path.join(dir, 'chromium'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return dir;
}

test('GRADREG_CHROMIUM pointing nowhere is an error naming it and the fix (no silent fallback), and writes nothing', async () => {
  await withEnv({ GRADREG_CHROMIUM: path.join(root, 'no-such-chromium') }, async () => {
    await closeBrowser();
    await assert.rejects(saveFigure(curves, 'nb-missing', 'acc', { formats: ['png'] }), (e: Error) => {
      assert.match(e.message, /no-such-chromium \(GRADREG_CHROMIUM\) failed: not found/);
      assert.match(e.message, /unset GRADREG_CHROMIUM/);
      assert.match(e.message, /npm ci/);
      return true;
    });
    assert.equal(fs.existsSync(path.join(root, 'nb-missing')), false);
    assert.equal(browserOpen(), false, 'a failed launch must not be cached');
  });
});

test('browser order: GRADREG_CHROMIUM alone, else system browsers on PATH, then the npm one; GRADREG_IGNORE_SYSTEM=1 hides the system', () => {
  const dir = fakeBrowserDir('exit 0');
  const npm = path.join('node_modules', '.cache', 'gradreg', 'chromium-');
  assert.deepEqual(chromiumCandidates({ GRADREG_CHROMIUM: '/opt/c', PATH: dir }), [{ source: 'GRADREG_CHROMIUM', path: '/opt/c' }]);
  const both = chromiumCandidates({ PATH: dir });
  assert.deepEqual(both.map((c) => c.source), ['system', 'npm']);
  assert.equal(both[0].path, path.join(dir, 'chromium'));
  assert.ok(both[1].path.includes(npm), both[1].path);
  assert.deepEqual(chromiumCandidates({ PATH: dir, GRADREG_IGNORE_SYSTEM: '1' }).map((c) => c.source), ['npm']);
  fs.writeFileSync(path.join(dir, 'google-chrome'), 'not executable', { mode: 0o644 });
  assert.deepEqual(systemChromiums({ PATH: dir }), [path.join(dir, 'chromium')]);
});

test('a launch failure from a missing system library names the Debian package and npm run setup', () => {
  const msg = 'browserType.launch: Browser closed.\n/x/chromium: error while loading shared libraries: libnss3.so: cannot open shared object file';
  assert.match(launchFailure(msg), /libnss3\.so is missing: `sudo apt-get install -y libnss3` \(`npm run setup` does it\)/);
  assert.match(launchFailure('x: error while loading shared libraries: libplc4.so: cannot'), /apt-get install -y libnspr4/);
  assert.match(launchFailure('x: error while loading shared libraries: libfoo.so.9: cannot'), /apt-file search libfoo\.so\.9/);
  assert.equal(launchFailure('\nfirst line\nsecond'), 'first line');
});

test('without any system browser (GRADREG_IGNORE_SYSTEM=1) a PNG renders with the npm Chromium alone, text included', async () => {
  await withEnv({ GRADREG_IGNORE_SYSTEM: '1', GRADREG_CHROMIUM: undefined }, async () => {
    await closeBrowser();
    const files = await saveFigure(curves, 'nb-npm', 'acc', { formats: ['png'], width: 480, height: 320 });
    assert.equal(browserInfo()?.source, 'npm');
    const png = decodePng(fs.readFileSync(files.png!));
    assert.equal(png.width, 480);
    assert.equal(png.height, 320);
    assert.ok(pixelVariance(png) > 50, 'PNG looks blank');
    // The title is drawn (fonts found): dark pixels in the band above the plot area.
    let dark = 0;
    for (let y = 5; y < 45; y++) for (let x = 0; x < png.width; x++) if (pixelAt(png, x, y)[0] < 128) dark++;
    assert.ok(dark > 50, `no title text drawn (${dark} dark pixels)`);
    await closeBrowser();
  });
});

test('a system browser that cannot start is skipped for the npm one', async () => {
  const dir = fakeBrowserDir('echo "chromium: error while loading shared libraries: libnss3.so: cannot open shared object file" >&2; exit 127');
  // PATH is only the fake folder (the real /usr/bin would add a working system chromium); the browser is spawned by absolute path.
  await withEnv({ PATH: dir, GRADREG_IGNORE_SYSTEM: undefined, GRADREG_CHROMIUM: undefined }, async () => {
    await closeBrowser();
    assert.equal(chromiumCandidates()[0].path, path.join(dir, 'chromium'));
    await saveFigure(curves, 'nb-npm', 'fallback', { formats: ['svg'] });
    assert.equal(browserInfo()?.source, 'npm');
    await closeBrowser();
  });
});

test('saveFigure writes a real PNG of the requested size, a well-formed SVG and a self-contained HTML with the data', async () => {
  const files = await saveFigure(curves, 'nb-test.ipynb', 'acc-vs-eps', { width: 640, height: 400 });
  assert.deepEqual(Object.keys(files).sort(), ['html', 'png', 'svg']);
  assert.equal(path.dirname(files.png!), path.join(root, 'nb-test'));

  const png = decodePng(fs.readFileSync(files.png!));
  assert.equal(png.width, 640);
  assert.equal(png.height, 400);
  assert.ok(pixelVariance(png) > 50, `PNG looks blank (variance ${pixelVariance(png)})`);

  const svg = fs.readFileSync(files.svg!, 'utf8');
  assert.match(svg, /^<svg[\s>]/);
  assertWellFormedXml(svg);
  assert.match(svg, /width="640"/);
  assert.match(svg, /input-gradient/, 'legend text is in the SVG');

  const html = fs.readFileSync(files.html!, 'utf8');
  assert.ok(html.length > 3_000_000, 'plotly.js is inlined');
  assert.match(html, /plotly\.js v\d/);
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'no external scripts');
  for (const v of ['0.4321', '0.7654', '0.3141', '0.0123']) assert.ok(html.includes(v), `HTML holds ${v}`);
  const spec = JSON.parse(/<script id="figure-spec" type="application\/json">([^<]*)<\/script>/.exec(html)![1]);
  assert.deepEqual(spec.data, curves.data);
  for (const f of fs.readdirSync(path.join(root, 'nb-test'))) assert.doesNotMatch(f, /\.tmp$/, 'no temp file left');
});

test('an image grid renders gray images black-to-white and perturbations blue-white-red, one cell per image', async () => {
  const w = 8;
  const fill = (v: number) => new Float32Array(w * w).fill(v);
  const fig = imageGrid([
    { label: 'clean', kind: 'image', images: [fill(0), fill(1)] },
    { label: 'delta', kind: 'signed', images: [fill(-0.3), fill(0.3)] },
  ], { width: w, height: w, channels: 1, colLabels: ['a', 'b'] });
  const width = fig.layout.width as number;
  const height = fig.layout.height as number;
  const files = await saveFigure(fig, 'nb-test', 'grid', { formats: ['png'] });
  const png = decodePng(fs.readFileSync(files.png!));
  assert.equal(png.width, width);
  assert.equal(png.height, height);
  const m = fig.layout.margin as { l: number; t: number };
  const cell = 110;
  const at = (r: number, c: number) => pixelAt(png, Math.round(m.l + (c + 0.5) * cell), Math.round(m.t + (r + 0.5) * cell)).slice(0, 3);
  const near = (got: number[], want: number[], what: string) => assert.ok(got.every((g, i) => Math.abs(g - want[i]) <= 12), `${what}: got rgb(${got}) want rgb(${want})`);
  near(at(0, 0), [0, 0, 0], 'pixel value 0');
  near(at(0, 1), [255, 255, 255], 'pixel value 1');
  near(at(1, 0), [0x21, 0x66, 0xac], 'negative perturbation');
  near(at(1, 1), [0xb2, 0x18, 0x2b], 'positive perturbation');
});

test('the saved HTML renders offline in the browser: every trace drawn, no request leaves the file', async () => {
  const files = await saveFigure(curves, 'nb-test', 'offline', { formats: ['html'], width: 500, height: 300 });
  const requests: string[] = [];
  const errors: string[] = [];
  const traces = await withBrowserPage(async (page) => {
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${files.html}`);
    await page.waitForSelector('#figure .main-svg', { timeout: 30_000 });
    return page.evaluate('document.querySelectorAll("#figure .scatterlayer .trace").length');
  });
  assert.equal(traces, curves.data.length);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, []);
});
