// Processes for the queue tests: a private redis-server on 127.0.0.1 (free port, temp folder) and `npm run worker`
// processes, all registered so that `stopAll()` (the tests' `after` hook, also run on process exit) ends every one of them,
// by pid, even when a test fails half-way.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const started = new Set<ChildProcess>();

/** Why the queue tests cannot run here ('' when they can): only a missing redis-server is a reason. */
export function redisMissing(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? '' : 'redis-server is not installed: `npm run setup` (or `apt-get install redis-server`) installs it';
}


function untilExit(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

/** Sends `signal` to one process we started and waits for it to exit. */
export async function stop(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exitCode === null && p.signalCode === null) p.kill(signal);
  await untilExit(p);
  started.delete(p);
}

/** Ends every process this harness started (SIGKILL, by pid). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => stop(p)));
}
process.on('exit', () => { for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });

export interface LocalRedis {
  url: string;
  port: number;
  dir: string;
  /** kill -9 the server (what a crash or a power cut does). */
  kill(): Promise<void>;
  /** Start it again on the same port and folder (its append-only file, when on, brings the queue back). */
  start(): Promise<void>;
}

/**
 * redis-server on 127.0.0.1, a free port, a fresh temp folder; no RDB snapshots (`--save ""`), append-only file as asked
 * (the README recommends `--appendonly yes` for a real run), maxmemory-policy noeviction (BullMQ's requirement).
 */
export async function startRedis(opts: { appendonly: boolean }): Promise<LocalRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-redis-'));
  let proc: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes', '--logfile', path.join(dir, 'redis.log')];
  const start = async () => {
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    started.add(proc);
    // Ready when it accepts a connection and answers PING.
    for (let t0 = Date.now(); ; ) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (code ${proc.exitCode}); log: ${fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-2000)}`);
      if (await ping(port)) return;
      if (Date.now() - t0 > 15_000) throw new Error(`redis-server on port ${port} did not answer PING within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, dir, kill: async () => { if (proc) await stop(proc); }, start };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}

export interface WorkerProcess {
  proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when its output matches `re` (rejects after `ms` or when it exits first). */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

/** `npm run worker` as a test starts it: node --import tsx scripts/worker.ts, with `env` added. */
export function startWorker(env: Record<string, string>, args: string[] = []): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'worker.ts'), ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  return {
    proc,
    output: () => out,
    waitFor: (re, ms = 60_000) => new Promise((resolve, reject) => {
      const m = out.match(re);
      if (m) return resolve(m);
      const timer = setTimeout(() => reject(new Error(`worker output did not match ${re} within ${ms} ms:\n${out}`)), ms);
      const w = { re, resolve: (mm: RegExpMatchArray) => { clearTimeout(timer); resolve(mm); } };
      waiters.push(w);
      proc.once('exit', (code, sig) => {
        if (!waiters.includes(w)) return;
        clearTimeout(timer);
        reject(new Error(`worker exited (code ${code}, signal ${sig}) before its output matched ${re}:\n${out}`));
      });
    }),
  };
}

/** Whether a process id is alive (signal 0), a zombie (exited, not yet reaped by its new parent) counting as ended. */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}
