import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KERNEL_NAME, writeKernelspec } from '../../scripts/jupyter/kernelspec';

const root = path.resolve(__dirname, '..', '..');

test('writeKernelspec writes a kernel.json with absolute node and tslab paths', () => {
  const dir = writeKernelspec(fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-kspec-')));
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernels', KERNEL_NAME, 'kernel.json'), 'utf8'));
  assert.equal(spec.display_name, 'TypeScript (gradreg)');
  assert.equal(spec.language, 'typescript');
  assert.equal(spec.argv[0], process.execPath);
  assert.deepEqual(spec.argv.slice(-3), ['kernel', '--config-path', '{connection_file}']);
  assert.equal(spec.argv[spec.argv.length - 4], path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'));
  for (const a of spec.argv.filter((a: string) => a.startsWith('/'))) assert.ok(fs.existsSync(a), `${a} does not exist`);
});

// Jupyter's own client (what JupyterLab uses) starting our kernelspec; needs Debian's jupyter-nbconvert or pip's nbconvert.
const hasNbconvert = spawnSync('jupyter', ['nbconvert', '--version'], { stdio: 'ignore' }).status === 0;

test('Jupyter itself runs a notebook with the kernelspec (nbconvert --execute)', { skip: hasNbconvert ? false : 'optional: jupyter nbconvert is not installed; `npm run setup` as root installs jupyter-nbconvert (or `sudo apt-get install -y jupyter-nbconvert`)' }, () => {
  const dir = writeKernelspec(fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-kspec-')));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-nbconvert-'));
  const r = spawnSync('jupyter', ['nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
    '--ExecutePreprocessor.timeout=120', '--output-dir', out, path.join(root, 'test', 'fixtures', 'notebooks', 'minimal.ipynb')],
  { encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: dir } });
  assert.equal(r.status, 0, r.stderr);
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'minimal.ipynb'), 'utf8'));
  assert.match(JSON.stringify(nb.cells[0].outputs), /hello 42/);
});

test('npm run lab without Jupyter says how to get it', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-nopath-'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lab.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: empty } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /No Jupyter found/);
  assert.match(r.stderr, /pip install jupyterlab/);
});
