// A model's weights (trainable and state) as a file under the job data folder, named by their digest, so an evaluation job's
// worker evaluates exactly the submitter's weights. Same format as a checkpoint (verified on load); written once, atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../types';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint';
import { weightsDigest } from '../train/cache-key';
import { jobDataDir } from './job-data';

/** Writes `model`'s weights if no file of that digest exists; returns the file name (relative to jobDataDir()) and digest. */
export async function writeModelWeights(model: Model): Promise<{ file: string; digest: string }> {
  const digest = weightsDigest(model);
  const file = `weights-${digest}.ckpt`;
  const abs = path.join(jobDataDir(), file);
  if (!fs.existsSync(abs)) {
    await saveCheckpoint(abs, { key: digest, epoch: 0, done: true, optimizerStep: 0, history: [], meta: {} },
      { variables: model.variables, state: model.state, optimizer: [] });
  }
  return { file, digest };
}

/** Sets `model`'s weights from a file written by writeModelWeights; throws when it is missing, corrupt or for another model. */
export function readModelWeights(model: Model, ref: { file: string; digest: string }): void {
  const abs = path.join(jobDataDir(), ref.file);
  if (!fs.existsSync(abs)) throw new Error(`model weights ${abs} are missing: workers must share the submitter's data folder (GRADREG_DATA)`);
  const ck = loadCheckpoint(abs);
  const { variables, state } = ck.groups;
  const fits = (vs: tf.Variable[], arrays: Float32Array[]) => vs.length === arrays.length && vs.every((v, i) => v.size === arrays[i].length);
  if (ck.header.key !== ref.digest || !fits(model.variables, variables) || !fits(model.state, state)) {
    throw new Error(`model weights ${abs} do not fit ${model.name} (another architecture or file): rerun the notebook to rewrite them`);
  }
  tf.tidy(() => {
    model.variables.forEach((v, i) => v.assign(tf.tensor(variables[i], v.shape)));
    model.state.forEach((v, i) => v.assign(tf.tensor(state[i], v.shape)));
  });
  if (weightsDigest(model) !== ref.digest) throw new Error(`model weights ${abs}: the loaded weights do not match their digest`);
}
