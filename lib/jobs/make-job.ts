// From a (method, seed) about to be trained in this process to a TrainJob another process can run, or the reason it cannot.
import type { DataSet, LossTerm, Model } from '../types';
import { backendReport } from '../backend';
import type { ModelSpec } from '../models/zoo';
import { trainKey, UncacheableError } from '../train/cache-key';
import type { TrainConfig } from '../train/trainer';
import { configHash } from '../experiment/params';
import { TRAIN_JOB_VERSION, type TrainJob } from './job';
import { jobData } from './job-data';
import { serializableRecipe } from './term-factories';
import type { TermRecipe } from '../train/term-recipe';

export interface JobSource {
  label: string;
  methodId: string;
  seed: number;
  data: DataSet;
  /** The model as built here (createModel(spec, { seed })): the key covers its initial weights. */
  model: Model;
  spec: ModelSpec;
  train: TrainConfig;
  terms: LossTerm[];
  modelKey: unknown;
}

/** The job for `src`, or why it must train in this process (a term without recipe, data or key that cannot travel). */
export function makeTrainJob(src: JobSource): { job: TrainJob } | { reason: string } {
  const terms: TermRecipe[] = [];
  for (const t of src.terms) {
    const r = serializableRecipe(t);
    if ('reason' in r) return { reason: r.reason };
    terms.push(r.recipe);
  }
  let key: string;
  try {
    key = trainKey(src.model, src.data, src.train, { terms: src.terms, modelKey: src.modelKey });
  } catch (e) {
    if (e instanceof UncacheableError) return { reason: `the run cannot be keyed (${e.message}), so no other process can hand back its checkpoint` };
    throw e;
  }
  const data = jobData(src.data);
  if ('reason' in data) return { reason: data.reason };
  const job: TrainJob = {
    kind: 'train', v: TRAIN_JOB_VERSION, label: src.label, methodId: src.methodId, seed: src.seed, data, model: src.spec,
    train: src.train, terms, modelKey: src.modelKey, backend: backendReport().name, key,
  };
  // What the worker gets is the JSON: anything that changes on the way (Infinity, a class instance) would change the key.
  let same = false;
  try { same = configHash(JSON.parse(JSON.stringify(job))) === configHash(job); } catch { same = false; }
  if (!same) return { reason: 'its model spec or training config is not plain JSON data (Infinity, NaN or an object with methods?)' };
  return { job };
}
