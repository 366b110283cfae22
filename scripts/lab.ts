// `npm run lab`: JupyterLab (or classic Notebook) on notebooks/ with the tslab kernel registered project-locally.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT, writeKernelspec, KERNEL_NAME } from './jupyter/kernelspec';

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const jupyterPath = writeKernelspec();
const env = { ...process.env, JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
const candidates: [string, string[]][] = [['jupyter', ['lab']], ['jupyter-lab', []], ['jupyter', ['notebook']], ['jupyter-notebook', []]];
const found = candidates.find(([cmd, sub]) => has(cmd, [...sub, '--version']));
if (!found) {
  console.error(`No Jupyter found. Install JupyterLab with \`pip install jupyterlab plotly\` (plotly brings the renderer of interactive
figures; or Debian's \`apt-get install jupyter-notebook\`, which shows figures as images),
then run \`npm run lab\` again. The tslab kernelspec "${KERNEL_NAME}" is ready in ${jupyterPath} (JUPYTER_PATH).`);
  process.exit(1);
}
const [cmd, sub] = found;
// Figures are plotly mime bundles with a PNG beside them: without JupyterLab's plotly renderer they show as the PNG.
if (sub[0] === 'lab' || cmd === 'jupyter-lab') {
  const ext = spawnSync('jupyter', ['labextension', 'list'], { encoding: 'utf8' });
  if (ext.status === 0 && !/plotly/.test(ext.stdout + ext.stderr)) {
    console.log('Figures will show as static images: `pip install plotly` adds JupyterLab\'s renderer of interactive plotly figures.');
  }
} else {
  console.log('The classic Notebook shows figures as static images; JupyterLab with `pip install jupyterlab plotly` makes them interactive.');
}
const extra = process.getuid?.() === 0 ? ['--allow-root'] : [];
console.log(`Starting ${cmd} ${sub.join(' ')} on notebooks/ with kernel "${KERNEL_NAME}" (JUPYTER_PATH=${jupyterPath})`);
const child = spawn(cmd, [...sub, ...extra, ...process.argv.slice(2)], { cwd: path.join(REPO_ROOT, 'notebooks'), env, stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
