// Validation of a model spec and its options before any tensor is made: notebooks are not type-checked, and a bad width or an
// input the architecture cannot take would otherwise fail deep inside tfjs (or, for a fractional width, not at all).
import { ACTIVATIONS } from './layers';

export const ARCHS = ['mlp', 'maxout-mlp', 'conv-maxout', 'small-cnn', 'lenet', 'vgg11', 'vgg13', 'preact-resnet18'] as const;
export type Arch = (typeof ARCHS)[number];

/** The fields each architecture takes besides `arch` (required ones first). */
const FIELDS: Record<Arch, { required: string[]; optional: string[] }> = {
  'mlp': { required: ['hidden', 'activation'], optional: [] },
  'maxout-mlp': { required: ['hidden', 'pieces'], optional: [] },
  'conv-maxout': { required: ['channels', 'hidden', 'pieces'], optional: [] },
  'small-cnn': { required: [], optional: ['width', 'hidden', 'activation', 'softplusBeta'] },
  'lenet': { required: [], optional: [] },
  'vgg11': { required: [], optional: ['widthScale'] },
  'vgg13': { required: [], optional: ['widthScale'] },
  'preact-resnet18': { required: [], optional: ['width'] },
};

/** Mean-pooling halvings of each architecture (its input side must divide by 2^n); the others use 'same' strided convs. */
const HALVINGS: Partial<Record<Arch, number>> = { lenet: 2, vgg11: 5, vgg13: 5 };

export interface ModelOptionsLike {
  inputShape: readonly [number, number, number];
  numClasses: number;
  seed: number;
  norm?: { mean: number[]; std: number[] };
}

const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v));

function positiveInt(where: string, name: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new Error(`${where}: ${name} must be a positive integer, got ${show(v)}`);
}

function positiveInts(where: string, name: string, v: unknown, nonEmpty: boolean): void {
  if (!Array.isArray(v) || (nonEmpty && v.length === 0)) {
    throw new Error(`${where}: ${name} must be ${nonEmpty ? 'a non-empty' : 'an'} array of positive integers, got ${show(v)}`);
  }
  v.forEach((u, i) => positiveInt(where, `${name}[${i}]`, u));
}

/**
 * Throws an error naming the field (and the fix) if `spec` or `opts` cannot make a model: unknown architecture, field or
 * activation; a width, depth or piece count that is not a positive integer (widthScale: a positive number); an input side the
 * architecture's pooling does not divide; a bad input shape, class count, seed or normalization.
 */
export function validateModelSpec(spec: unknown, opts: ModelOptionsLike): void {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new Error(`model spec must be an object like { arch: "small-cnn" }, got ${show(spec)}`);
  const s = spec as Record<string, unknown>;
  const arch = s.arch;
  if (!(ARCHS as readonly unknown[]).includes(arch)) throw new Error(`unknown architecture ${show(arch)}: use one of ${ARCHS.join(', ')}`);
  const a = arch as Arch;
  const where = `model spec (${a})`;
  const { required, optional } = FIELDS[a];
  for (const k of Object.keys(s)) {
    if (k !== 'arch' && !required.includes(k) && !optional.includes(k)) {
      const known = [...required, ...optional];
      throw new Error(`${where}: unknown field "${k}"; ${a} takes ${known.length ? known.join(', ') : 'no other fields'}`);
    }
  }
  for (const k of required) if (s[k] === undefined) throw new Error(`${where}: ${k} is required`);
  switch (a) {
    case 'mlp':
      positiveInts(where, 'hidden', s.hidden, false);
      if (!(ACTIVATIONS as readonly unknown[]).includes(s.activation)) throw new Error(`${where}: unknown activation ${show(s.activation)}: use one of ${ACTIVATIONS.join(', ')}`);
      break;
    case 'maxout-mlp':
      positiveInts(where, 'hidden', s.hidden, false);
      positiveInt(where, 'pieces', s.pieces);
      break;
    case 'conv-maxout':
      positiveInts(where, 'channels', s.channels, true);
      positiveInt(where, 'hidden', s.hidden);
      positiveInt(where, 'pieces', s.pieces);
      break;
    case 'small-cnn':
    case 'preact-resnet18':
      for (const k of ['width', 'hidden']) if (s[k] !== undefined) positiveInt(where, k, s[k]);
      if (s.activation !== undefined && !(ACTIVATIONS as readonly unknown[]).includes(s.activation)) {
        throw new Error(`${where}: unknown activation ${show(s.activation)}: use one of ${ACTIVATIONS.join(', ')}`);
      }
      if (s.softplusBeta !== undefined) {
        if (s.activation !== 'softplus') throw new Error(`${where}: softplusBeta needs activation "softplus", got activation ${show(s.activation)}`);
        if (!(typeof s.softplusBeta === 'number' && Number.isFinite(s.softplusBeta) && s.softplusBeta > 0)) {
          throw new Error(`${where}: softplusBeta must be a positive number (1 = plain softplus), got ${show(s.softplusBeta)}`);
        }
      }
      break;
    case 'vgg11': case 'vgg13':
      if (s.widthScale !== undefined && !(typeof s.widthScale === 'number' && Number.isFinite(s.widthScale) && s.widthScale > 0)) {
        throw new Error(`${where}: widthScale must be a positive number (1 = the published widths), got ${show(s.widthScale)}`);
      }
      break;
    case 'lenet':
      break;
  }
  validateOptions(a, where, opts);
}

function validateOptions(a: Arch, where: string, opts: ModelOptionsLike): void {
  if (typeof opts !== 'object' || opts === null) throw new Error(`${where}: options { inputShape, numClasses, seed } are required`);
  const shape = opts.inputShape as unknown;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${where}: inputShape must be [height, width, channels] of positive integers, got ${show(shape)}`);
  }
  const [h, w, c] = shape as number[];
  if (!(Number.isInteger(opts.numClasses) && opts.numClasses >= 2)) throw new Error(`${where}: numClasses must be an integer >= 2, got ${show(opts.numClasses)}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`${where}: seed must be an integer, got ${show(opts.seed)}`);
  const halvings = HALVINGS[a];
  if (halvings !== undefined) {
    const div = 2 ** halvings;
    if (h % div || w % div) {
      const fit = (d: number) => Math.max(div, Math.round(d / div) * div);
      throw new Error(`${where}: input ${h}x${w} does not fit: ${a} halves height and width ${halvings} times (2x2 mean pooling), so both ` +
        `must be divisible by ${div}. Use another architecture for this data (e.g. small-cnn or preact-resnet18, which take any size), ` +
        `or resize/pad the inputs to ${fit(h)}x${fit(w)}`);
    }
  }
  if (opts.norm !== undefined) {
    const { mean, std } = opts.norm;
    if (!Array.isArray(mean) || mean.length !== c || !mean.every(Number.isFinite)) throw new Error(`${where}: norm.mean must be ${c} finite numbers (one per channel), got ${show(mean)}`);
    if (!Array.isArray(std) || std.length !== c || !std.every((v) => Number.isFinite(v) && v > 0)) throw new Error(`${where}: norm.std must be ${c} positive numbers (one per channel), got ${show(std)}`);
  }
}
