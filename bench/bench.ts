// npm run bench [-- --reference] [--profile] [--workloads train,pgd10] [--batch 128] [--warmup 3] [--repeats 10] [--threads 1,2] [--out FILE]
// Times the reference net's workloads on the active tfjs backend (GRADREG_BACKEND picks one) and, with --reference, the same
// workloads in PyTorch CPU (bench/reference.py under /usr/bin/python3), then prints the throughput ratio tfjs/PyTorch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend';
import { createWorkload, WORKLOADS, WORKLOAD_DESCRIPTIONS, type WorkloadName } from './workloads';

interface Options {
  reference: boolean; workloads: WorkloadName[]; batch: number; warmup: number; repeats: number; threads: number[];
  out: string; python: string; profile: boolean;
}

export interface Timing {
  workload: string; medianMs: number; minMs: number; maxMs: number; runs: number;
  /** Examples per second at the median. */
  throughput: number;
  /** Process peak RSS after this workload (cumulative over the run, MiB). */
  peakRssMiB: number;
  /** tfjs only: live tensors added by the workload's steps (must be 0), and the most bytes tfjs held after a step. */
  tensorGrowth?: number; peakTensorMiB?: number;
  /** PyTorch only: the thread count whose median was best, and every thread count's median. */
  threads?: number; medianByThreads?: Record<string, number>;
}

const USAGE = 'usage: npm run bench -- [--reference] [--profile] [--workloads a,b] [--batch N] [--warmup N] [--repeats N] [--threads 1,2] [--out FILE] [--python PATH]';

function parseArgs(argv: string[]): Options {
  const o: Options = {
    reference: false, workloads: [...WORKLOADS], batch: 128, warmup: 3, repeats: 10, threads: [1, 2],
    out: path.join(__dirname, 'results.json'), python: '/usr/bin/python3', profile: false,
  };
  const int = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got "${v}"\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--reference') o.reference = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--workloads') {
      const names = (next() ?? '').split(',').filter(Boolean);
      for (const n of names) if (!(WORKLOADS as readonly string[]).includes(n)) throw new Error(`--workloads: unknown "${n}", expected some of ${WORKLOADS.join(',')}`);
      o.workloads = names as WorkloadName[];
    } else if (a === '--batch') o.batch = int(a, next());
    else if (a === '--warmup') o.warmup = int(a, next());
    else if (a === '--repeats') o.repeats = int(a, next());
    else if (a === '--threads') o.threads = (next() ?? '').split(',').map((t) => int(a, t));
    else if (a === '--out') o.out = path.resolve(next() ?? '');
    else if (a === '--python') o.python = next() ?? '';
    else throw new Error(`unknown argument "${a}"\n${USAGE}`);
  }
  return o;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

function timeTfjs(name: WorkloadName, o: Options): Timing {
  const w = createWorkload(name, o.batch);
  const run = () => { const out = w.step(); out.dataSync(); out.dispose(); };
  for (let i = 0; i < o.warmup; i++) run();
  const before = tf.memory().numTensors;
  const ms: number[] = [];
  let peakBytes = 0;
  for (let i = 0; i < o.repeats; i++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
  }
  const tensorGrowth = tf.memory().numTensors - before;
  w.dispose();
  const med = median(ms);
  return {
    workload: name, medianMs: med, minMs: Math.min(...ms), maxMs: Math.max(...ms), runs: ms.length,
    throughput: (o.batch * 1000) / med, peakRssMiB: peakRssMiB(), tensorGrowth, peakTensorMiB: peakBytes / 2 ** 20,
  };
}

export interface KernelShare { kernel: string; ms: number; calls: number }

/** Per-kernel times of one step (after warm-up), slowest first. Kernels built from other kernels count both. */
async function profileStep(name: WorkloadName, o: Options): Promise<KernelShare[]> {
  const w = createWorkload(name, o.batch);
  for (let i = 0; i < Math.max(1, o.warmup); i++) { const out = w.step(); out.dataSync(); out.dispose(); }
  const info = await tf.profile(() => { const out = w.step(); out.dataSync(); return out; });
  tf.dispose(info.result as tf.Tensor);
  w.dispose();
  const by = new Map<string, KernelShare>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    e.ms += (await k.kernelTimeMs) as number;
    e.calls++;
    by.set(k.name, e);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

interface TorchResult { ok: true; torch: string; results: Timing[] }

function runTorch(o: Options): TorchResult | { ok: false; reason: string } {
  if (!fs.existsSync(o.python)) return { ok: false, reason: `${o.python} not found: install Debian's python3-torch (apt-get install python3-torch) or pass --python PATH` };
  const args = [path.join(__dirname, 'reference.py'), '--workloads', o.workloads.join(','), '--batch', String(o.batch),
    '--warmup', String(o.warmup), '--repeats', String(o.repeats), '--threads', o.threads.join(',')];
  const r = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) return { ok: false, reason: `could not start ${o.python}: ${r.error.message}` };
  if (r.status === 3) return { ok: false, reason: r.stderr.trim() };
  if (r.status !== 0) return { ok: false, reason: `bench/reference.py exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return { ok: true, ...(JSON.parse(r.stdout) as { torch: string; results: Timing[] }) };
}

function fmt(n: number | undefined, digits = 1) { return n === undefined ? '-' : n.toFixed(digits); }

function table(tfjs: Timing[], torch: Timing[] | undefined, backend: string): string {
  const head = ['workload', `tfjs ${backend} ms`, 'ex/s', 'peak RSS MiB', 'tensor growth'];
  if (torch) head.push('torch ms', 'threads', 'tfjs/torch');
  const rows = tfjs.map((t) => {
    const row = [t.workload, fmt(t.medianMs), fmt(t.throughput, 0), fmt(t.peakRssMiB, 0), String(t.tensorGrowth)];
    const p = torch?.find((r) => r.workload === t.workload);
    if (torch) row.push(fmt(p?.medianMs), String(p?.threads ?? '-'), p ? (p.medianMs / t.medianMs).toFixed(2) : '-');
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const backend = await initBackend(undefined, { quiet: true });
  const load = os.loadavg();
  console.log(`bench: ${backend.name} backend, batch ${o.batch}, median of ${o.repeats} after ${o.warmup} warm-up; ` +
    `${os.cpus().length} cores, load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const tfjs: Timing[] = [];
  for (const name of o.workloads) {
    const t = timeTfjs(name, o);
    tfjs.push(t);
    console.log(`  ${name.padEnd(16)} ${fmt(t.medianMs)} ms  (${WORKLOAD_DESCRIPTIONS[name]})`);
  }
  const profiles: Record<string, KernelShare[]> = {};
  if (o.profile) {
    console.log('\nprofile of one step per workload (ms per kernel; kernels made of kernels include them):');
    for (const name of o.workloads) {
      profiles[name] = await profileStep(name, o);
      console.log(`  ${name}: ` + profiles[name].slice(0, 8).map((k) => `${k.kernel} ${k.ms.toFixed(1)} (${k.calls})`).join(', '));
    }
  }
  let torch: TorchResult | undefined;
  let torchSkipped: string | undefined;
  if (o.reference) {
    console.log(`reference: PyTorch CPU via ${o.python}, threads best of ${o.threads.join(',')} ...`);
    const r = runTorch(o);
    if (r.ok) torch = r;
    else { torchSkipped = r.reason; console.log(`reference skipped: ${r.reason}`); }
  }
  console.log('\n' + table(tfjs, torch?.results, backend.name));
  if (torch) console.log(`(tfjs/torch = throughput ratio = torch ms / tfjs ms; >= 1 means tfjs is as fast. torch ${torch.torch})`);
  const leaks = tfjs.filter((t) => t.tensorGrowth !== 0);
  if (leaks.length) console.log(`WARNING: tensors grew across steps in ${leaks.map((t) => t.workload).join(', ')}`);
  const result = {
    date: new Date().toISOString(), backend: backend.name, node: process.version, cores: os.cpus().length, loadAverage: load,
    options: { batch: o.batch, warmup: o.warmup, repeats: o.repeats, threads: o.threads },
    tfjs, profiles: o.profile ? profiles : null, torch: torch ?? null, torchSkipped: torchSkipped ?? null,
    ratios: torch ? Object.fromEntries(tfjs.map((t) => {
      const p = torch!.results.find((r) => r.workload === t.workload);
      return [t.workload, p ? p.medianMs / t.medianMs : null];
    })) : null,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), o.out)}`);
}

main().catch((e: Error) => { console.error(`bench: ${e.message}`); process.exit(1); });
