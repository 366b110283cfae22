// The headless Chromium that `npm ci` brings: npm @sparticuz/chromium ships it brotli-compressed inside its tarball (no
// download at install time). We unpack its files ourselves instead of calling the package's executablePath(): that one
// writes to a fixed /tmp/chromium shared by every version and user, non-atomically (a killed unpack is reused forever),
// and recent versions are ESM-only, which tslab (CommonJS) cannot load. We need its data files only, never its code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { untar } from '../data/cifar';

export const NPM_CHROMIUM_PACKAGE = '@sparticuz/chromium';

const brotli = promisify(zlib.brotliDecompress);

export interface NpmChromiumPackage {
  /** The package's folder (node_modules/@sparticuz/chromium). */
  dir: string;
  version: string;
}

/** The installed npm Chromium package, or undefined when `npm ci` has not installed it. */
export function npmChromiumPackage(): NpmChromiumPackage | undefined {
  let entry: string;
  try {
    // Resolution only (its exports map hides package.json); nothing of the package is loaded.
    entry = require.resolve(NPM_CHROMIUM_PACKAGE);
  } catch {
    return undefined;
  }
  // Up to the package's own package.json (build folders may hold a nameless one that only sets the module type).
  for (let dir = path.dirname(entry); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === NPM_CHROMIUM_PACKAGE && pkg.version) return { dir, version: pkg.version };
  }
  return undefined;
}

/** Where a version is unpacked: node_modules/.cache/gradreg/chromium-<version>, else (read-only node_modules) the temp folder. */
export function npmChromiumCacheDirs(pkg: NpmChromiumPackage): string[] {
  const nodeModules = path.resolve(pkg.dir, '..', '..');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return [
    path.join(nodeModules, '.cache', 'gradreg', `chromium-${pkg.version}`),
    path.join(os.tmpdir(), `gradreg-chromium-${pkg.version}-${uid}`),
  ];
}

export interface UnpackedChromium {
  /** The chromium binary. */
  executable: string;
  /** fontconfig file listing the bundled fonts first (a fresh machine may have no fonts at all). */
  fontsConf: string;
  version: string;
}

function unpacked(dir: string, version: string): UnpackedChromium {
  return { executable: path.join(dir, 'chromium'), fontsConf: path.join(dir, 'fonts.conf'), version };
}

function fontsConf(dir: string): string {
  // Bundled Open Sans first (same text rendering everywhere), then the system's fonts where there are any (fallback glyphs).
  const dirs = [path.join(dir, 'fonts'), '/usr/share/fonts', '/usr/local/share/fonts'];
  return ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">', '<fontconfig>',
    ...dirs.map((d) => `  <dir>${d}</dir>`), `  <cachedir>${path.join(dir, 'fontconfig-cache')}</cachedir>`, '</fontconfig>', ''].join('\n');
}

async function unpackInto(tmp: string, bin: string): Promise<void> {
  fs.mkdirSync(tmp, { recursive: true });
  await pipeline(fs.createReadStream(path.join(bin, 'chromium.br')), zlib.createBrotliDecompress({ chunkSize: 1 << 21 }),
    fs.createWriteStream(path.join(tmp, 'chromium'), { mode: 0o755 }));
  // fonts/ as the package lays them out; swiftshader's libraries (software GL) next to the binary, where chromium looks.
  for (const [archive, sub] of [['fonts.tar.br', 'fonts'], ['swiftshader.tar.br', '.']] as const) {
    const files = untar(await brotli(fs.readFileSync(path.join(bin, archive))));
    for (const [name, bytes] of files) {
      const rel = path.normalize(name);
      if (path.isAbsolute(rel) || rel.startsWith('..')) throw new Error(`${archive}: unsafe path ${name} in the archive`);
      const out = path.join(tmp, sub, rel);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, bytes, { mode: 0o755 });
    }
  }
}

/**
 * Unpacks the npm Chromium once per version (~2 s, ~210 MB) and returns its paths. The unpack goes to a private temporary
 * folder renamed into place, so a concurrent or killed unpack never leaves a half-written browser that a later run trusts.
 */
export async function unpackNpmChromium(pkg: NpmChromiumPackage): Promise<UnpackedChromium> {
  const bin = path.join(pkg.dir, 'bin');
  const errors: string[] = [];
  for (const dir of npmChromiumCacheDirs(pkg)) {
    if (fs.existsSync(path.join(dir, 'chromium'))) return unpacked(dir, pkg.version);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    try {
      await unpackInto(tmp, bin);
      // fonts.conf names its final folder, so write it for `dir`, not for tmp.
      fs.writeFileSync(path.join(tmp, 'fonts.conf'), fontsConf(dir));
      try {
        fs.renameSync(tmp, dir);
      } catch (e) {
        // Another process finished first: use its copy.
        if (!fs.existsSync(path.join(dir, 'chromium'))) throw e;
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      return unpacked(dir, pkg.version);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      errors.push(`${dir}: ${(e as Error).message}`);
    }
  }
  throw new Error(`cannot unpack the npm Chromium (${NPM_CHROMIUM_PACKAGE}@${pkg.version}) from ${bin}:\n  ${errors.join('\n  ')}`);
}
