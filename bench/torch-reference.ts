// The PyTorch side of the bench: one long-lived `bench/reference.py --serve` child driven over stdin/stdout (JSON lines), so
// the bench can interleave tfjs and PyTorch blocks (ABAB) in one process tree without paying Python's start-up per block.
// The child idles on its stdin while tfjs runs, and the node side idles on the pipe while PyTorch runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';

export interface TorchInfo {
  torch: string; python: string; executable: string; defaultThreads: number; interopThreads: number; mkldnn: boolean; openmp: boolean;
  workloads: string[];
  constants: { LAMBDA: number; LEARNING_RATE: number; PGD: { eps: number; step: number; steps: number } };
}

export class TorchReference {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  private constructor(python: string) {
    this.child = spawn(python, [path.join(__dirname, 'reference.py'), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the server and reads its info; a clear reason (not a throw) when PyTorch is not there, so the bench goes on without it. */
  static async start(python: string): Promise<{ ok: true; ref: TorchReference; info: TorchInfo } | { ok: false; reason: string }> {
    if (!fs.existsSync(python)) return { ok: false, reason: `${python} not found: install Debian's python3-torch (apt-get install python3-torch) or pass --python PATH` };
    const ref = new TorchReference(python);
    const spawned = await new Promise<Error | undefined>((resolve) => {
      ref.child.once('spawn', () => resolve(undefined));
      ref.child.once('error', (e) => resolve(e));
    });
    if (spawned) return { ok: false, reason: `could not start ${python}: ${spawned.message}` };
    try {
      return { ok: true, ref, info: await ref.request<TorchInfo>({ op: 'info' }) };
    } catch (e) {
      ref.close();
      return { ok: false, reason: (e as Error).message };
    }
  }

  /** One request, one answer; an {"error"} answer or the child's exit becomes a thrown Error with its stderr tail. */
  async request<T>(req: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const next = await this.lines.next();
    if (next.done) {
      const code = await new Promise<number | null>((resolve) => {
        if (this.child.exitCode !== null) resolve(this.child.exitCode);
        else this.child.once('close', (c) => resolve(c));
      });
      const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
      throw new Error(code === 3 ? tail : `bench/reference.py exited with ${code}: ${tail}`);
    }
    const ans = JSON.parse(next.value) as T & { error?: string };
    if (ans.error) throw new Error(`bench/reference.py: ${ans.error} (request ${JSON.stringify(req)})`);
    return ans;
  }

  setup(workload: string, batch: number): Promise<unknown> { return this.request({ op: 'setup', workload, batch }); }

  /** `repeats` step times (ms) with torch.set_num_threads(threads). */
  async run(threads: number, repeats: number): Promise<number[]> {
    return (await this.request<{ ms: number[] }>({ op: 'run', threads, repeats })).ms;
  }

  async peakRssMiB(): Promise<number> { return (await this.request<{ peakRssMiB: number }>({ op: 'rss' })).peakRssMiB; }

  close(): void { this.child.stdin.end(); }
}
