// kill -9 during training, then a rerun: it resumes from the last checkpoint and ends bit-identical to an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossEntropyTerm, loadCheckpoint, train } from '../../lib/train';
import { killRun } from './fixtures/kill-run';
import { useBackend } from '../helpers';

process.env.GRADREG_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-kill-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kill -9 mid-training, rerun: resumes from the last saved epoch and ends bit-identical to an uninterrupted run', async () => {
  await useBackend('wasm');
  const dir = path.join(process.env.GRADREG_DATA!, 'checkpoints');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'train-child.ts')],
    { env: { ...process.env, GRADREG_QUIET: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // Kill as soon as a checkpoint of epoch 3 or later exists (checkpoints are written atomically: a read sees a whole one).
  let killedAt = 0;
  for (let t0 = Date.now(); Date.now() - t0 < 60_000 && child.exitCode === null;) {
    const f = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.ckpt')) : undefined;
    if (f) {
      const h = loadCheckpoint(path.join(dir, f)).header;
      if (h.epoch >= 3) { killedAt = h.epoch; child.kill('SIGKILL'); break; }
    }
    await sleep(10);
  }
  await exited;
  assert.ok(killedAt >= 3, `the child was not killed mid-run: ${out}`);
  assert.doesNotMatch(out, /finished/);
  const ckpt = fs.readdirSync(dir).filter((n) => n.endsWith('.ckpt'));
  assert.equal(ckpt.length, 1);
  const saved = loadCheckpoint(path.join(dir, ckpt[0])).header;
  assert.equal(saved.done, false, 'killed before the end');

  const resumed = killRun();
  const epochs: number[] = [];
  const r = await train(resumed.model, resumed.data, resumed.cfg, { terms: [crossEntropyTerm()], modelKey: resumed.spec, quiet: true, onEpoch: (e) => epochs.push(e.epoch) });
  assert.equal(r.fromCache, false);
  assert.equal(epochs[0], saved.epoch + 1, 'resumed after the last saved epoch');
  assert.equal(r.history.length, resumed.cfg.epochs);
  const full = killRun();
  const rf = await train(full.model, full.data, full.cfg, { terms: [crossEntropyTerm()], modelKey: full.spec, cache: false, quiet: true });
  const w = async (m: typeof full.model) => (await Promise.all(m.variables.map((v) => v.data()))).flatMap((d) => Array.from(d));
  assert.deepEqual(await w(resumed.model), await w(full.model), 'weights bit-identical');
  assert.deepEqual(r.history.map((e) => [e.loss, e.testAcc]), rf.history.map((e) => [e.loss, e.testAcc]));
  assert.equal(loadCheckpoint(r.checkpoint).header.done, true);
  resumed.model.dispose();
  full.model.dispose();
});
