// The benchmark's PyTorch twin computes the same losses and weight gradients as the tfjs workloads (same weights, inputs):
// otherwise its ratios would compare different work. Skipped when Debian's python3-torch is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { useBackend, TEST_BACKENDS } from '../helpers';
import { referenceNet } from '../../bench/reference-net';
import { ceLoss, doubleBackpropLoss, jacobianLoss, randomUnitRows } from '../../bench/workloads';

const PYTHON = '/usr/bin/python3';
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

for (const backend of TEST_BACKENDS) {
  test(`bench workloads match bench/reference.py (PyTorch) on ${backend}: losses and weight-gradient norms`,
    { skip: hasTorch ? false : `optional: ${PYTHON} cannot import torch; \`npm run setup\` as root installs python3-torch (or \`sudo apt-get install -y python3-torch\`)` }, async () => {
      await useBackend(backend);
      const batch = 4;
      const net = referenceNet(7);
      const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
      const y = tf.tensor1d([3, 0, 9, 5], 'int32');
      const v = randomUnitRows(batch, 12);
      const spec: Record<string, { shape: number[]; data: number[] }> = {};
      net.variables.forEach((p, i) => { spec[`p${i}`] = { shape: p.shape, data: Array.from(p.dataSync()) }; });
      for (const [k, t] of [['x', x], ['y', y], ['v', v]] as const) spec[k] = { shape: t.shape, data: Array.from(t.dataSync()) };
      const r = spawnSync(PYTHON, [path.join(__dirname, '../../bench/reference.py'), '--check'], { input: JSON.stringify(spec), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const torch = JSON.parse(r.stdout) as Record<string, { loss: number; gradNorms: number[] }>;
      const losses = { train: () => ceLoss(net, x, y), 'double-backprop': () => doubleBackpropLoss(net, x, y), jacobian: () => jacobianLoss(net, x, y, v) };
      for (const [name, f] of Object.entries(losses)) {
        const { value, grads } = tf.variableGrads(f, net.variables);
        const norms = net.variables.map((p) => tf.norm(grads[p.name]).dataSync()[0]);
        const loss = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads)]);
        const ref = torch[name];
        assert.ok(Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `${name}: loss tfjs ${loss} vs torch ${ref.loss}`);
        norms.forEach((n, i) => assert.ok(Math.abs(n - ref.gradNorms[i]) <= 1e-3 * ref.gradNorms[i] + 1e-7,
          `${name}: |grad p${i}| tfjs ${n} vs torch ${ref.gradNorms[i]}`));
      }
      // The penalties must matter, or the second-order parts would go untested.
      assert.ok(Math.abs(torch['double-backprop'].loss - torch.train.loss) > 1e-4 * torch.train.loss);
      net.dispose();
      tf.dispose([x, y, v]);
    });
}
