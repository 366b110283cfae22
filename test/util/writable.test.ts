// Raw OS errors that hid the real problem: read-only folders (data, figures, checkpoints), a folder where a file should be,
// and a corrupt file in a read-only folder. Read-only cases run in a child process as an unprivileged user when the tests run
// as root (root ignores permission bits), so they test what a user sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { assertNotDirectory, ensureWritableDir, readFileChecked } from '../../lib/util/writable';
import { atomicWrite } from '../../lib/util/atomic-write';
import { downloadFile } from '../../lib/data/download';
import { verifyFile } from '../../lib/data/checksums';
import { loadFashionMnist } from '../../lib/data/mnist';
import { loadCifar10 } from '../../lib/data/cifar';

const repo = path.resolve(__dirname, '..', '..');
const NOBODY = 65534;

/** A fresh folder every user can enter (mkdtemp makes 0700 folders). */
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-writable-'));
  fs.chmodSync(d, 0o755);
  return d;
}

/** Runs a TypeScript snippet (lib imported by absolute path) as an unprivileged user; returns what it printed as JSON. */
function runUnprivileged(dir: string, body: string): Record<string, string> {
  const script = path.join(dir, 'probe.ts');
  fs.writeFileSync(script, body);
  fs.chmodSync(script, 0o644);
  const asRoot = process.getuid?.() === 0;
  const r = cp.spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: repo, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, GRADREG_QUIET: '1', HOME: dir },
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
}

test('read-only folders: data, figure and checkpoint writes fail up front naming the folder and the fix, never a temporary file', () => {
  const root = tmp();
  const ro = path.join(root, 'ro');
  fs.mkdirSync(path.join(ro, 'fashion-mnist'), { recursive: true });
  // A corrupt data file in a read-only data folder: the diagnosis must not be hidden behind an EACCES on the rename.
  const bad = path.join(ro, 'fashion-mnist', 'train-images-idx3-ubyte.gz');
  fs.writeFileSync(bad, zlib.gzipSync(Buffer.from('not an idx file')));
  fs.chmodSync(bad, 0o444);
  fs.chmodSync(path.join(ro, 'fashion-mnist'), 0o555);
  fs.chmodSync(ro, 0o555);
  const lib = (p: string) => JSON.stringify(path.join(repo, 'lib', p));
  const out = runUnprivileged(root, `
    import { ensureWritableDir } from ${lib('util/writable')};
    import { atomicWrite } from ${lib('util/atomic-write')};
    import { downloadFile } from ${lib('data/download')};
    import { loadFashionMnist } from ${lib('data/mnist')};
    const ro = ${JSON.stringify(ro)};
    const out: Record<string, string> = {};
    const grab = async (k: string, f: () => unknown) => { try { await f(); out[k] = 'no error'; } catch (e) { out[k] = (e as Error).message; out[k + 'Code'] = String((e as { code?: string }).code); out[k + 'Name'] = (e as Error).name; } };
    (async () => {
      await grab('dir', () => ensureWritableDir(ro, 'the checkpoint folder', 'set GRADREG_DATA to a writable folder'));
      await grab('sub', () => ensureWritableDir(ro + '/checkpoints', 'the checkpoint folder'));
      await grab('write', () => atomicWrite(ro + '/fig.png', 'x', 'the figure'));
      await grab('download', () => downloadFile('http://127.0.0.1:9/x.gz', ro + '/cifar10/x.gz', { timeoutS: 1 }));
      await grab('corrupt', () => loadFashionMnist({ dataDir: ro, systemDir: ro + '/none', download: false }));
      console.log(JSON.stringify(out));
    })();
  `);
  assert.match(out.dir, new RegExp(`the checkpoint folder ${ro} is not writable by this user \\(EACCES: permission denied\\).*chmod u\\+w ${ro}.*set GRADREG_DATA to a writable folder`));
  assert.equal(out.dirCode, 'EACCES');
  assert.match(out.sub, new RegExp(`cannot create the checkpoint folder ${ro}/checkpoints: ${ro} is not writable`));
  assert.match(out.write, new RegExp(`cannot write the figure ${ro}/fig.png: its folder ${ro} is not writable .*chmod u\\+w ${ro}`));
  assert.doesNotMatch(out.write, /\.tmp|\.fig\.png/, 'names the hidden temporary file');
  assert.match(out.download, /cannot create the download folder .*cifar10: .* is not writable/, 'checked before the network');
  assert.doesNotMatch(out.download, /connection refused/);
  assert.equal(out.corruptName, 'ChecksumError');
  assert.ok(out.corrupt.includes(bad), out.corrupt);
  assert.match(out.corrupt, /^(checksum mismatch for|.* failed its integrity check)/, 'the diagnosis comes first');
  assert.match(out.corrupt, /could not be moved aside \(its folder .* is not writable: EACCES\).*delete or replace it yourself/s);
  assert.doesNotMatch(out.corrupt, /^EACCES/);
  assert.ok(fs.existsSync(bad), 'the file is left in place');
  fs.chmodSync(path.join(ro, 'fashion-mnist'), 0o755);
  fs.chmodSync(ro, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

test('a folder where a file should be, a file where a folder should be: clear errors, not a bare EISDIR/ENOTDIR', async () => {
  const root = tmp();
  const dirAsFile = path.join(root, 'model.ckpt');
  fs.mkdirSync(dirAsFile);
  assert.throws(() => atomicWrite(dirAsFile, 'x', 'the checkpoint'), new RegExp(`cannot write the checkpoint: ${dirAsFile} is a folder, not a file: move or delete the folder`));
  assert.throws(() => assertNotDirectory(dirAsFile, 'the checkpoint'), /the checkpoint .* is a folder, not a file/);
  assert.throws(() => readFileChecked(dirAsFile, 'the checkpoint'), /the checkpoint .*model.ckpt is a folder, not a file/);
  assert.throws(() => verifyFile(dirAsFile, { sha256: 'x' }), /the data file .*model.ckpt is a folder, not a file/);
  await assert.rejects(downloadFile('http://127.0.0.1:9/x', dirAsFile), /cannot download http:\/\/127.0.0.1:9\/x: the target .*model.ckpt is a folder, not a file/);
  // Data loaders: a folder named like the data file.
  fs.mkdirSync(path.join(root, 'data', 'fashion-mnist', 'train-images-idx3-ubyte'), { recursive: true });
  await assert.rejects(loadFashionMnist({ dataDir: path.join(root, 'data'), systemDir: path.join(root, 'none'), download: false }),
    /fashion-mnist data file .*train-images-idx3-ubyte is a folder, not a file: move or delete the folder/);
  fs.mkdirSync(path.join(root, 'data', 'cifar10', 'cifar-10-binary.tar.gz'), { recursive: true });
  await assert.rejects(loadCifar10({ dataDir: path.join(root, 'data') }), /the CIFAR-10 archive .*cifar-10-binary.tar.gz is a folder, not a file/);
  const fileAsDir = path.join(root, 'figures');
  fs.writeFileSync(fileAsDir, 'x');
  assert.throws(() => ensureWritableDir(fileAsDir, 'the figures folder'), new RegExp(`the figures folder ${fileAsDir} is a file, not a folder`));
  assert.throws(() => ensureWritableDir(path.join(fileAsDir, 'run1'), 'the figures folder'), new RegExp(`cannot create the figures folder .*run1: ${fileAsDir} is a file, not a folder`));
  assert.throws(() => atomicWrite(path.join(fileAsDir, 'a.png'), 'x', 'the figure'), new RegExp(`cannot write the figure .*a.png: ${fileAsDir} is a file, not a folder`));
  assert.throws(() => readFileChecked(path.join(root, 'missing'), 'the checkpoint'), /the checkpoint .*missing does not exist/);
  // The good paths still work and leave no probe or temporary file behind.
  const ok = ensureWritableDir(path.join(root, 'a', 'b'), 'the data folder');
  atomicWrite(path.join(ok, 'f.txt'), 'hello');
  assert.deepEqual(fs.readdirSync(ok), ['f.txt']);
  assert.equal(readFileChecked(path.join(ok, 'f.txt'), 'the file').toString(), 'hello');
  fs.rmSync(root, { recursive: true, force: true });
});
