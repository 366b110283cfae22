// Static figure export (PNG, SVG) through one headless chromium per process, driven by playwright-core.
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Browser, Page } from 'playwright-core';
import type { Figure } from './figure';
import { plotlyJs } from './html';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The chromium binary: GRADREG_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.GRADREG_CHROMIUM || DEFAULT_CHROMIUM;
}

function missingChromium(p: string, why: string): Error {
  return new Error(
    `Chromium ${why} at ${p}: PNG/SVG figure export needs a headless chromium. ` +
    'Install it with `apt-get install chromium` (Debian/Ubuntu), or set GRADREG_CHROMIUM to a Chromium/Chrome binary. ' +
    "HTML export works without it: saveFigure(fig, notebook, name, { formats: ['html'] }).",
  );
}

/** Node's live handles (undocumented but long-stable API); empty if it ever goes away. */
function liveHandles(): unknown[] {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return typeof p._getActiveHandles === 'function' ? p._getActiveHandles() : [];
}

let pagePromise: Promise<{ browser: Browser; page: Page }> | undefined;
let queue: Promise<unknown> = Promise.resolve();

async function launch(): Promise<{ browser: Browser; page: Page }> {
  const exe = chromiumPath();
  if (!fs.existsSync(exe)) throw missingChromium(exe, 'not found');
  try {
    fs.accessSync(exe, fs.constants.X_OK);
  } catch {
    throw missingChromium(exe, 'is not executable');
  }
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  let browser: Browser;
  const before = new Set(liveHandles());
  try {
    // playwright gives the browser a fresh temporary --user-data-dir and removes it on close (also at process exit).
    browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS, headless: true });
  } catch (e) {
    const err = missingChromium(exe, `failed to start (${(e as Error).message.split('\n')[0]})`);
    throw err;
  }
  // The browser's pipes would keep a script alive after its last figure; playwright kills chromium at process exit anyway.
  for (const h of liveHandles()) if (!before.has(h) && (h instanceof ChildProcess || h instanceof net.Socket)) h.unref();
  const page = await browser.newPage();
  await page.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0"></body></html>');
  await page.addScriptTag({ content: plotlyJs() });
  return { browser, page };
}

let exitHook = false;

function session(): Promise<{ browser: Browser; page: Page }> {
  if (!exitHook) {
    // Graceful close when a script's work is done (chromium's handles are unref'd, so this is when the loop drains).
    exitHook = true;
    process.on('beforeExit', () => { void closeBrowser(); });
  }
  if (!pagePromise) {
    pagePromise = launch();
    // A failed launch must not poison later attempts (e.g. after the user installs chromium).
    pagePromise.catch(() => { pagePromise = undefined; });
  }
  return pagePromise;
}

/**
 * Chromium's pipes are unref'd (a script must not hang after its last figure), so while we wait on the browser
 * something else has to keep the event loop alive: a long no-op timer for the duration of the work.
 */
async function keepAlive<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1 << 30);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Runs fn with a fresh page of the export browser (launched if needed), closed afterwards; e.g. to check a saved HTML renders offline. */
export function withBrowserPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  return keepAlive(async () => {
    const { browser } = await session();
    const page = await browser.newPage();
    try {
      return await fn(page);
    } finally {
      await page.close();
    }
  });
}

/** True when a browser has been launched and not closed (for tests and diagnostics). */
export function browserOpen(): boolean {
  return pagePromise !== undefined;
}

/** Closes the export browser; the next export launches a new one. Safe to call when none is open. */
export async function closeBrowser(): Promise<void> {
  const p = pagePromise;
  pagePromise = undefined;
  if (!p) return;
  await keepAlive(async () => {
    try {
      const { browser } = await p;
      await browser.close();
    } catch {
      /* never launched or already gone */
    }
  });
}

// Plain JS source run inside the page (a string, so no transpiler helper can leak into it).
const RENDER_IN_PAGE = `async function (a) {
  var el = document.createElement('div');
  el.style.width = a.o.width + 'px';
  el.style.height = a.o.height + 'px';
  document.body.appendChild(el);
  try {
    var layout = Object.assign({}, a.spec.layout, { width: a.o.width, height: a.o.height });
    await Plotly.newPlot(el, a.spec.data, layout, { staticPlot: true });
    var res = {};
    for (var i = 0; i < a.o.formats.length; i++) {
      var f = a.o.formats[i];
      res[f] = await Plotly.toImage(el, { format: f, width: a.o.width, height: a.o.height, scale: a.o.scale });
    }
    return res;
  } finally {
    Plotly.purge(el);
    el.remove();
  }
}`;

export interface RenderOptions {
  width: number;
  height: number;
  formats: ('png' | 'svg')[];
  /** Device pixel ratio of the PNG (default 1: the PNG is exactly width x height). */
  scale?: number;
}

/** Renders a figure to PNG bytes and/or SVG text. Calls are serialized on the one page. */
export function renderFigure(fig: Figure, opts: RenderOptions): Promise<{ png?: Buffer; svg?: string }> {
  const run = async () => {
    const { page } = await session();
    const args = { spec: { data: fig.data, layout: fig.layout }, o: { width: opts.width, height: opts.height, formats: opts.formats, scale: opts.scale ?? 1 } };
    const out = (await page.evaluate(`(${RENDER_IN_PAGE})(${JSON.stringify(args)})`)) as { png?: string; svg?: string };
    const res: { png?: Buffer; svg?: string } = {};
    if (out.png !== undefined) res.png = Buffer.from(out.png.slice(out.png.indexOf(',') + 1), 'base64');
    if (out.svg !== undefined) {
      const body = out.svg.slice(out.svg.indexOf(',') + 1);
      res.svg = out.svg.startsWith('data:image/svg+xml;base64,') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    }
    return res;
  };
  const next = queue.then(() => keepAlive(run), () => keepAlive(run));
  queue = next.catch(() => undefined);
  return next;
}
