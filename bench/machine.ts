// What a benchmark number depends on besides the code: the CPU (model, SIMD flags: PyTorch/oneDNN uses AVX2/AVX-512, wasm
// SIMD is 128-bit), the core count, the load, and the software versions. Recorded with every bench result.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';

export interface CpuInfo {
  model: string;
  /** x86 family/model/stepping numbers (they tell CPU generations apart when a VM shows a generic name like "AMD EPYC"). */
  family: string | null; modelNumber: string | null; stepping: string | null;
  /** Every flag of the first processor in /proc/cpuinfo, space-separated (empty where the file is absent, e.g. macOS). */
  flags: string;
  /** The vector-instruction flags among them, for a reader comparing CPUs at a glance. */
  simd: string[];
}

const SIMD_FLAGS = /^(sse4_1|sse4_2|avx|avx2|fma|avx512.*|amx.*|asimd|sve.*|neon)$/;

/** Model and flags from /proc/cpuinfo's text (x86 "model name"/"flags", ARM "Features"); falls back to os.cpus(). */
export function parseCpuInfo(text: string, fallbackModel = ''): CpuInfo {
  const field = (re: RegExp) => text.split('\n').find((l) => re.test(l))?.split(':').slice(1).join(':').trim();
  const model = field(/^(model name|Processor|cpu model)\s*:/) ?? fallbackModel;
  const flags = (field(/^(flags|Features)\s*:/) ?? '').split(/\s+/).filter(Boolean);
  return {
    model, family: field(/^cpu family\s*:/) ?? null, modelNumber: field(/^model\s*:/) ?? null, stepping: field(/^stepping\s*:/) ?? null,
    flags: flags.join(' '), simd: flags.filter((f) => SIMD_FLAGS.test(f)),
  };
}

export interface MachineInfo {
  cpu: CpuInfo;
  cores: number;
  platform: string;
  totalMemGiB: number;
  node: string;
  tfjs: string;
  /** tfjs backend name and, on wasm, its thread count as the backend reports it (1 in Node: no wasm threads there). */
  backend: { name: string; tfjsThreads: number | null };
}

export async function machineInfo(backendName: string): Promise<MachineInfo> {
  let text = '';
  try { text = fs.readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux: model from os.cpus() */ }
  let tfjsThreads: number | null = null;
  if (tf.getBackend() === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    tfjsThreads = wasm.getThreadsCount();
  } else if (tf.getBackend() === 'cpu') tfjsThreads = 1; // pure JS on the main thread
  return {
    cpu: parseCpuInfo(text, os.cpus()[0]?.model ?? 'unknown'),
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: { name: backendName, tfjsThreads },
  };
}
