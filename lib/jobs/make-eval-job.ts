// From a (model, data, strong-evaluation options) about to be evaluated in this process to an EvalJob another process can run,
// or the reason it cannot.
import type { Model } from '../types';
import { backendReport } from '../backend';
import { modelOrigin } from '../models/zoo';
import { SequentialModel } from '../models/sequential';
import { attackRecipe, type AttackRecipe } from '../attacks/recipe';
import type { StrongEvaluationOptions } from '../eval/protocol';
import type { EvalData } from '../eval/robustness';
import { evalCodeDigest, modelKey } from '../eval/cache';
import { configHash } from '../experiment/params';
import { EVAL_JOB_VERSION, type EvalJob, type EvalJobOptions } from './eval-job';
import { jobData } from './job-data';
import { writeModelWeights } from './model-weights';

export interface EvalJobSource {
  label: string;
  model: Model;
  data: EvalData;
  options: StrongEvaluationOptions;
}

/** The paper attacks as recipes (a function is called at every eps, as strongEvaluation does), or why they cannot travel. */
function paperRecipes(o: StrongEvaluationOptions): { recipes?: AttackRecipe[] } | { reason: string } {
  if (o.paperAttacks === undefined) return {};
  const eps = [...new Set(o.eps)];
  const list = typeof o.paperAttacks === 'function'
    ? eps.flatMap((e) => { const p = (o.paperAttacks as (e: number) => unknown)(e); return (Array.isArray(p) ? p : [p]) as never[]; })
    : o.paperAttacks;
  const recipes: AttackRecipe[] = [];
  for (const a of list) {
    const r = attackRecipe(a);
    if (!r) return { reason: `paper attack "${(a as { name?: string }).name}" was not made by a library attack factory (gr.flowPgd, gr.apgd, ...)` };
    recipes.push(r);
  }
  return { recipes };
}

/** The job for `src`, or why it must be evaluated in this process. Writes the model's weights file (and data file) if needed. */
export async function makeEvalJob(src: EvalJobSource): Promise<{ job: EvalJob } | { reason: string }> {
  const o = src.options;
  const origin = modelOrigin(src.model);
  if (!origin) return { reason: 'the model was not made by createModel (lib/models), so another process cannot rebuild it' };
  if (!(src.model instanceof SequentialModel) || src.model.logits !== SequentialModel.prototype.logits) return { reason: 'the model\'s logits() is not the library\'s' };
  if (!o || typeof o !== 'object') return { reason: 'no options' };
  if (o.cache === false) return { reason: 'cache: false (a worker hands its results back through the evaluation cache)' };
  if (!('name' in src.data && 'classNames' in src.data)) return { reason: 'the data are tensors, not a data set (lib/data)' };
  const data = jobData(src.data);
  if ('reason' in data) return { reason: data.reason };
  const paper = paperRecipes(o);
  if ('reason' in paper) return { reason: paper.reason };
  const options: EvalJobOptions = {
    threat: o.threat, eps: o.eps, headlineEps: o.headlineEps, n: o.n, seed: o.seed, batchSize: o.batchSize, budget: o.budget,
    paperAttacks: paper.recipes, paperInWorstCase: o.paperInWorstCase, largeEps: o.largeEps, convergence: o.convergence,
    cacheDir: o.cacheDir, sanity: o.sanity, padding: o.padding,
  };
  const weights = await writeModelWeights(src.model);
  const body = {
    kind: 'eval' as const, v: EVAL_JOB_VERSION, model: { ...origin, weights }, data, options: JSON.parse(JSON.stringify(options)) as EvalJobOptions,
    backend: backendReport().name, expect: { code: evalCodeDigest(), model: configHash(modelKey(src.model)) },
  };
  // What the worker gets is the JSON: anything that changes on the way (Infinity, NaN) would change what it evaluates.
  let same = false;
  try { same = configHash(JSON.parse(JSON.stringify(options))) === configHash(options); } catch { same = false; }
  if (!same) return { reason: 'its options are not plain JSON data (Infinity or NaN?)' };
  return { job: { ...body, label: src.label, key: configHash(body).slice(0, 32) } };
}
