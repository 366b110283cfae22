// The bench's honesty plumbing, without timing assertions: options, statistics, CPU parsing, ratio arithmetic, the PyTorch
// server's protocol and workload parity, the JSON a short interleaved run writes, and the profile's kernel nesting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs, quantile, compare, type Timing } from '../../bench/bench';
import { parseCpuInfo } from '../../bench/machine';
import * as tf from '@tensorflow/tfjs';
import { nestKernels, profileStep } from '../../bench/profile';
import { useBackend } from '../helpers';
import { TorchReference } from '../../bench/torch-reference';
import { WORKLOADS, LAMBDA, LEARNING_RATE, PGD } from '../../bench/workloads';

const PYTHON = '/usr/bin/python3';
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const NO_TORCH = `optional: ${PYTHON} cannot import torch; \`npm run setup\` as root installs python3-torch (or \`sudo apt-get install -y python3-torch\`)`;

test('bench options: PyTorch threads default to 1..cores, tfjs to 1; lists parsed; bad values name the flag', () => {
  const o = parseArgs([], 4);
  assert.deepEqual(o.torchThreads, [1, 2, 3, 4]);
  assert.deepEqual(o.threads, [1]);
  const p = parseArgs(['--threads', '1,2', '--torch-threads', '2', '--rounds', '3', '--repeats', '2', '--workloads', 'train,pgd10'], 2);
  assert.deepEqual([p.threads, p.torchThreads, p.rounds, p.repeats, p.workloads], [[1, 2], [2], 3, 2, ['train', 'pgd10']]);
  assert.throws(() => parseArgs(['--threads', '0']), /--threads expects a positive integer, got "0"/);
  assert.throws(() => parseArgs(['--rounds', '1.5']), /--rounds expects a positive integer/);
  assert.throws(() => parseArgs(['--workloads', 'train,nope']), /unknown "nope"/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown argument "--frobnicate"/);
});

test('quantile interpolates linearly (numpy default)', () => {
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
  assert.equal(quantile([5], 0.75), 5);
});

test('CPU model, family numbers, flags and SIMD subset from /proc/cpuinfo text', () => {
  const text = 'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13\nstepping\t: 1\n' +
    'flags\t\t: fpu sse2 sse4_1 sse4_2 avx fma avx2 avx512f avx512bw aes\n\nprocessor\t: 1\nmodel name\t: other\n';
  const c = parseCpuInfo(text, 'fallback');
  assert.equal(c.model, 'AMD EPYC 7B13');
  assert.deepEqual([c.family, c.modelNumber, c.stepping], ['25', '1', '1']);
  assert.equal(c.flags, 'fpu sse2 sse4_1 sse4_2 avx fma avx2 avx512f avx512bw aes');
  assert.deepEqual(c.simd, ['sse4_1', 'sse4_2', 'avx', 'fma', 'avx2', 'avx512f', 'avx512bw']);
  const arm = parseCpuInfo('processor\t: 0\nFeatures\t: fp asimd sve\n', 'Neoverse');
  assert.deepEqual([arm.model, arm.simd, arm.family], ['Neoverse', ['asimd', 'sve'], null]);
  assert.equal(parseCpuInfo('', 'from os.cpus').model, 'from os.cpus');
});

test('compare: best setting per side by throughput (jobs count all their examples), ratios and per-round range', () => {
  const t = (side: 'tfjs' | 'torch', threads: number, jobs: number, rounds: number[]): Timing => {
    const med = quantile(rounds, 0.5);
    return { side, workload: 'train', threads, examplesPerStep: 10 * jobs, medianMs: med, q1Ms: med, q3Ms: med, minMs: med, maxMs: med,
      runs: rounds.length, roundMedians: rounds, throughput: (10 * jobs * 1000) / med, peakRssMiB: 1 };
  };
  const [c] = compare([t('tfjs', 1, 1, [100, 100, 100]), t('tfjs', 2, 2, [150, 160, 140]), t('torch', 1, 1, [50, 60, 40]), t('torch', 2, 1, [80, 80, 80])]);
  assert.equal(c.torch.threads, 1);
  assert.equal(c.tfjs.threads, 2);
  assert.ok(Math.abs(c.ratioOneThread - 0.5) < 1e-12); // 100 ex/s vs 200 ex/s
  assert.ok(Math.abs(c.ratioBest - (20000 / 150) / 200) < 1e-12);
  // Rounds pair tfjs@2 with torch@1 round by round: (20000/150)/(10000/50), (20000/160)/(10000/60), (20000/140)/(10000/40).
  const r = [20000 / 150 / 200, 20000 / 160 / (10000 / 60), 20000 / 140 / 250];
  assert.ok(Math.abs(c.ratioRounds.min - Math.min(...r)) < 1e-12 && Math.abs(c.ratioRounds.max - Math.max(...r)) < 1e-12);
  assert.deepEqual(compare([t('tfjs', 1, 1, [1])]), [], 'no PyTorch side: nothing to compare');
});

test('PyTorch server: same workloads and constants as bench/workloads.ts; a bad request answers an error and the server goes on',
  { skip: hasTorch ? false : NO_TORCH }, async () => {
    const r = await TorchReference.start(PYTHON);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    if (!r.ok) return;
    try {
      assert.deepEqual(r.info.workloads, [...WORKLOADS]);
      assert.deepEqual(r.info.constants, { LAMBDA, LEARNING_RATE, PGD });
      await assert.rejects(r.ref.run(1, 1), /run before setup/);
      await assert.rejects(r.ref.setup('nope', 2), /unknown workload 'nope'/);
      await r.ref.setup('inference', 2);
      const ms = await r.ref.run(1, 3);
      assert.equal(ms.length, 3);
      assert.ok(ms.every((m) => m > 0 && Number.isFinite(m)));
      assert.ok((await r.ref.peakRssMiB()) > 0);
    } finally {
      r.ref.close();
    }
  });

test('PyTorch server: a missing python is a reason, not a crash', async () => {
  const r = await TorchReference.start('/nonexistent/python3');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /not found: install Debian's python3-torch/);
});

test('a short interleaved run writes the honest JSON: machine, versions, thread settings, rounds, comparisons', { timeout: 240_000 }, () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-bench-')), 'r.json');
  const args = ['bench/bench.ts', '--workloads', 'inference,train', '--batch', '2', '--warmup', '1', '--rounds', '2', '--repeats', '1',
    '--threads', '1,2', '--torch-threads', '1', '--out', out, '--reference'];
  const root = path.join(__dirname, '../..');
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), args, { cwd: root, encoding: 'utf8', env: { ...process.env, GRADREG_BACKEND: 'wasm' } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.ok(!Number.isNaN(Date.parse(j.date)));
  assert.ok(j.machine.cpu.model.length > 0 && typeof j.machine.cpu.flags === 'string' && Array.isArray(j.machine.cpu.simd));
  assert.equal(j.machine.cores, os.cpus().length);
  assert.equal(j.machine.backend.tfjsThreads, 1, 'the wasm backend reports its own thread count (1 in Node)');
  assert.equal(j.versions.node, process.version);
  assert.match(j.versions.tfjs, /^\d+\.\d+\.\d+/);
  assert.deepEqual(j.options, { batch: 2, warmup: 1, rounds: 2, repeats: 1, threads: [1, 2], torchThreads: [1] });
  assert.match(j.protocol, /ABAB/);
  assert.match(j.threads.tfjs.meaning, /worker threads/);
  const sides = hasTorch ? ['tfjs', 'tfjs', 'torch'] : ['tfjs', 'tfjs'];
  for (const w of ['inference', 'train']) {
    const ts = (j.timings as Timing[]).filter((t) => t.workload === w);
    assert.deepEqual(ts.map((t) => t.side), sides);
    for (const t of ts) {
      assert.equal(t.roundMedians.length, 2);
      assert.ok(t.q1Ms <= t.medianMs && t.medianMs <= t.q3Ms && t.minMs <= t.q1Ms && t.q3Ms <= t.maxMs);
      assert.equal(t.examplesPerStep, t.side === 'tfjs' ? 2 * t.threads : 2);
    }
    assert.equal(ts[0].tensorGrowth, 0, `${w}: tensors grew`);
  }
  if (hasTorch) {
    assert.match(j.versions.torch, /^\d/);
    assert.equal(j.comparisons.length, 2);
    assert.deepEqual(j.threads.torch.best, { inference: 1, train: 1 });
    for (const c of j.comparisons) assert.ok(c.ratioOneThread > 0 && c.ratioRounds.min <= c.ratioRounds.median && c.ratioRounds.median <= c.ratioRounds.max);
  } else {
    assert.equal(j.comparisons, null);
    assert.match(j.torchSkipped, /python3-torch/);
  }
});

test('profile nesting: top-level kernels add up without their inner kernels; each composite lists its direct children', () => {
  // Completion order: A's children (Conv2D at depth 2, which itself ran Identity at depth 3) finish before A.
  const r = nestKernels([
    { name: 'Relu', ms: 1, depth: 1 },
    { name: 'Identity', ms: 0.5, depth: 3 },
    { name: 'Conv2D', ms: 6, depth: 2 },
    { name: 'Transpose', ms: 2, depth: 2 },
    { name: 'Conv2DBackpropInput', ms: 9, depth: 1 },
    { name: 'Conv2D', ms: 4, depth: 1 },
    { name: 'Relu', ms: 1, depth: 1 },
  ]);
  assert.deepEqual(r.kernels, [
    { kernel: 'Conv2DBackpropInput', ms: 9, calls: 1 }, { kernel: 'Conv2D', ms: 4, calls: 1 }, { kernel: 'Relu', ms: 2, calls: 2 }]);
  assert.deepEqual(r.inner, {
    Conv2DBackpropInput: [{ kernel: 'Conv2D', ms: 6, calls: 1 }, { kernel: 'Transpose', ms: 2, calls: 1 }],
    Conv2D: [{ kernel: 'Identity', ms: 0.5, calls: 1 }],
  });
});

test('profileStep on wasm: our composite conv-gradient kernels show their inner kernels; top-level kernels fit inside the step', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const p = await profileStep('train', 2, 1);
  const names = p.kernels.map((k) => k.kernel);
  for (const k of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']) assert.ok(names.includes(k), `${k} missing from ${names}`);
  assert.ok(p.inner.Conv2DBackpropFilter.some((c) => c.kernel === 'Conv2D'), 'the filter gradient runs as a conv2d inside');
  assert.ok(p.kernels.reduce((s, k) => s + k.ms, 0) <= p.stepMs && p.overheadMs >= 0);
  assert.equal(tf.memory().numTensors, before);
});
