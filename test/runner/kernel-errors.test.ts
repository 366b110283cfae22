// Our tslab kernel reports a failing cell as Jupyter does (scripts/jupyter/tslab-patch.cjs): an `error` output with ename,
// evalue and a short traceback (the message, lib frames named by their .ts file, down to the cell; no tslab or node
// internals), not stderr text; compile errors and thrown non-errors too; the kernel runs the next cell normally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KernelSession, type CellResult } from '../../scripts/jupyter/kernel-client';

const root = path.resolve(__dirname, '..', '..');
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

function errorOf(r: CellResult): { ename: string; evalue: string; traceback: string[] } {
  assert.equal(r.status, 'error');
  const errs = r.outputs.filter((o) => o.output_type === 'error');
  assert.equal(errs.length, 1, JSON.stringify(r.outputs));
  assert.ok(!r.outputs.some((o) => o.output_type === 'stream' && o.name === 'stderr'), `no stderr text: ${JSON.stringify(r.outputs)}`);
  const e = errs[0] as unknown as { ename: string; evalue: string; traceback: string[] };
  for (const l of e.traceback) assert.doesNotMatch(l, /tslab[\\/]dist|node:vm|node:internal|evalmachine/, 'no kernel internals in the traceback');
  return e;
}

// tslab aborts requests that arrive within 200 ms of an error (Run All stops): leave a gap between the cells here.
const gap = () => new Promise((r) => setTimeout(r, 400));

test('a failing cell is a Jupyter error: ename, evalue, a traceback from the message down to the cell', async () => {
  const k = await KernelSession.start({ cwd: path.join(root, 'test', 'fixtures', 'notebooks'), env: { GRADREG_QUIET: '1' } });
  try {
    const thrown = errorOf(await k.execute('interface A { a: number }\nconst x: number = 41;\nthrow new RangeError("boom-" + (x + 1));'));
    assert.equal(thrown.ename, 'RangeError');
    assert.equal(thrown.evalue, 'boom-42');
    assert.equal(plain(thrown.traceback[0]), 'RangeError: boom-42');
    assert.match(thrown.traceback[0], /\u001b\[0;31mRangeError\u001b\[0m/, 'the name in red, as IPython does');
    assert.deepEqual(thrown.traceback.slice(1), ['    at <cell>']);
    await gap();

    // From inside lib: its frames name the .ts file the user edits, and the traceback ends at the cell.
    const lib = errorOf(await k.execute('import { saveTable } from "./lib/report/output";\nsaveTable([], "nb", "t");'));
    assert.match(lib.evalue, /saveTable: table 't' of notebook nb has no columns/);
    assert.match(lib.traceback.join('\n'), /at checkTableNotEmpty \(lib[\\/]report[\\/]tables\.ts/);
    assert.equal(lib.traceback[lib.traceback.length - 1], '    at <cell>');
    await gap();

    const awaited = errorOf(await k.execute('await new Promise((_, reject) => setTimeout(() => reject(new TypeError("late")), 10));'));
    assert.deepEqual([awaited.ename, awaited.evalue], ['TypeError', 'late']);
    await gap();

    const compile = errorOf(await k.execute('const s: number = "text";'));
    assert.equal(compile.ename, 'TypeScript error');
    assert.match(compile.evalue, /^cell 1:7 - Type 'string' is not assignable to type 'number'\./);
    await gap();

    const value = errorOf(await k.execute('throw { code: 7 };'));
    assert.deepEqual([value.ename, value.evalue], ['Uncaught', '{ code: 7 }']);
    await gap();

    const ok = await k.execute('console.log("still " + (40 + 2));');
    assert.equal(ok.status, 'ok', ok.errorText);
    assert.match(JSON.stringify(ok.outputs), /still 42/);
    assert.equal(ok.errorText, '');
  } finally {
    await k.close();
  }
});
