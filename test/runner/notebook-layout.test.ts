// The real layout: a kernel in notebooks/ importing lib through the notebooks/lib symlink, as every notebook does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KernelSession } from '../../scripts/jupyter/kernel-client';

const root = path.resolve(__dirname, '..', '..');
let k: KernelSession;

before(async () => {
  const { GRADREG_DATA: _d, GRADREG_REPO: _r, ...env } = process.env;
  k = await KernelSession.start({ cwd: path.join(root, 'notebooks'), env: { ...env, GRADREG_QUIET: '1', GRADREG_PROFILE: 'smoke' }, inheritEnv: false });
});
after(async () => { await k?.close(); });

test('notebooks/ imports the whole library as "./lib/index" under the real tslab kernel', async () => {
  const r = await k.execute('import * as gr from "./lib/index";\nconsole.log("profile=" + gr.activeProfile() + " exports=" + Object.keys(gr).length);');
  assert.equal(r.status, 'ok', r.errorText);
  assert.match(JSON.stringify(r.outputs), /profile=smoke exports=\d{2,}/);
});

// Under tslab __dirname is the symlinked notebooks/lib/...: lib must still find data/ and the repository (it once did not).
test('lib paths resolve to the repository, not to the symlink under notebooks/', async () => {
  const r = await k.execute('console.log(JSON.stringify({ root: gr.REPO_ROOT, data: gr.dataDir() }));');
  assert.equal(r.status, 'ok', r.errorText);
  const text = (r.outputs.find((o) => o.output_type === 'stream') as { text?: string } | undefined)?.text ?? '';
  const got = JSON.parse(text.trim()) as { root: string; data: string };
  assert.equal(got.root, root);
  assert.equal(got.data, path.join(root, 'data'));
});
