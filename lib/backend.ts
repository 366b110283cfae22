// Chooses the fastest TensorFlow.js backend that works here and says why faster ones were skipped.
import * as tf from '@tensorflow/tfjs';
import { registerWasmKernels } from './tf/wasm-kernels';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Order of preference, fastest first. 'tensorflow-gpu' and 'tensorflow' are both the tfjs "tensorflow" backend. */
export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendReport {
  /** What runs: one of BACKENDS. */
  name: BackendName;
  /** Name tfjs itself reports (tf.getBackend()). */
  tfName: string;
  /** Why each faster backend was not used. */
  skipped: { name: BackendName; reason: string }[];
  /** Set when GRADREG_BACKEND (or the argument) forced the choice. */
  forced: boolean;
  /** Family used in cache keys: numbers differ slightly across families. */
  family: 'tensorflow' | 'wasm' | 'cpu';
}

const NODE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendReport | undefined;

function tryNodeBinding(name: 'tensorflow-gpu' | 'tensorflow'): string | undefined {
  const pkg = NODE_PACKAGES[name];
  try {
    // danfojs-node's override can leave plain @tensorflow/tfjs under this name: check the real package is there.
    const meta = require(`${pkg}/package.json`) as { name?: string };
    if (meta.name !== pkg) return `${pkg} is not installed (found ${meta.name ?? 'another package'} under its name)`;
  } catch {
    return `${pkg} is not installed (GPU/CPU users with internet: npm install ${pkg}@4.22.0)`;
  }
  try {
    require(pkg);
    return undefined;
  } catch (e) {
    return `${pkg} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  const aliases: Record<string, BackendName> = {
    'tensorflow-gpu': 'tensorflow-gpu', 'node-gpu': 'tensorflow-gpu', gpu: 'tensorflow-gpu',
    tensorflow: 'tensorflow', node: 'tensorflow', wasm: 'wasm', cpu: 'cpu',
  };
  const b = aliases[v];
  if (!b) throw new Error(`GRADREG_BACKEND="${value}" is not a backend: use one of ${BACKENDS.join(', ')} (or unset it to pick the fastest).`);
  return b;
}

async function activate(name: BackendName): Promise<string | undefined> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    const why = tryNodeBinding(name);
    if (why) return why;
    return (await tf.setBackend('tensorflow')) ? undefined : `${NODE_PACKAGES[name]} loaded but the tensorflow backend did not initialize`;
  }
  if (name === 'wasm') {
    // The emscripten module adds process-wide uncaughtException/unhandledRejection handlers that rethrow and print
    // the whole minified module source: remove them so errors read as errors.
    const before = { ue: process.listeners('uncaughtException'), ur: process.listeners('unhandledRejection') };
    try {
      require('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      return `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
    registerWasmKernels();
    const ok = await tf.setBackend('wasm');
    for (const l of process.listeners('uncaughtException')) if (!before.ue.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.ur.includes(l)) process.removeListener('unhandledRejection', l);
    return ok ? undefined : 'the wasm backend did not initialize';
  }
  const ok = await tf.setBackend('cpu');
  // tfjs prints a banner suggesting tfjs-node on the cpu backend's first use in Node; our report already says so.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
  return ok ? undefined : 'the cpu backend did not initialize';
}

/**
 * Selects the backend: `preferred` or GRADREG_BACKEND forces one (and fails if it cannot start);
 * otherwise the first of BACKENDS that starts. Idempotent: a second call with the same choice returns the same report.
 */
export async function initBackend(preferred?: BackendName | string, opts: { quiet?: boolean } = {}): Promise<BackendReport> {
  const forcedName = parseForced(preferred ?? process.env.GRADREG_BACKEND);
  if (current && (forcedName === undefined || forcedName === current.name)) return current;
  const skipped: BackendReport['skipped'] = [];
  const candidates = forcedName ? [forcedName] : BACKENDS;
  for (const name of candidates) {
    const why = await activate(name);
    if (why === undefined) {
      await tf.ready();
      current = {
        name, tfName: tf.getBackend(), skipped, forced: forcedName !== undefined,
        family: name === 'tensorflow-gpu' || name === 'tensorflow' ? 'tensorflow' : name,
      };
      if (!opts.quiet && process.env.GRADREG_QUIET !== '1') console.log(describeBackend(current));
      return current;
    }
    if (forcedName) throw new Error(`GRADREG_BACKEND=${forcedName} was requested but cannot start: ${why}`);
    skipped.push({ name, reason: why });
  }
  throw new Error(`No TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The report of the active backend; throws if initBackend() has not run. */
export function backendReport(): BackendReport {
  if (!current) throw new Error('No backend selected yet: call `await initBackend()` first.');
  return current;
}

export function describeBackend(r: BackendReport): string {
  const why = r.skipped.map((s) => `  skipped ${s.name}: ${s.reason}`).join('\n');
  return `gradreg: using the ${r.name} backend${r.forced ? ' (forced)' : ''}${why ? '\n' + why : ''}`;
}
