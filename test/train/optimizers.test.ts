import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../lib/data/rng';
import { augmentBatch, createOptimizer, CorruptCheckpointError, learningRate, loadCheckpoint, saveCheckpoint, type OptimizerConfig } from '../../lib/train';
import { TEST_BACKENDS, useBackend } from '../helpers';

// The update rules written out in plain numbers (PyTorch's SGD and Adam, weight decay added to the gradient).
function reference(cfg: OptimizerConfig, w0: number[], grads: number[][], lrs: number[]): number[] {
  const w = [...w0];
  const buf = w.map(() => 0), m = w.map(() => 0), v = w.map(() => 0);
  grads.forEach((gs, t) => {
    for (let i = 0; i < w.length; i++) {
      let g = gs[i] + (cfg.weightDecay ?? 0) * w[i];
      if (cfg.kind === 'sgd') {
        const mom = cfg.momentum ?? 0;
        if (mom) {
          buf[i] = t === 0 ? g : mom * buf[i] + g;
          g = cfg.nesterov ? g + mom * buf[i] : buf[i];
        }
        w[i] -= lrs[t] * g;
      } else {
        const b1 = cfg.beta1 ?? 0.9, b2 = cfg.beta2 ?? 0.999, eps = cfg.epsilon ?? 1e-8;
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        w[i] -= (lrs[t] * m[i]) / (1 - b1 ** (t + 1)) / (Math.sqrt(v[i] / (1 - b2 ** (t + 1))) + eps);
      }
    }
  });
  return w;
}

const CONFIGS: OptimizerConfig[] = [
  { kind: 'sgd', lr: 0.1 },
  { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-2 },
  { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
  { kind: 'adam', lr: 0.01 },
  { kind: 'adam', lr: 0.01, beta1: 0.5, weightDecay: 1e-1 },
];

for (const backend of TEST_BACKENDS) {
  test(`optimizers follow the PyTorch update rules; exported state resumes exactly (${backend})`, async () => {
    await useBackend(backend);
    const w0 = [0.5, -1.5, 2, 0.25];
    const grads = [[1, -2, 0.5, 0], [0.3, 0.1, -1, 2], [-0.7, 0.4, 0.2, -0.1], [0.05, -3, 1, 0.5]];
    const lrs = [1, 1, 0.5, 0.25];
    for (const cfg of CONFIGS) {
      const want = reference(cfg, w0, grads, lrs.map((f) => f * cfg.lr));
      // Straight through, and split in two with the state carried over to a fresh optimizer.
      const runs: number[][] = [];
      for (const split of [4, 2]) {
        const v = tf.variable(tf.tensor1d(w0));
        let opt = createOptimizer(cfg, [v]);
        for (let t = 0; t < 4; t++) {
          if (t === split) {
            const st = opt.state();
            const copies = st.tensors.map((x) => x.clone());
            opt.dispose();
            opt = createOptimizer(cfg, [v]);
            opt.setState(st.step, copies);
            tf.dispose(copies);
          }
          const g = tf.tensor1d(grads[t]);
          opt.apply([v], { [v.name]: g }, lrs[t] * cfg.lr);
          g.dispose();
        }
        runs.push(Array.from(await v.data()));
        opt.dispose();
        v.dispose();
      }
      for (const got of runs) got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-5, `${JSON.stringify(cfg)}: w[${i}] ${x} vs ${want[i]}`));
      assert.deepEqual(runs[1], runs[0], `${JSON.stringify(cfg)}: resumed state differs`);
    }
    // Adam's first step moves every coordinate with a non-negligible gradient by lr, whatever the gradient's scale.
    const v = tf.variable(tf.tensor1d([0, 0, 0]));
    const opt = createOptimizer({ kind: 'adam', lr: 0.01 }, [v]);
    const before = tf.memory().numTensors;
    const g = tf.tensor1d([1e3, -1e-2, 5]);
    opt.apply([v], { [v.name]: g }, 0.01);
    g.dispose();
    assert.equal(tf.memory().numTensors, before, 'optimizer step leaks tensors');
    Array.from(await v.data()).forEach((x, i) => assert.ok(Math.abs(Math.abs(x) - 0.01) < 1e-5, `coordinate ${i}: ${x}`));
    opt.dispose();
    v.dispose();
  });
}

test('learning-rate schedules: constant, step (milestones, gamma), cosine', () => {
  assert.equal(learningRate(0.1, undefined, 7, 10), 0.1);
  assert.equal(learningRate(0.1, { kind: 'constant' }, 7, 10), 0.1);
  const step = { kind: 'step' as const, milestones: [40, 60], gamma: 0.1 };
  assert.equal(learningRate(0.1, step, 39.99, 80), 0.1);
  assert.ok(Math.abs(learningRate(0.1, step, 40, 80) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRate(0.1, step, 79, 80) - 0.001) < 1e-12);
  assert.equal(learningRate(0.1, { kind: 'cosine' }, 0, 80), 0.1);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'cosine' }, 40, 80) - 0.05) < 1e-12);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'cosine', minLr: 0.01 }, 80, 80) - 0.01) < 1e-12);
  assert.throws(() => learningRate(0.1, { kind: 'warmup' } as never, 1, 2), /unknown schedule "warmup"/);
});

for (const backend of TEST_BACKENDS) {
  test(`augmentation: each image is a shifted crop of the zero-padded input, maybe mirrored; seeded (${backend})`, async () => {
    await useBackend(backend);
    const [b, h, w, pad] = [6, 5, 5, 2];
    const src = Float32Array.from({ length: b * h * w }, (_, i) => i + 1);
    const x = tf.tensor4d(src, [b, h, w, 1]);
    const run = (seed: number, flip: boolean) => augmentBatch(x, { crop: pad, flip }, makeRng(seed));
    const [a1, a2, a3] = [run(5, true), run(5, true), run(6, true)];
    const out = Array.from(await a1.data());
    assert.deepEqual(Array.from(await a2.data()), out, 'same seed, same augmentation');
    assert.notDeepEqual(Array.from(await a3.data()), out, 'another seed, another augmentation');
    assert.deepEqual(a1.shape, [b, h, w, 1]);
    const at = (n: number, r: number, c: number) => (r < 0 || r >= h || c < 0 || c >= w ? 0 : src[(n * h + r) * w + c]);
    let shifted = 0, mirrored = 0;
    for (let n = 0; n < b; n++) {
      const img = out.slice(n * h * w, (n + 1) * h * w);
      let found = false;
      for (let dy = -pad; dy <= pad && !found; dy++) {
        for (let dx = -pad; dx <= pad && !found; dx++) {
          for (const mirror of [false, true]) {
            const ok = img.every((v, k) => {
              const r = Math.floor(k / w), c = k % w;
              return v === at(n, r + dy, mirror ? w - 1 - (c + dx) : c + dx);
            });
            if (ok) { found = true; if (dy || dx) shifted++; if (mirror) mirrored++; break; }
          }
        }
      }
      assert.ok(found, `image ${n} is no crop of its padded input`);
    }
    assert.ok(shifted > 0 && mirrored > 0, `expected some shifted (${shifted}) and mirrored (${mirrored}) images in a batch of ${b}`);
    const noFlip = run(5, false);
    const plain = augmentBatch(x, {}, makeRng(1));
    assert.deepEqual(Array.from(await plain.data()), Array.from(src), 'no crop, no flip: identity');
    tf.dispose([x, a1, a2, a3, noFlip, plain]);
  });
}

test('checkpoint files: exact round trip; any altered or missing byte is detected', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-ckpt-'));
  const file = path.join(dir, 'a.ckpt');
  const vars = [tf.tensor2d([[1.5, -2], [3e-8, 4]]), tf.tensor1d([7])];
  const state = [tf.tensor1d([0.25, 0.5])];
  const optState = [tf.tensor1d([Math.PI])];
  const head = { key: 'k', epoch: 2, done: false, optimizerStep: 17, history: [{ epoch: 1, loss: 0.123456789 }], meta: { trainSeconds: 3.5 } };
  await saveCheckpoint(file, head, { variables: vars, state, optimizer: optState });
  const ck = loadCheckpoint(file);
  assert.deepEqual(ck.groups.variables.map((a) => Array.from(a)), [Array.from(vars[0].dataSync()), [7]]);
  assert.deepEqual(ck.groups.state.map((a) => Array.from(a)), [[0.25, 0.5]]);
  assert.deepEqual(Array.from(ck.groups.optimizer[0]), Array.from(optState[0].dataSync()));
  assert.equal(ck.header.optimizerStep, 17);
  assert.deepEqual(ck.header.history, head.history);
  assert.deepEqual(fs.readdirSync(dir), ['a.ckpt'], 'no temporary file left behind');
  const good = fs.readFileSync(file);
  const headerAt = good.indexOf('"optimizerStep":17') + '"optimizerStep":'.length;
  const damaged: [string, Buffer][] = [
    ['payload byte', Buffer.from(good.map((v, i) => (i === good.length - 3 ? v ^ 1 : v)))],
    ['header byte', Buffer.from(good.map((v, i) => (i === headerAt ? '2'.charCodeAt(0) : v)))],
    ['truncated payload', good.subarray(0, good.length - 4)],
    ['truncated header', good.subarray(0, 40)],
    ['empty file', Buffer.alloc(0)],
    ['another format', Buffer.from('{"weights": []}')],
  ];
  for (const [what, bytes] of damaged) {
    fs.writeFileSync(file, bytes);
    assert.throws(() => loadCheckpoint(file), (e: Error) => e instanceof CorruptCheckpointError && e.message.includes(file), what);
  }
  tf.dispose([...vars, ...state, ...optState]);
  fs.rmSync(dir, { recursive: true });
});
