// The smooth small CNN of notebook 02's quick profile (issue 17): FGR's full training loss (CE + lambda * FGR with the random
// start) has the right weight gradient on it, and the spec's new fields are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../lib/models/zoo';
import { flowGradient } from '../../lib/regularizers/flow-gradient';
import { crossEntropyTerm } from '../../lib/train/terms';
import { gradCheckVariables } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, useBackend } from '../helpers';

const SHAPE: [number, number, number] = [10, 10, 1];

for (const backend of TEST_BACKENDS) {
  test(`small-cnn softplus (beta 4): the weight gradient of CE + lambda * FGR matches finite differences (${backend})`, async () => {
    await useBackend(backend);
    const model = createModel({ arch: 'small-cnn', width: 2, hidden: 6, activation: 'softplus', softplusBeta: 4 }, { inputShape: SHAPE, numClasses: 3, seed: 3 });
    assert.equal(model.name.includes('softplus4'), true, model.name);
    const x = tf.randomUniform([4, ...SHAPE], 0, 1, 'float32', 9) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const ce = crossEntropyTerm();
    const fgr = flowGradient({ lambda: 30, randomStartSigma: 0.02 });
    const ctx = { epoch: 0, step: 0, seed: 77 };
    const loss = () => tf.tidy(() => tf.add(ce.value(model, x, y, ctx), tf.mul(fgr.value(model, x, y, ctx), fgr.weight)) as tf.Scalar);
    const r = await gradCheckVariables(loss, model.variables, { h: 1e-2, samples: 5 });
    assert.ok(r.checked >= 20 && r.maxAbsGrad > 1e-3, `checked ${r.checked}, max |grad| ${r.maxAbsGrad}`);
    assert.ok(r.relError < 2e-2, `relative error ${r.relError} (checked ${r.checked})`);
    // One training-style gradient leaves nothing behind (gradCheckVariables' own assigns are not the term's).
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss, model.variables);
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
    model.dispose();
  });
}

test('small-cnn: activation and softplusBeta are validated', () => {
  const opts = { inputShape: SHAPE, numClasses: 3, seed: 0 };
  assert.throws(() => createModel({ arch: 'small-cnn', activation: 'elu' as never }, opts), /unknown activation "elu": use one of relu, sigmoid, tanh, softplus/);
  assert.throws(() => createModel({ arch: 'small-cnn', softplusBeta: 4 }, opts), /softplusBeta needs activation "softplus"/);
  assert.throws(() => createModel({ arch: 'small-cnn', activation: 'softplus', softplusBeta: 0 }, opts), /softplusBeta must be a positive number/);
  const m = createModel({ arch: 'small-cnn' }, opts);
  assert.equal(m.name, 'small-cnn-16', 'the default (ReLU) keeps its name');
  m.dispose();
});
