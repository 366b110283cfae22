// compareTerms: FGSM adversarial training and the p = inf perturbation member of Lyu's family are one objective (values and
// weight gradients agree); the clean cross-entropy is a different one (the comparison can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareTerms } from '../../lib/eval/term-equivalence';
import { fgsmAT, crossEntropyTerm } from '../../lib/train';
import { inputGradientPenalty } from '../../lib/regularizers';
import { loadMnist } from '../../lib/data';
import { createModel } from '../../lib/models';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

for (const backend of TEST_BACKENDS) {
  test(`compareTerms: FGSM-AT = Lyu p=inf perturbation form, != clean CE (${backend})`, async () => {
    await useBackend(backend);
    const data = loadMnist().take(64, { seed: 3, nTest: 16 });
    const model = createModel({ arch: 'mlp', hidden: [16], activation: 'relu' }, { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    const b = data.batch('train', Array.from({ length: 16 }, (_, i) => i));
    const lyu = inputGradientPenalty({ p: 'inf', eps: 0.1, form: 'perturbation' });
    let same: ReturnType<typeof compareTerms> | undefined;
    let diff: ReturnType<typeof compareTerms> | undefined;
    const delta = await tensorDelta(() => {
      same = compareTerms(model, fgsmAT({ eps: 0.1 }), lyu, b.x, b.y);
      diff = compareTerms(model, crossEntropyTerm(), lyu, b.x, b.y);
    });
    assert.equal(delta, 0);
    assert.ok(same!.valueDiff < 1e-5 * Math.max(1, same!.valueA), `values ${same!.valueA} vs ${same!.valueB}`);
    assert.ok(same!.gradDiff < 1e-5 * Math.max(1, same!.gradScale), `gradients differ by ${same!.gradDiff}`);
    assert.ok(diff!.valueDiff > 1e-3, 'clean CE and the adversarial loss must differ');
    assert.ok(diff!.gradDiff > 1e-4);
    b.x.dispose(); b.y.dispose();
    model.dispose();
  });
}
