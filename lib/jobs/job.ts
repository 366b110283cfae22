// The unit of work a runner executes: train one (method, seed) and leave its checkpoint in the cache. Plain JSON, so another
// process (lib/jobs/local-runner.ts) or another machine (a queue worker) can run it; the submitter computed the cache key
// and the worker refuses to train under another one (a different commit, backend or data would otherwise train a model
// the submitter never finds).
import type { BackendName } from '../backend';
import type { ModelSpec } from '../models/zoo';
import type { TrainConfig } from '../train/trainer';
import type { TermRecipe } from '../train/term-recipe';
import type { DataRecipe } from '../data/dataset';

/** Bump when the shape of TrainJob changes (a worker refuses jobs of another version). */
export const TRAIN_JOB_VERSION = 1;

/** Where a job's data comes from: a recipe (load by name, then take subsets), or a content-addressed file under the data dir. */
export type JobData =
  | { readonly kind: 'recipe'; readonly recipe: DataRecipe }
  | { readonly kind: 'file'; readonly file: string; readonly sha256: string; readonly name: string };

export interface TrainJob {
  readonly kind: 'train';
  readonly v: number;
  /** "<method label> (seed s)": what messages and progress bars call the job. */
  readonly label: string;
  readonly methodId: string;
  /** Model initialization seed (the training seed is train.seed; trainMethods uses the same value for both). */
  readonly seed: number;
  readonly data: JobData;
  readonly model: ModelSpec;
  readonly train: TrainConfig;
  readonly terms: readonly TermRecipe[];
  /** What identifies the model in the cache key (trainMethods: { spec, method }). */
  readonly modelKey: unknown;
  readonly backend: BackendName;
  /** The cache key the submitter computed: the checkpoint it will look for. */
  readonly key: string;
}

export interface TrainJobResult {
  key: string;
  /** The checkpoint file the job left (finished unless the run ended at chance accuracy: see the trainer). */
  checkpoint: string;
  trainSeconds: number;
}

/** Checks that `v` is a TrainJob this code can run; throws naming the problem. */
export function checkTrainJob(v: unknown): TrainJob {
  const j = v as Partial<TrainJob> | null;
  const bad = (what: string) => new Error(`not a gradreg training job: ${what}`);
  if (!j || typeof j !== 'object' || j.kind !== 'train') throw bad('kind must be "train"');
  if (j.v !== TRAIN_JOB_VERSION) throw bad(`version ${String(j.v)}, this code runs version ${TRAIN_JOB_VERSION} (update the worker's checkout)`);
  if (typeof j.key !== 'string' || !j.key) throw bad('no key');
  if (typeof j.label !== 'string' || typeof j.methodId !== 'string' || !Number.isInteger(j.seed)) throw bad('label, methodId and an integer seed are required');
  if (!j.data || (j.data.kind !== 'recipe' && j.data.kind !== 'file')) throw bad('data must be a recipe or a file');
  if (!Array.isArray(j.terms) || j.terms.length === 0) throw bad('no loss terms');
  if (!j.model || !j.train || typeof j.backend !== 'string') throw bad('model, train and backend are required');
  return j as TrainJob;
}
