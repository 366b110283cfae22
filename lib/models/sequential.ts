// A model as a list of layers, with normalization of [0,1] inputs inside.
import * as tf from '@tensorflow/tfjs';
import type { Mode, Model } from '../types';
import type { Layer } from './layers';

export class SequentialModel implements Model {
  mode: Mode = 'train';
  readonly variables: tf.Variable[];
  readonly state: tf.Variable[];

  constructor(
    readonly name: string,
    readonly inputShape: readonly [number, number, number],
    readonly numClasses: number,
    private readonly layers: Layer[],
    /** Per-channel mean and std applied to [0,1] inputs (normalization lives inside the model). */
    private readonly norm?: { mean: number[]; std: number[] },
  ) {
    this.variables = layers.flatMap((l) => l.variables);
    this.state = layers.flatMap((l) => l.state);
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    const [h, w, c] = this.inputShape;
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw new Error(`${this.name} expects inputs [B, ${h}, ${w}, ${c}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      if (this.norm) y = tf.div(tf.sub(y, this.norm.mean), this.norm.std);
      for (const l of this.layers) y = l.apply(y, this.mode);
      return y as tf.Tensor2D;
    });
  }

  commitStats(): void {
    for (const l of this.layers) l.commitStats?.();
  }

  paramCount(): number {
    return this.variables.reduce((a, v) => a + v.size, 0);
  }

  dispose(): void {
    tf.dispose([...this.variables, ...this.state]);
  }
}

/** Runs fn with the model in `mode`, restoring the previous mode afterwards. */
export function withMode<T>(model: Model, mode: Mode, fn: () => T): T {
  const prev = model.mode;
  model.mode = mode;
  try {
    return fn();
  } finally {
    model.mode = prev;
  }
}
