// Issue 17 diagnosis: dumps the quick model's weights, one training batch, its FGR random start and the wasm weight gradient
// of the FULL training loss (CE + lambda * FGR), for an independent check in PyTorch (fgr-check.py).
// usage: npx tsx scripts/experiments/fgr-dump.ts OUT.json [lambda=1000] [warmSteps=0] [fgr|igr]
// igr: CE + doubleBackprop({ weight: 2 lambda / B^2 }) instead (the notebook's IGR), on the same softplus(4x)/4 net.
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as gr from '../../lib/index';
import { flowRandomStart } from '../../lib/regularizers/flow-gradient';
import { deriveSeed } from '../../lib/data/rng';

async function main(): Promise<void> {
const [out, lamArg, warmArg, method = 'fgr'] = process.argv.slice(2);
const lambda = Number(lamArg ?? 1000), warm = Number(warmArg ?? 0);
await gr.initBackend('wasm', { quiet: true });
const data = (await gr.loadDataset('fashion-mnist')).take(5000, { seed: 0, nTest: 150 });
const model = gr.createModel(method === 'igr' ? { arch: 'small-cnn', activation: 'softplus', softplusBeta: 4 } : { arch: 'small-cnn' }, { inputShape: data.shape, numClasses: 10, seed: 0 });
const terms = [gr.crossEntropyTerm(), method === 'igr' ? gr.doubleBackprop({ weight: 2 * lambda / 128 ** 2 }) : gr.flowGradient({ lambda, randomStartSigma: 0.01 })];
const opt = gr.createOptimizer({ kind: 'adam', lr: 1e-3 }, model.variables);
let s = 0;
const it = data.batches('train', { size: 128, seed: 7, shuffle: true });
for (const b of it) {
  if (s === warm) {
    const ctx = { epoch: 0, step: s, seed: 4242 };
    const xs = flowRandomStart(b.x, 0.01, deriveSeed(ctx.seed, 0x4647));
    model.mode = 'train';
    const { value, grads } = tf.variableGrads(() => tf.add(terms[0].value(model, b.x, b.y, ctx), tf.mul(terms[1].value(model, b.x, b.y, ctx), terms[1].weight)) as tf.Scalar, model.variables);
    const ce = terms[0].value(model, b.x, b.y, ctx).dataSync()[0], reg = terms[1].value(model, b.x, b.y, ctx).dataSync()[0];
    const arr = (t: tf.Tensor) => ({ shape: t.shape, data: Array.from(t.dataSync()) });
    fs.writeFileSync(out, JSON.stringify({
      lambda, warm, method, ce, reg, total: value.dataSync()[0],
      x: arr(b.x), xs: arr(xs), y: Array.from(b.y.dataSync()),
      weights: model.variables.map(arr), grads: model.variables.map((v) => arr(grads[v.name])),
    }));
    console.log(`step ${s}: ce ${ce} reg ${reg} total ${value.dataSync()[0]}`);
    break;
  }
  const v = gr.trainStep(model, b.x, b.y, terms, { epoch: 0, step: s, seed: deriveSeed(0, 0, s) }, opt, 1e-3);
  if (s % 10 === 0) console.log(`warm step ${s}: ce ${v[0].toFixed(4)} reg ${v[1].toExponential(3)}`);
  tf.dispose([b.x, b.y]);
  s++;
}
}
void main();
