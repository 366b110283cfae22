// Every notebook checks its parameters in its parameters cell (gr.resolveParams with a validate function calling gr.check),
// so a bad value fails that cell naming the parameter, not a later cell after minutes of training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = path.resolve(__dirname, '..', '..', 'notebooks');

for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb')).sort()) {
  test(`${f}: the parameters cell validates its parameters`, () => {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
    const i = code.findIndex((s) => s.includes('resolveParams'));
    assert.ok(i >= 0 && i <= 1, 'resolveParams is called in the first or second code cell');
    assert.match(code[i], /validate:\s*\(/, 'resolveParams gets a validate function');
    assert.match(code[i], /gr\.check\(/, 'which checks values with gr.check (errors name the parameter)');
  });
}
