// Smoke: each regularizer trains the reference small CNN a few steps on a tiny MNIST subset on wasm (the backend users run
// here), through the real trainer, without NaN. Checks wiring, not accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../../lib/data/index';
import { createModel } from '../../lib/models/index';
import { crossEntropyTerm, train } from '../../lib/train/index';
import { REGULARIZERS, regularizer, type Regularizer, type RegularizerName } from '../../lib/regularizers/index';
import type { LossTerm, Model } from '../../lib/types';
import type { EpochRecord } from '../../lib/train/index';
import { useBackend } from '../helpers';

const CONFIGS: { [N in RegularizerName]: Parameters<typeof regularizer<N>>[1][] } = {
  'input-gradient': [{ p: 'inf', eps: 0.1 }, { p: 2, eps: 1, form: 'perturbation' }, { p: 1, eps: 0.5 }],
  'double-backprop': [{ weight: 10 }],
  'finite-difference': [{ h: 0.01, weight: 10 }],
  'jacobian-norm': [{ projections: 1, weight: 0.01 }],
  sigr: [{ mask: 'occlusion', patch: 7, topK: 0.2, weight: 10 }],
  jsigr: [{ mask: 'blur', patch: 14, topK: 0.2, jacobianWeight: 0.01, sigrWeight: 10 }],
  sagr: [{ trueWeight: 0.1, falseWeight: 1, weight: 0.01 }],
  'saliency-consensus': [{ distance: 'cosine', eps: 0.1, lambdaSal: 1, lambdaPseudo: 0.5 }],
  'flow-gradient': [{ lambda: 100, form: 'closed' }, { lambda: 100, form: 'warp' }],
};

test('smoke: every regularizer trains a small CNN on a tiny MNIST subset on wasm without NaN or leaks', async () => {
  await useBackend('wasm');
  const data = (await loadDataset('mnist')).take(32, { seed: 1, nTest: 16 });
  const run = async (label: string, terms: LossTerm[]): Promise<{ leaked: number; rec: EpochRecord; model: Model }> => {
    const model = createModel({ arch: 'small-cnn', width: 4, hidden: 16 }, { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    const before = tf.memory().numTensors;
    const r = await train(model, data, {
      epochs: 1, batchSize: 16, optimizer: { kind: 'adam', lr: 1e-3 }, seed: 7, maxStepsPerEpoch: 2, evalSize: 16,
    }, { terms, modelKey: `smoke-${label}`, cache: false, quiet: true });
    return { leaked: tf.memory().numTensors - before, rec: r.history[0], model };
  };
  // The trainer's own tensor balance (whatever it is) is the baseline: a regularizer must add nothing to it.
  const base = await run('ce', [crossEntropyTerm()]);
  base.model.dispose();
  for (const name of REGULARIZERS) {
    for (const config of CONFIGS[name]) {
      const reg: Regularizer = regularizer(name, config as never);
      const terms: LossTerm[] = reg.replacesCrossEntropy ? [reg] : [crossEntropyTerm(), reg];
      const { leaked, rec, model } = await run(reg.name, terms);
      assert.ok(Number.isFinite(rec.loss), `${reg.label}: loss ${rec.loss}`);
      assert.ok(Number.isFinite(rec.terms[reg.name]) && rec.terms[reg.name] > 0, `${reg.label}: term value ${rec.terms[reg.name]}`);
      assert.equal(leaked, base.leaked, `${reg.label}: tensors leaked across training steps (${leaked} vs ${base.leaked} for plain CE)`);
      for (const v of model.variables) assert.ok((await tf.all(tf.isFinite(v)).data())[0] === 1, `${reg.label}: non-finite weights`);
      model.dispose();
    }
  }
});
