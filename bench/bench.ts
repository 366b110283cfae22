// npm run bench [-- --reference] [--profile] [--workloads train,pgd10] [--batch 128] [--warmup 3] [--rounds 5] [--repeats 4]
//                  [--threads 1,2] [--data-parallel 1,2] [--torch-threads 1,2] [--out FILE] [--python PATH]
// Times the reference net's workloads on the active tfjs backend (GRADREG_BACKEND picks one) and, with --reference, the same
// workloads in PyTorch CPU (bench/reference.py --serve under /usr/bin/python3, a child of this process), then prints the
// throughput ratio tfjs/PyTorch.
// Honesty: both sides run interleaved in one process tree: per round, a block of `repeats` steps of every tfjs setting, then of
// every PyTorch thread count (ABAB...), so load on a shared machine hits both alike; medians, quartiles and per-round ratios
// are reported. PyTorch gets its best thread count (searched over 1..cores by default). tfjs `--threads N`: the wasm backend
// has no threads in Node, so N > 1 means N independent copies of the workload stepping at once in N worker threads (the
// parallel-jobs path); its throughput counts all N. `--data-parallel N` times the library's training step (small CNN = the
// reference net, library loss terms, Adam) with ONE batch split over N threads (lib/train/data-parallel.ts; train,
// double-backprop and jacobian only): N = 2 vs N = 1 is the speedup of one run. The JSON records CPU model and flags,
// versions, thread counts and load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../lib/backend';
import { createWorkload, WORKLOADS, WORKLOAD_DESCRIPTIONS, type WorkloadName } from './workloads';
import { machineInfo } from './machine';
import { TorchReference, type TorchInfo } from './torch-reference';
import { startJob, type Reply } from './job-worker';
import { profileStep, type StepProfile } from './profile';
import { libraryStep, libraryTerms } from './data-parallel';

export interface Options {
  reference: boolean; workloads: WorkloadName[]; batch: number; warmup: number; rounds: number; repeats: number;
  threads: number[]; torchThreads: number[]; out: string; python: string; profile: boolean;
  /** Thread counts for the library step with its batch split (empty: not timed). */
  dataParallel: number[];
}

export interface Timing {
  side: 'tfjs' | 'torch';
  workload: string;
  /** tfjs: 1 = one job on the main thread, N > 1 = N worker-thread jobs at once; torch: torch.set_num_threads. */
  threads: number;
  /** tfjs `--data-parallel`: the library's step with one batch split over `threads` threads (1: the library step unsplit). */
  split?: boolean;
  /** Examples processed at once per step: batch x jobs (jobs = threads for tfjs N > 1, else 1). */
  examplesPerStep: number;
  /** Over every timed step of every round (for jobs: the wall time of a block / repeats, one value per block). */
  medianMs: number; q1Ms: number; q3Ms: number; minMs: number; maxMs: number; runs: number;
  /** Each round's median: how much the machine moved during the run. */
  roundMedians: number[];
  /** examplesPerStep per second at the median. */
  throughput: number;
  /** Peak RSS of the side's process after the workload (cumulative over the run, MiB). */
  peakRssMiB: number;
  /** tfjs main thread only: live tensors added by the timed steps (must be 0), and the most bytes tfjs held after a step. */
  tensorGrowth?: number; peakTensorMiB?: number;
}

export interface Comparison {
  workload: string;
  /** Best throughput per side (over their thread settings). */
  tfjs: { threads: number; throughput: number }; torch: { threads: number; throughput: number };
  /** tfjs/torch throughput with tfjs on one thread (per job), and with tfjs at its best setting. */
  ratioOneThread: number; ratioBest: number;
  /** Per-round ratio of the best settings (round medians): its min, median and max. */
  ratioRounds: { min: number; median: number; max: number };
}

const USAGE = 'usage: npm run bench -- [--reference] [--profile] [--workloads a,b] [--batch N] [--warmup N] [--rounds N] [--repeats N] ' +
  '[--threads 1,2] [--data-parallel 1,2] [--torch-threads 1,2] [--out FILE] [--python PATH]';

export function parseArgs(argv: string[], cores = os.cpus().length): Options {
  const all = Array.from({ length: Math.max(1, cores) }, (_, i) => i + 1);
  const o: Options = {
    reference: false, workloads: [...WORKLOADS], batch: 128, warmup: 3, rounds: 5, repeats: 4, threads: [1], torchThreads: all,
    out: path.join(__dirname, 'results.json'), python: '/usr/bin/python3', profile: false, dataParallel: [],
  };
  const int = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got "${v}"\n${USAGE}`);
    return n;
  };
  const list = (flag: string, v: string | undefined) => [...new Set((v ?? '').split(',').map((t) => int(flag, t)))];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--reference') o.reference = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--workloads') {
      const names = (next() ?? '').split(',').filter(Boolean);
      for (const n of names) if (!(WORKLOADS as readonly string[]).includes(n)) throw new Error(`--workloads: unknown "${n}", expected some of ${WORKLOADS.join(',')}`);
      if (names.length === 0) throw new Error(`--workloads expects a comma-separated list of ${WORKLOADS.join(',')}`);
      o.workloads = names as WorkloadName[];
    } else if (a === '--batch') o.batch = int(a, next());
    else if (a === '--warmup') o.warmup = int(a, next());
    else if (a === '--rounds') o.rounds = int(a, next());
    else if (a === '--repeats') o.repeats = int(a, next());
    else if (a === '--threads') o.threads = list(a, next());
    else if (a === '--data-parallel') o.dataParallel = list(a, next());
    else if (a === '--torch-threads') o.torchThreads = list(a, next());
    else if (a === '--out') o.out = path.resolve(next() ?? '');
    else if (a === '--python') o.python = next() ?? '';
    else throw new Error(`unknown argument "${a}"\n${USAGE}`);
  }
  return o;
}

export const median = (xs: number[]) => quantile(xs, 0.5);
/** Linear-interpolation quantile (numpy's default). */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const p = (s.length - 1) * q, lo = Math.floor(p), hi = Math.ceil(p);
  return s[lo] + (s[hi] - s[lo]) * (p - lo);
}
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** One side at one thread setting, timed in blocks: `block(n)` runs n steps and returns step times (ms). */
interface Runner {
  side: 'tfjs' | 'torch'; threads: number; jobs: number; split?: boolean;
  block(repeats: number): Promise<number[]>;
  rssMiB(): Promise<number>;
  /** Tensor accounting, tfjs main thread only: start() after warm-up (Adam creates its slots on the first step). */
  tensors?: { start(): void; growth(): number; peakMiB(): number };
  close(): Promise<void>;
}

function mainThreadRunner(name: WorkloadName, o: Options): Runner {
  const w = createWorkload(name, o.batch);
  let before = 0, peakBytes = 0;
  return {
    side: 'tfjs', threads: 1, jobs: 1,
    async block(repeats) {
      const ms: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        const out = w.step(); out.dataSync(); out.dispose();
        ms.push(performance.now() - t0);
        peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      }
      return ms;
    },
    rssMiB: async () => peakRssMiB(),
    tensors: { start: () => { before = tf.memory().numTensors; peakBytes = 0; }, growth: () => tf.memory().numTensors - before, peakMiB: () => peakBytes / 2 ** 20 },
    close: async () => w.dispose(),
  };
}

function reply(worker: Worker): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: Reply) => { cleanup(); m.op === 'error' ? reject(new Error(`bench job: ${m.message}`)) : resolve(m); };
    const onErr = (e: Error) => { cleanup(); reject(e); };
    const cleanup = () => { worker.off('message', onMsg); worker.off('error', onErr); };
    worker.on('message', onMsg);
    worker.on('error', onErr);
  });
}

/** N worker-thread jobs stepping at once; a step's time is the block's wall time / repeats (all N jobs' examples count). */
async function jobsRunner(name: WorkloadName, o: Options, n: number, backend: string): Promise<Runner> {
  const workers = Array.from({ length: n }, (_, j) => startJob({ workload: name, batch: o.batch, seed: 1 + j, backend }));
  await Promise.all(workers.map(reply));
  return {
    side: 'tfjs', threads: n, jobs: n,
    async block(repeats) {
      const t0 = performance.now();
      const done = workers.map(reply);
      for (const w of workers) w.postMessage({ op: 'run', repeats });
      await Promise.all(done);
      return [(performance.now() - t0) / repeats];
    },
    rssMiB: async () => peakRssMiB(), // workers share the process
    close: async () => { for (const w of workers) w.postMessage({ op: 'stop' }); await Promise.all(workers.map((w) => w.terminate())); },
  };
}

/** The library step with the batch split over n threads (n = 1: unsplit, on the main thread). */
async function splitRunner(name: WorkloadName, o: Options, n: number, backend: string): Promise<Runner> {
  const s = await libraryStep(name, o.batch, n, backend as BackendName);
  let before = 0, peakBytes = 0;
  return {
    side: 'tfjs', threads: n, jobs: 1, split: true,
    async block(repeats) {
      const ms: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        await s.step();
        ms.push(performance.now() - t0);
        peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      }
      return ms;
    },
    rssMiB: async () => peakRssMiB(),
    // This thread's tensors only (each worker thread has its own backend).
    tensors: { start: () => { before = tf.memory().numTensors; peakBytes = 0; }, growth: () => tf.memory().numTensors - before, peakMiB: () => peakBytes / 2 ** 20 },
    close: () => s.dispose(),
  };
}

function torchRunner(ref: TorchReference, threads: number): Runner {
  return {
    side: 'torch', threads, jobs: 1,
    block: (repeats) => ref.run(threads, repeats),
    rssMiB: () => ref.peakRssMiB(),
    close: async () => undefined,
  };
}

function summarize(r: Runner, name: string, rounds: number[][], batch: number, rss: number): Timing {
  const ms = rounds.flat();
  const med = median(ms);
  const t: Timing = {
    side: r.side, workload: name, threads: r.threads, ...(r.split ? { split: true } : {}), examplesPerStep: batch * r.jobs,
    medianMs: med, q1Ms: quantile(ms, 0.25), q3Ms: quantile(ms, 0.75), minMs: Math.min(...ms), maxMs: Math.max(...ms), runs: ms.length,
    roundMedians: rounds.map(median), throughput: (batch * r.jobs * 1000) / med, peakRssMiB: rss,
  };
  if (r.tensors) { t.tensorGrowth = r.tensors.growth(); t.peakTensorMiB = r.tensors.peakMiB(); }
  return t;
}

/**
 * Warm-up, then `rounds` rounds; in each, a block of `repeats` steps per runner, tfjs settings first, then PyTorch's (ABAB...).
 * One PyTorch net serves all its thread counts (a step's cost does not depend on the weights).
 */
async function timeWorkload(name: WorkloadName, o: Options, backend: string, ref: TorchReference | undefined): Promise<Timing[]> {
  const runners: Runner[] = [];
  try {
    for (const n of o.threads) runners.push(n === 1 ? mainThreadRunner(name, o) : await jobsRunner(name, o, n, backend));
    if (libraryTerms(name)) for (const n of o.dataParallel) runners.push(await splitRunner(name, o, n, backend));
    if (ref) {
      await ref.setup(name, o.batch);
      for (const t of o.torchThreads) runners.push(torchRunner(ref, t));
    }
    for (const r of runners) { await r.block(o.warmup); r.tensors?.start(); }
    const times: number[][][] = runners.map(() => []);
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < runners.length; i++) times[i].push(await runners[i].block(o.repeats));
    }
    const out: Timing[] = [];
    for (let i = 0; i < runners.length; i++) out.push(summarize(runners[i], name, times[i], o.batch, await runners[i].rssMiB()));
    return out;
  } finally {
    for (const r of runners) await r.close();
  }
}

/** Best setting per side, the two ratios, and the per-round ratio range of the best settings. */
export function compare(timings: Timing[]): Comparison[] {
  const names = [...new Set(timings.map((t) => t.workload))];
  const out: Comparison[] = [];
  for (const name of names) {
    const best = (side: 'tfjs' | 'torch') => timings.filter((t) => t.workload === name && t.side === side)
      .reduce<Timing | undefined>((b, t) => (!b || t.throughput > b.throughput ? t : b), undefined);
    const a = best('tfjs'), b = best('torch');
    const one = timings.find((t) => t.workload === name && t.side === 'tfjs' && t.threads === 1 && !t.split);
    if (!a || !b) continue;
    const rounds = a.roundMedians.map((m, i) => (a.examplesPerStep / m) / (b.examplesPerStep / b.roundMedians[i]));
    out.push({
      workload: name,
      tfjs: { threads: a.threads, throughput: a.throughput }, torch: { threads: b.threads, throughput: b.throughput },
      ratioOneThread: one ? one.throughput / b.throughput : NaN, ratioBest: a.throughput / b.throughput,
      ratioRounds: { min: Math.min(...rounds), median: median(rounds), max: Math.max(...rounds) },
    });
  }
  return out;
}

function fmt(n: number | undefined, digits = 1) { return n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits); }

function table(timings: Timing[], comparisons: Comparison[]): string {
  const head = ['workload', 'side', 'threads', 'median ms', 'q1-q3 ms', 'ex/s', 'peak RSS MiB', 'tensor growth'];
  const rows = timings.map((t) => [t.workload, t.side, t.split ? `${t.threads} split` : t.side === 'tfjs' && t.threads > 1 ? `${t.threads} jobs` : String(t.threads),
    fmt(t.medianMs), `${fmt(t.q1Ms)}-${fmt(t.q3Ms)}`, fmt(t.throughput, 0), fmt(t.peakRssMiB, 0), t.tensorGrowth === undefined ? '' : String(t.tensorGrowth)]);
  const lines = [render(head, rows)];
  if (comparisons.length) {
    const chead = ['workload', 'tfjs/torch (tfjs 1 thread)', 'tfjs/torch (best of each)', 'per-round min..max', 'torch best threads'];
    const crows = comparisons.map((c) => [c.workload, fmt(c.ratioOneThread, 2), fmt(c.ratioBest, 2),
      `${fmt(c.ratioRounds.min, 2)}..${fmt(c.ratioRounds.max, 2)}`, String(c.torch.threads)]);
    lines.push('', render(chead, crows));
  }
  return lines.join('\n');
}

function render(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const backend = await initBackend(undefined, { quiet: true });
  const machine = await machineInfo(backend.name);
  const loadBefore = os.loadavg();
  console.log(`bench: ${backend.name} backend, batch ${o.batch}, ${o.rounds} rounds x ${o.repeats} steps per side after ${o.warmup} warm-up; ` +
    `${machine.cpu.model}, ${machine.cores} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  let ref: TorchReference | undefined;
  let torchInfo: TorchInfo | undefined;
  let torchSkipped: string | undefined;
  if (o.reference) {
    const r = await TorchReference.start(o.python);
    if (r.ok) { ref = r.ref; torchInfo = r.info; console.log(`reference: PyTorch ${r.info.torch} CPU via ${o.python}, threads ${o.torchThreads.join(',')}, interleaved with tfjs`); }
    else { torchSkipped = r.reason; console.log(`reference skipped: ${r.reason}`); }
  }
  const timings: Timing[] = [];
  try {
    for (const name of o.workloads) {
      const ts = await timeWorkload(name, o, backend.name, ref);
      timings.push(...ts);
      console.log(`  ${name.padEnd(16)} ` + ts.map((t) => `${t.side}@${t.threads} ${fmt(t.medianMs)} ms`).join(', ') + `  (${WORKLOAD_DESCRIPTIONS[name]})`);
    }
  } finally {
    ref?.close();
  }
  const profiles: Record<string, StepProfile> = {};
  if (o.profile) {
    console.log('\nprofile of one step per workload, main thread (top-level kernels: ms, calls, share of the step; then what each composite ran inside):');
    const share = (ms: number, of: number) => `${fmt((100 * ms) / of, 0)}%`;
    for (const name of o.workloads) {
      const p = profiles[name] = await profileStep(name, o.batch, o.warmup);
      console.log(`  ${name} (${fmt(p.stepMs)} ms, overhead outside kernels ${fmt(p.overheadMs)} ms = ${share(p.overheadMs, p.stepMs)}): ` +
        p.kernels.slice(0, 8).map((k) => `${k.kernel} ${fmt(k.ms)} (${k.calls}x, ${share(k.ms, p.stepMs)})`).join(', '));
      for (const k of p.kernels.slice(0, 8)) {
        const sub = p.inner[k.kernel];
        // Composites only (most of their time is inner kernels), not wasm kernels that call Identity once.
        if (sub && sub.reduce((t, c) => t + c.ms, 0) >= 0.5 * k.ms) console.log(`      inside ${k.kernel}: ` + sub.slice(0, 5).map((c) => `${c.kernel} ${fmt(c.ms)} (${c.calls}x)`).join(', '));
      }
    }
  }
  const comparisons = ref ? compare(timings) : [];
  console.log('\n' + table(timings, comparisons));
  if (comparisons.length) console.log(`(tfjs/torch = throughput ratio; >= 1 means tfjs is as fast. torch ${torchInfo!.torch}, best of ${o.torchThreads.join(',')} threads)`);
  const leaks = timings.filter((t) => t.tensorGrowth !== undefined && t.tensorGrowth !== 0);
  if (leaks.length) console.log(`WARNING: tensors grew across steps in ${leaks.map((t) => t.workload).join(', ')}`);
  const result = {
    date: new Date().toISOString(), machine, loadAverage: { before: loadBefore, after: os.loadavg() },
    backend: backend.name,
    protocol: 'ABAB: after warm-up, each round times a block of `repeats` steps of every tfjs setting, then of every PyTorch thread count, in one process tree (PyTorch is a child process serving requests)',
    options: { batch: o.batch, warmup: o.warmup, rounds: o.rounds, repeats: o.repeats, threads: o.threads, torchThreads: o.torchThreads,
      ...(o.dataParallel.length ? { dataParallel: o.dataParallel } : {}) },
    threads: {
      tfjs: { settings: o.threads, backendThreads: machine.backend.tfjsThreads,
        meaning: '1: one job on the main thread (the wasm backend has no threads in Node); N > 1: N independent jobs at once in N worker threads, throughput counts all N',
        ...(o.dataParallel.length ? { dataParallel: { settings: o.dataParallel, meaning: "split: the library's training step (small CNN, library terms, Adam) with one batch split over N threads (lib/train/data-parallel.ts); N = 1 unsplit" } } : {}) },
      torch: { settings: ref ? o.torchThreads : [], default: torchInfo?.defaultThreads ?? null, interop: torchInfo?.interopThreads ?? null,
        best: Object.fromEntries(comparisons.map((c) => [c.workload, c.torch.threads])) },
    },
    versions: { node: machine.node, tfjs: machine.tfjs, torch: torchInfo?.torch ?? null, python: torchInfo?.python ?? null },
    torchInfo: torchInfo ?? null, torchSkipped: torchSkipped ?? null,
    timings, comparisons: ref ? comparisons : null,
    ratios: ref ? Object.fromEntries(comparisons.map((c) => [c.workload, c.ratioOneThread])) : null,
    profiles: o.profile ? profiles : null,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  const tmp = `${o.out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n');
  fs.renameSync(tmp, o.out);
  console.log(`wrote ${path.relative(process.cwd(), o.out)}`);
}

if (require.main === module) main().catch((e: Error) => { console.error(`bench: ${e.message}`); process.exit(1); });
