// Issue 17: does FGR train stably on the quick profile (wasm, the real trainer, no cache)? Per-epoch CE, penalty, total, accuracy
// and the trainer's checks. usage: npx tsx scripts/experiments/fgr-converge.ts relu|softplus4 LAMBDA [epochs=3] [lr=1e-3] [cosine] [fgr|igr|fgr+at]
import * as gr from '../../lib/index';

async function main(): Promise<void> {
  const [act, lamArg, epArg, lrArg, sched, method = 'fgr'] = process.argv.slice(2);
  const lambda = Number(lamArg), epochs = Number(epArg ?? 3), lr = Number(lrArg ?? 1e-3);
  await gr.initBackend('wasm', { quiet: true });
  const data = (await gr.loadDataset('fashion-mnist')).take(5000, { seed: 0, nTest: 150 });
  const spec: gr.ModelSpec = act === 'relu' ? { arch: 'small-cnn' } : { arch: 'small-cnn', activation: 'softplus', softplusBeta: Number(act.slice(8) || 1) };
  const model = gr.createModel(spec, { inputShape: data.shape, numClasses: 10, seed: 0 });
  const terms = lambda === 0 ? [gr.crossEntropyTerm()]
    : method === 'igr' ? [gr.crossEntropyTerm(), gr.doubleBackprop({ weight: 2 * lambda / 128 ** 2 })]
    : method === 'fgr+at' ? [gr.flowAT({ eps: 0.05, steps: 3 }), gr.flowGradient({ lambda, randomStartSigma: 0.01 })]
    : [gr.crossEntropyTerm(), gr.flowGradient({ lambda, randomStartSigma: 0.01 })];
  const res = await gr.train(model, data, { epochs, batchSize: 128, optimizer: { kind: 'adam', lr }, seed: 0,
    schedule: sched === 'cosine' ? { kind: 'cosine' } : undefined },
    { terms, modelKey: { spec, probe: 'fgr-converge' }, cache: false, quiet: true });
  for (const h of res.history) {
    console.log(`${method} ${act} lambda ${lambda} epoch ${h.epoch}: total ${h.loss.toFixed(3)} ` +
      `${Object.entries(h.terms).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(' ')} test ${h.testAcc.toFixed(3)} (${h.seconds.toFixed(0)} s)`);
  }
  for (const c of res.checks) console.log(`  ${c.name}: ${c.pass ? 'pass' : 'FAIL'} ${c.detail}`);
}
void main();
