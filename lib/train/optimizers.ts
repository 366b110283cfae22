// SGD (momentum, weight decay as in PyTorch) and Adam, with state that checkpoints can save and restore exactly.
import * as tf from '@tensorflow/tfjs';

export type OptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }
  | { kind: 'adam'; lr: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number };

export interface Optimizer {
  /** Applies one update with learning rate `lr` (the schedule's value for this step). */
  apply(vars: tf.Variable[], grads: Record<string, tf.Tensor>, lr: number): void;
  /** Named state tensors (for checkpoints) and the step count. */
  state(): { step: number; tensors: tf.Tensor[] };
  setState(step: number, tensors: tf.Tensor[]): void;
  dispose(): void;
}

export function createOptimizer(cfg: OptimizerConfig, vars: tf.Variable[]): Optimizer {
  const zeros = () => tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
  const wd = cfg.weightDecay ?? 0;
  let step = 0;
  if (cfg.kind === 'sgd') {
    const mom = cfg.momentum ?? 0;
    const buf = zeros();
    return {
      apply(vs, grads, lr) {
        tf.tidy(() => {
          vs.forEach((v, i) => {
            let g = grads[v.name];
            if (wd) g = g.add(v.mul(wd));
            if (mom) {
              // PyTorch: the first step initializes the buffer with the gradient.
              buf[i].assign(step === 0 ? g : buf[i].mul(mom).add(g));
              g = cfg.nesterov ? g.add(buf[i].mul(mom)) : buf[i];
            }
            v.assign(v.sub(g.mul(lr)));
          });
        });
        step++;
      },
      state: () => ({ step, tensors: buf }),
      setState(s, ts) { step = s; ts.forEach((t, i) => buf[i].assign(t)); },
      dispose: () => tf.dispose(buf),
    };
  }
  if (cfg.kind === 'adam') {
    const b1 = cfg.beta1 ?? 0.9, b2 = cfg.beta2 ?? 0.999, eps = cfg.epsilon ?? 1e-8;
    const m = zeros(), s = zeros();
    return {
      apply(vs, grads, lr) {
        step++;
        const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
        tf.tidy(() => {
          vs.forEach((v, i) => {
            let g = grads[v.name];
            if (wd) g = g.add(v.mul(wd));
            m[i].assign(m[i].mul(b1).add(g.mul(1 - b1)));
            s[i].assign(s[i].mul(b2).add(g.square().mul(1 - b2)));
            v.assign(v.sub(m[i].div(c1).div(s[i].div(c2).sqrt().add(eps)).mul(lr)));
          });
        });
      },
      state: () => ({ step, tensors: [...m, ...s] }),
      setState(st, ts) { step = st; ts.forEach((t, i) => (i < m.length ? m[i] : s[i - m.length]).assign(t)); },
      dispose: () => tf.dispose([...m, ...s]),
    };
  }
  throw new Error(`unknown optimizer "${(cfg as { kind: string }).kind}": use sgd or adam`);
}

export type ScheduleConfig = { kind: 'constant' } | { kind: 'step'; milestones: number[]; gamma: number } | { kind: 'cosine'; minLr?: number };

/** Learning rate at a fractional epoch (epoch + batch/batches). */
export function learningRate(base: number, sched: ScheduleConfig | undefined, epoch: number, epochs: number): number {
  if (!sched || sched.kind === 'constant') return base;
  if (sched.kind === 'step') return base * sched.gamma ** sched.milestones.filter((m) => epoch >= m).length;
  if (sched.kind === 'cosine') {
    const min = sched.minLr ?? 0;
    return min + ((base - min) * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
  }
  throw new Error(`unknown schedule "${(sched as { kind: string }).kind}": use constant, step or cosine`);
}
