// Static figure export (PNG, SVG) through one headless chromium per process, driven by playwright-core.
// Which chromium: GRADREG_CHROMIUM, else a system chromium/chrome on PATH, else the one `npm ci` brings (npm-chromium.ts).
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Figure } from './figure';
import { plotlyJs } from './html';
import { NPM_CHROMIUM_PACKAGE, npmChromiumCacheDirs, npmChromiumPackage, unpackNpmChromium } from './npm-chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** System browsers looked for on PATH, in this order. */
export const SYSTEM_CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'] as const;

export type ChromiumSource = 'GRADREG_CHROMIUM' | 'system' | 'npm';

export interface ChromiumCandidate {
  source: ChromiumSource;
  /** The binary; for 'npm', where it is (or will be) unpacked. */
  path: string;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The system Chromium/Chrome binaries on PATH (none under GRADREG_IGNORE_SYSTEM=1), each real file once. */
export function systemChromiums(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.GRADREG_IGNORE_SYSTEM === '1') return [];
  const found: string[] = [];
  const seen = new Set<string>();
  for (const name of SYSTEM_CHROMIUM_NAMES) {
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '')) {
      const p = path.join(dir, name);
      if (!isExecutable(p)) continue;
      const real = fs.realpathSync(p);
      if (!seen.has(real)) { seen.add(real); found.push(p); }
    }
  }
  return found;
}

/**
 * The browsers figure export tries, in order: GRADREG_CHROMIUM alone when set (an explicit choice is never replaced), else
 * every system chromium/chrome on PATH, then the one `npm ci` installed (npm @sparticuz/chromium).
 */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env): ChromiumCandidate[] {
  if (env.GRADREG_CHROMIUM) return [{ source: 'GRADREG_CHROMIUM', path: env.GRADREG_CHROMIUM }];
  const out: ChromiumCandidate[] = systemChromiums(env).map((p) => ({ source: 'system', path: p }));
  const pkg = npmChromiumPackage();
  if (pkg) out.push({ source: 'npm', path: path.join(npmChromiumCacheDirs(pkg)[0], 'chromium') });
  return out;
}

/** The chromium binary figure export tries first (see chromiumCandidates); '' when there is none. */
export function chromiumPath(): string {
  return chromiumCandidates()[0]?.path ?? '';
}

const FIX = 'PNG/SVG figure export needs a headless Chromium: `npm ci` installs one (npm ' + NPM_CHROMIUM_PACKAGE + '), and ' +
  '`npm run setup` also installs the system libraries it needs; or set GRADREG_CHROMIUM to a Chromium/Chrome binary. ' +
  "HTML export works without it: saveFigure(fig, notebook, name, { formats: ['html'] }).";

/** Debian packages of the shared libraries a browser binary may miss on a minimal system. */
const LIB_PACKAGES: [RegExp, string][] = [[/^lib(nss3|nssutil3|smime3|ssl3)\.so/, 'libnss3'], [/^lib(nspr4|plc4|plds4)\.so/, 'libnspr4'], [/^libexpat\.so/, 'libexpat1']];

/** Why a launch failed, in one line, with the command that fixes a missing system library. */
export function launchFailure(message: string): string {
  const lib = /error while loading shared libraries: ([^:\s]+)/.exec(message)?.[1];
  if (lib) {
    const pkg = LIB_PACKAGES.find(([re]) => re.test(lib))?.[1];
    return `the system library ${lib} is missing: ${pkg ? `\`sudo apt-get install -y ${pkg}\` (\`npm run setup\` does it)` : `install the package that provides ${lib} (Debian: \`apt-file search ${lib}\`)`}`;
  }
  return message.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

let launched: ChromiumCandidate | undefined;

/** The browser the current export session runs (undefined before the first export and after closeBrowser). */
export function browserInfo(): ChromiumCandidate | undefined {
  return launched;
}

/** Node's live handles (undocumented but long-stable API); empty if it ever goes away. */
function liveHandles(): unknown[] {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return typeof p._getActiveHandles === 'function' ? p._getActiveHandles() : [];
}

let pagePromise: Promise<{ browser: Browser; page: Page }> | undefined;
let queue: Promise<unknown> = Promise.resolve();

async function launchOne(c: ChromiumCandidate): Promise<Browser> {
  let exe = c.path;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (c.source === 'npm') {
    const pkg = npmChromiumPackage();
    if (!pkg) throw new Error(`the npm package ${NPM_CHROMIUM_PACKAGE} is not installed (run \`npm ci\`)`);
    const u = await unpackNpmChromium(pkg);
    exe = u.executable;
    env.FONTCONFIG_FILE = u.fontsConf;
  } else if (!fs.existsSync(exe)) {
    throw new Error('not found');
  } else if (!isExecutable(exe)) {
    throw new Error('is not an executable file');
  }
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  // playwright gives the browser a fresh temporary --user-data-dir and removes it on close (also at process exit).
  return chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS, headless: true, env });
}

async function launch(): Promise<{ browser: Browser; page: Page }> {
  const candidates = chromiumCandidates();
  const failed: string[] = [];
  let browser: Browser | undefined;
  const before = new Set(liveHandles());
  for (const c of candidates) {
    try {
      browser = await launchOne(c);
      launched = c;
      break;
    } catch (e) {
      const why = launchFailure((e as Error).message);
      if (c.source === 'GRADREG_CHROMIUM') throw new Error(`Chromium at ${c.path} (GRADREG_CHROMIUM) failed: ${why}. Fix or unset GRADREG_CHROMIUM. ${FIX}`);
      failed.push(`${c.source} ${c.path}: ${why}`);
    }
  }
  if (!browser) {
    throw new Error(`no headless Chromium could start for figure export; ${failed.length ? `tried:\n  ${failed.join('\n  ')}\n` : 'none found. '}${FIX}`);
  }
  if (failed.length && process.env.GRADREG_QUIET !== '1') console.warn(`figure export: using ${launched!.source} Chromium; skipped ${failed.join('; ')}`);
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
    pagePromise.catch(() => { pagePromise = undefined; launched = undefined; });
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
  launched = undefined;
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
