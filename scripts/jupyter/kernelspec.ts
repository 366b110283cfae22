// The tslab kernelspec, written with absolute paths into a project-local folder (no `tslab install`, which needs Jupyter in python3).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const KERNEL_NAME = 'gradreg-tslab';
export const TSLAB_BIN = path.join(REPO_ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
/** Preload that fixes tslab's reload of edited lib files and directory imports (see the file). */
export const TSLAB_PATCH = path.join(REPO_ROOT, 'scripts', 'jupyter', 'tslab-patch.cjs');

/** argv that starts a tslab kernel with the given connection file: the same for `npm run lab` and the headless runner. */
export function kernelArgv(connectionFile: string): string[] {
  return [process.execPath, '--require', TSLAB_PATCH, TSLAB_BIN, 'kernel', '--config-path', connectionFile];
}

/** Writes <dir>/kernels/gradreg-tslab/kernel.json and returns <dir> (for JUPYTER_PATH). */
export function writeKernelspec(dir = path.join(REPO_ROOT, 'build', 'jupyter')): string {
  if (!fs.existsSync(TSLAB_BIN)) throw new Error(`tslab is not installed at ${TSLAB_BIN}: run \`npm ci\` in ${REPO_ROOT}`);
  const kdir = path.join(dir, 'kernels', KERNEL_NAME);
  fs.mkdirSync(kdir, { recursive: true });
  const spec = {
    argv: kernelArgv('{connection_file}'),
    display_name: 'TypeScript (gradreg)',
    language: 'typescript',
    env: { GRADREG_REPO: REPO_ROOT },
  };
  fs.writeFileSync(path.join(kdir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
  return dir;
}
