// A data set that is not on the machine fails early, with the exact command that gets it (never a silent swap).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FASHION_SYSTEM_DIR, loadDataset } from '../../lib/data/index';

const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-nodata-'));
const saved = process.env.GRADREG_IGNORE_SYSTEM;
after(() => {
  if (saved === undefined) delete process.env.GRADREG_IGNORE_SYSTEM; else process.env.GRADREG_IGNORE_SYSTEM = saved;
  fs.rmSync(empty, { recursive: true, force: true });
});

test('Fashion-MNIST missing on a fresh machine: the error names npm run setup and the apt command, not a system folder', async () => {
  process.env.GRADREG_IGNORE_SYSTEM = '1';
  await assert.rejects(loadDataset('fashion-mnist', { dataDir: empty, download: false }), (e: Error) => {
    assert.match(e.message, /train-images-idx3-ubyte not found/);
    assert.match(e.message, /`npm run setup`/);
    assert.match(e.message, /`sudo apt-get install dataset-fashion-mnist`/);
    assert.ok(!e.message.includes(FASHION_SYSTEM_DIR), 'GRADREG_IGNORE_SYSTEM=1 hides the Debian package folder');
    return true;
  });
  assert.deepEqual(fs.readdirSync(empty), [], 'nothing written');
});

// Reading notebooks/*.ipynb: a missing data set must stop a notebook before it trains anything ("not midway").
test('every notebook loads its data set before its first training cell', () => {
  const dir = path.resolve(__dirname, '..', '..', 'notebooks');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
    const cells = (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] }).cells
      .filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
    const load = cells.findIndex((s) => /\bloadDataset\(/.test(s));
    const trainRe = /\b(trainMethods|trainMethodsMonitored|trainModel|train)\(/;
    const train = cells.findIndex((s) => trainRe.test(s));
    assert.ok(load >= 0, `${f}: no gr.loadDataset call`);
    // The same cell may load and then train: the load must come first in it.
    const loadsFirst = load < train || (load === train && cells[load].search(/\bloadDataset\(/) < cells[load].search(trainRe));
    assert.ok(train < 0 || loadsFirst, `${f}: code cell ${train + 1} trains before code cell ${load + 1} loads the data`);
  }
});
