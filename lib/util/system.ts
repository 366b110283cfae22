// What the kit may take from the operating system, and a switch to pretend a fresh machine (tests of that path).

/**
 * GRADREG_IGNORE_SYSTEM=1: act as on a fresh machine: no system Chromium/Chrome for figure export (the npm one is used) and
 * no Debian data packages (/usr/share/datasets). `npm run setup` then plans every Debian package as missing. For tests of
 * the fresh-machine path on a machine that has those installed; not meant for everyday use.
 */
export function ignoreSystem(): boolean {
  return process.env.GRADREG_IGNORE_SYSTEM === '1';
}
