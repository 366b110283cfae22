// The second kind of job: run the strong evaluation protocol (lib/eval/protocol.ts) on one model under one threat model and
// leave every attack's per-example result in the evaluation cache. Plain JSON like a training job (lib/jobs/job.ts): the model
// travels as its spec plus a content-addressed weights file, the data as a recipe or data file, the library attacks as recipes.
// The submitter's notebook then runs strongEvaluation as usual and finds every attack cached; the worker refuses to evaluate
// under another code version or model key (its results would be stored where the notebook never looks).
import type { BackendName } from '../backend';
import type { ModelSpec, ModelOptions } from '../models/zoo';
import type { AttackRecipe } from '../attacks/recipe';
import type { StrongEvaluationOptions } from '../eval/protocol';
import type { JobData } from './job';

/** Bump when the shape of EvalJob changes (a worker refuses jobs of another version). */
export const EVAL_JOB_VERSION = 1;

/** strongEvaluation's options as data: the paper attacks as recipes, no callbacks (the rest is already plain data). */
export type EvalJobOptions = Omit<StrongEvaluationOptions, 'paperAttacks' | 'quiet' | 'onProgress' | 'cache'> & { paperAttacks?: AttackRecipe[] };

export interface EvalJob {
  readonly kind: 'eval';
  readonly v: number;
  /** What messages and progress bars call the job, e.g. "FGR λ=300 (seed 0) flow". */
  readonly label: string;
  readonly model: {
    readonly spec: ModelSpec;
    readonly options: ModelOptions;
    /** The weights: a file under the job data folder (lib/jobs/model-weights.ts), named by their digest. */
    readonly weights: { readonly file: string; readonly digest: string };
  };
  readonly data: JobData;
  readonly options: EvalJobOptions;
  readonly backend: BackendName;
  /** What the submitter's evaluation cache keys contain (lib/eval/cache.ts): the worker must compute the same. */
  readonly expect: { readonly code: string; readonly model: string };
  /** Identifies the job (a queue's job id): a hash of everything above but the label. */
  readonly key: string;
}

export interface EvalJobResult {
  key: string;
  /** Attack runs of the protocol and how many of them the worker found already cached. */
  results: number;
  cachedResults: number;
  seconds: number;
}

/** Checks that `v` is an EvalJob this code can run; throws naming the problem. */
export function checkEvalJob(v: unknown): EvalJob {
  const j = v as Partial<EvalJob> | null;
  const bad = (what: string) => new Error(`not a gradreg evaluation job: ${what}`);
  if (!j || typeof j !== 'object' || j.kind !== 'eval') throw bad('kind must be "eval"');
  if (j.v !== EVAL_JOB_VERSION) throw bad(`version ${String(j.v)}, this code runs version ${EVAL_JOB_VERSION} (update the worker's checkout)`);
  if (typeof j.key !== 'string' || !j.key || typeof j.label !== 'string') throw bad('key and label are required');
  if (!j.model || !j.model.spec || !j.model.options || !j.model.weights || typeof j.model.weights.file !== 'string') throw bad('model spec, options and weights are required');
  if (!j.data || (j.data.kind !== 'recipe' && j.data.kind !== 'file')) throw bad('data must be a recipe or a file');
  if (!j.options || typeof j.options.threat !== 'string' || !Array.isArray(j.options.eps)) throw bad('options { threat, eps } are required');
  if (!j.expect || typeof j.expect.code !== 'string' || typeof j.expect.model !== 'string' || typeof j.backend !== 'string') throw bad('expect and backend are required');
  return j as EvalJob;
}
