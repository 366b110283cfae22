// The small training jobs of the queue tests (what "identical checkpoint" means: ./checkpoint-fingerprint.ts).
export { fingerprint } from './checkpoint-fingerprint';
import { loadDataset } from '../../lib/data/index';
import { createModel, type ModelSpec } from '../../lib/models/index';
import { crossEntropyTerm } from '../../lib/train/terms';
import { doubleBackprop } from '../../lib/regularizers/input-gradient';
import { train, type TrainConfig } from '../../lib/train/trainer';
import type { LossTerm } from '../../lib/types';
import { makeTrainJob } from '../../lib/jobs/make-job';
import type { TrainJob } from '../../lib/jobs/job';

export const SPEC: ModelSpec = { arch: 'small-cnn', width: 4, hidden: 16 };

const METHODS: Record<string, () => LossTerm[]> = {
  ce: () => [crossEntropyTerm()],
  db: () => [crossEntropyTerm(), doubleBackprop({ weight: 0.1 })],
};

export interface Case {
  method: keyof typeof METHODS;
  seed: number;
  train: TrainConfig;
}

export function tinyTrain(seed: number, over: Partial<TrainConfig> = {}): TrainConfig {
  return { epochs: 3, batchSize: 32, optimizer: { kind: 'adam', lr: 1e-2 }, seed, maxStepsPerEpoch: 3, evalSize: 32, ...over };
}

async function data() {
  return (await loadDataset('mnist')).take(128, { seed: 3, nTest: 32 });
}

/** The job for `c` (the backend must be initialized). */
export async function jobFor(c: Case): Promise<TrainJob> {
  const d = await data();
  const model = createModel(SPEC, { inputShape: d.shape, numClasses: 10, seed: c.seed });
  try {
    const r = makeTrainJob({ label: `${c.method} (seed ${c.seed})`, methodId: c.method, seed: c.seed, data: d, model, spec: SPEC, train: c.train,
      terms: METHODS[c.method](), modelKey: { spec: SPEC, method: c.method } });
    if ('reason' in r) throw new Error(`cannot make a job: ${r.reason}`);
    return r.job;
  } finally {
    model.dispose();
  }
}

/** Trains `c` in this process, the inline way, into the current GRADREG_DATA; returns the checkpoint file. */
export async function trainInline(c: Case): Promise<string> {
  const d = await data();
  const model = createModel(SPEC, { inputShape: d.shape, numClasses: 10, seed: c.seed });
  try {
    const r = await train(model, d, c.train, { terms: METHODS[c.method](), modelKey: { spec: SPEC, method: c.method }, quiet: true });
    return r.checkpoint;
  } finally {
    model.dispose();
  }
}

