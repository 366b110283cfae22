// Model factories: every architecture the five papers use, each seeded and twice differentiable on every backend.
import * as tf from '@tensorflow/tfjs';
import type { Layer } from './layers';
import { activation, batchNorm, conv, dense, flatten, globalMeanPool, maxout, meanPool, seeder, type Activation } from './layers';
import { SequentialModel } from './sequential';
import { ARCHS, validateModelSpec } from './spec';

export { ARCHS, validateModelSpec };

export type ModelSpec =
  | { arch: 'mlp'; hidden: number[]; activation: Activation }
  | { arch: 'maxout-mlp'; hidden: number[]; pieces: number }
  | { arch: 'conv-maxout'; channels: number[]; hidden: number; pieces: number }
  /** softplusBeta (activation 'softplus' only): softplus(beta x) / beta, closer to ReLU as beta grows; default 1. */
  | { arch: 'small-cnn'; width?: number; hidden?: number; activation?: Activation; softplusBeta?: number }
  | { arch: 'lenet' }
  | { arch: 'vgg11' | 'vgg13'; widthScale?: number }
  | { arch: 'preact-resnet18'; width?: number };

export interface ModelOptions {
  inputShape: readonly [number, number, number];
  numClasses: number;
  seed: number;
  /** Per-channel normalization applied inside the model (e.g. CIFAR mean/std). */
  norm?: { mean: number[]; std: number[] };
}

const VGG: Record<'vgg11' | 'vgg13', (number | 'P')[]> = {
  vgg11: [64, 'P', 128, 'P', 256, 256, 'P', 512, 512, 'P', 512, 512, 'P'],
  vgg13: [64, 64, 'P', 128, 128, 'P', 256, 256, 'P', 512, 512, 'P', 512, 512, 'P'],
};

function describe(spec: ModelSpec): string {
  switch (spec.arch) {
    case 'mlp': return `mlp-${spec.activation}-${spec.hidden.join('x')}`;
    case 'maxout-mlp': return `maxout-mlp-${spec.hidden.join('x')}k${spec.pieces}`;
    case 'conv-maxout': return `conv-maxout-${spec.channels.join('x')}-${spec.hidden}k${spec.pieces}`;
    case 'small-cnn': return `small-cnn-${spec.width ?? 16}${spec.activation && spec.activation !== 'relu' ? `-${spec.activation}${spec.softplusBeta ?? 1}` : ''}`;
    case 'vgg11': case 'vgg13': return `${spec.arch}-bn${spec.widthScale && spec.widthScale !== 1 ? `-x${spec.widthScale}` : ''}`;
    case 'preact-resnet18': return `preact-resnet18${spec.width ? `-w${spec.width}` : ''}`;
    default: return spec.arch;
  }
}

/** A pre-activation residual block (He et al. 2016): BN-ReLU-conv-BN-ReLU-conv + shortcut (1x1 strided conv when shapes change). */
function preactBlock(cin: number, cout: number, stride: number, next: () => number): Layer {
  const bn1 = batchNorm(cin), c1 = conv(3, cin, cout, stride, next(), false), bn2 = batchNorm(cout), c2 = conv(3, cout, cout, 1, next(), false);
  const short = stride !== 1 || cin !== cout ? conv(1, cin, cout, stride, next(), false) : undefined;
  const parts = [bn1, c1, bn2, c2, ...(short ? [short] : [])];
  return {
    variables: parts.flatMap((p) => p.variables),
    state: parts.flatMap((p) => p.state),
    apply: (x, mode) => {
      const a = activation('relu').apply(bn1.apply(x, mode), mode);
      const s = short ? short.apply(a, mode) : x;
      const h = c2.apply(activation('relu').apply(bn2.apply(c1.apply(a, mode), mode), mode), mode);
      return h.add(s);
    },
    commitStats: () => { bn1.commitStats!(); bn2.commitStats!(); },
  };
}

/** Creates a model from its spec; a bad spec or an input the architecture cannot take is an error before any tensor is made. */
export function createModel(spec: ModelSpec, opts: ModelOptions): SequentialModel {
  validateModelSpec(spec, opts);
  const next = seeder(opts.seed);
  const [h, w, c] = opts.inputShape;
  const k = opts.numClasses;
  const d = h * w * c;
  const layers: Layer[] = [];
  switch (spec.arch) {
    case 'mlp': {
      let prev = d;
      layers.push(flatten());
      for (const u of spec.hidden) { layers.push(dense(prev, u, next()), activation(spec.activation)); prev = u; }
      layers.push(dense(prev, k, next()));
      break;
    }
    case 'maxout-mlp': {
      let prev = d;
      layers.push(flatten());
      for (const u of spec.hidden) { layers.push(dense(prev, u * spec.pieces, next()), maxout(spec.pieces)); prev = u; }
      layers.push(dense(prev, k, next()));
      break;
    }
    case 'conv-maxout': {
      // Lyu et al.'s conv maxout net, with strided convolutions in place of max pooling (second-order safe).
      let prev = c;
      for (const ch of spec.channels) { layers.push(conv(5, prev, ch * spec.pieces, 2, next()), maxout(spec.pieces)); prev = ch; }
      const side = spec.channels.reduce((s) => Math.ceil(s / 2), h) * spec.channels.reduce((s) => Math.ceil(s / 2), w);
      layers.push(flatten(), dense(side * prev, spec.hidden * spec.pieces, next()), maxout(spec.pieces), dense(spec.hidden, k, next()));
      break;
    }
    case 'small-cnn': {
      // The reference net of the benchmark: conv5x5/w s2 -> conv5x5/2w s2 -> fc hidden -> fc classes, ReLU by default.
      // softplus: a gradient penalty's weight gradient through ReLU drops every activation switch (ReLU'' = 0); strong
      // penalties (FGR on quick) then train unstably, with a smooth activation they converge (issue 17, notebook 02).
      const wd = spec.width ?? 16;
      const hid = spec.hidden ?? 100;
      const beta = spec.softplusBeta ?? 1;
      const act = (): Layer => (spec.activation === 'softplus' && beta !== 1
        ? { variables: [], state: [], apply: (x) => tf.div(tf.softplus(tf.mul(x, beta)), beta) }
        : activation(spec.activation ?? 'relu'));
      layers.push(conv(5, c, wd, 2, next()), act(), conv(5, wd, 2 * wd, 2, next()), act(), flatten(),
        dense(Math.ceil(h / 4) * Math.ceil(w / 4) * 2 * wd, hid, next()), act(), dense(hid, k, next()));
      break;
    }
    case 'lenet': {
      // LeNet-5 shape with ReLU and mean pooling ('same' convs keep 28 -> 14 -> 7).
      layers.push(conv(5, c, 6, 1, next()), activation('relu'), meanPool(2), conv(5, 6, 16, 1, next()), activation('relu'), meanPool(2),
        flatten(), dense((h / 4) * (w / 4) * 16, 120, next()), activation('relu'), dense(120, 84, next()), activation('relu'), dense(84, k, next()));
      break;
    }
    case 'vgg11': case 'vgg13': {
      // VGG with batch norm as in the FGR code; 2x2 max pooling replaced by 2x2 mean pooling (max pooling has no second-order
      // gradient in tfjs). widthScale < 1 shrinks the channels for tests and small profiles.
      const scale = spec.widthScale ?? 1;
      let prev = c;
      let sh = h, sw = w;
      for (const v of VGG[spec.arch]) {
        if (v === 'P') { layers.push(meanPool(2)); sh /= 2; sw /= 2; continue; }
        const ch = Math.max(1, Math.round(v * scale));
        layers.push(conv(3, prev, ch, 1, next(), false), batchNorm(ch), activation('relu'));
        prev = ch;
      }
      layers.push(flatten(), dense(sh * sw * prev, k, next()));
      break;
    }
    case 'preact-resnet18': {
      const wd = spec.width ?? 64;
      layers.push(conv(3, c, wd, 1, next(), false));
      let prev = wd;
      [[wd, 1], [2 * wd, 2], [4 * wd, 2], [8 * wd, 2]].forEach(([ch, s]) => {
        layers.push(preactBlock(prev, ch, s, next), preactBlock(ch, ch, 1, next));
        prev = ch;
      });
      const bn = batchNorm(prev);
      layers.push(bn, activation('relu'), globalMeanPool(), dense(prev, k, next()));
      break;
    }
    default:
      throw new Error(`unknown architecture "${(spec as { arch: string }).arch}": use one of ${ARCHS.join(', ')}`); // validated above
  }
  const model = new SequentialModel(describe(spec), opts.inputShape, k, layers, opts.norm);
  let copy: { spec: ModelSpec; options: ModelOptions } | undefined;
  try { copy = structuredClone({ spec, options: opts }); } catch { copy = undefined; }
  if (copy) built.set(model, copy);
  return model;
}

// What each model was created from, beside the object (as loss-term recipes are): another process rebuilds the architecture
// from it and then receives the weights (an evaluation job, lib/jobs/eval-job.ts).
const built = new WeakMap<SequentialModel, { spec: ModelSpec; options: ModelOptions }>();

/** The spec and options `model` was created with by createModel, or undefined for a model made otherwise. */
export function modelOrigin(model: unknown): { spec: ModelSpec; options: ModelOptions } | undefined {
  return model instanceof SequentialModel ? built.get(model) : undefined;
}
