import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { REGULARIZERS, regularizer, type RegularizerName } from '../../lib/regularizers/index';
import * as lib from '../../lib/index';
import { useBackend } from '../helpers';
import { CTX, batch, convModel, convParams, scalar } from './tiny-models';

const CONFIGS: { [N in RegularizerName]: Parameters<typeof regularizer<N>>[1] } = {
  'input-gradient': { p: 2, eps: 0.1 },
  'double-backprop': {},
  'finite-difference': { h: 0.01 },
  'jacobian-norm': { projections: 2 },
  sigr: { patch: 3 },
  jsigr: { patch: 3 },
  sagr: {},
  'saliency-consensus': { distance: 'l2' },
  'flow-gradient': { lambda: 10 },
};

test('regularizer(): every name builds a term with a label and resolved config; finite values; unknown names are named', async () => {
  await useBackend('cpu');
  const shape: [number, number, number] = [6, 6, 1];
  const params = convParams(shape, 3, 1);
  const model = convModel(shape, 3, params);
  const { x, y } = batch(shape, 2, 3, 1);
  const names = new Set<string>();
  for (const name of REGULARIZERS) {
    const r = regularizer(name, CONFIGS[name] as never);
    assert.ok(r.label.length > 0 && typeof r.config === 'object', name);
    assert.ok(!names.has(r.name), `duplicate log name ${r.name}`);
    names.add(r.name);
    assert.ok(Number.isFinite(await scalar(r.value(model, x, y, CTX))), `${name}: value not finite`);
  }
  assert.deepEqual([...REGULARIZERS].sort(), Object.keys(CONFIGS).sort());
  assert.throws(() => regularizer('ridge' as never, {} as never), /regularizer: unknown name "ridge"; use one of input-gradient, double-backprop/);
  assert.throws(() => regularizer('sagr', { trueWeight: -1 }), /sagr: trueWeight must be/);
  // Reachable from the notebooks' entry point.
  assert.equal(typeof lib.regularizer, 'function');
  assert.equal(typeof lib.warp, 'function');
  tf.dispose([...params, x, y]);
});
