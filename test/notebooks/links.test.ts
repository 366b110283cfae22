// A notebook's markdown links and images to committed results resolve where JupyterLab and GitHub resolve them: relative to
// the notebook's folder (notebooks/), so figures are at ../figures/<notebook>/. A broken link is a result nobody sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = path.resolve(__dirname, '../../notebooks');

test('every relative link and image in the notebooks\' markdown points to a file that exists', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
    for (const c of nb.cells) {
      if (c.cell_type !== 'markdown') continue;
      const text = Array.isArray(c.source) ? c.source.join('') : c.source;
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (!target || /^[a-z]+:/i.test(target)) continue; // web links, anchors
        checked++;
        if (!fs.existsSync(path.resolve(dir, decodeURI(target)))) broken.push(`${f}: ${m[1]}`);
      }
    }
  }
  assert.ok(checked > 0, 'no relative links found: the test would show nothing');
  assert.deepEqual(broken, []);
});
