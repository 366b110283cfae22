// A minimal Jupyter client (messaging protocol v5 over zeromq) that runs cells in a real tslab kernel,
// so what passes headlessly runs the same way in JupyterLab.
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { kernelArgv } from './kernelspec';

export interface Output {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  [k: string]: unknown;
}

export interface CellResult {
  status: 'ok' | 'error';
  outputs: Output[];
  executionCount: number | null;
  /** stderr text and error messages, for reporting failures. */
  errorText: string;
  /** Set when the cell's iopub stream ended early (messages dropped by zeromq). */
  warning?: string;
}

// Holds all listeners open until each has its port, so the ports are distinct.
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  })));
  const ports = servers.map((srv) => (srv.address() as net.AddressInfo).port);
  await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  return ports;
}

const DELIM = '<IDS|MSG>';
const IOPUB_GRACE_MS = 5000;

// Kernels run in their own process group (so a timeout kills the cell's children too); kill them if this process ends first.
const live = new Set<KernelSession>();
process.once('exit', () => { for (const k of live) k.kill(); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { for (const k of live) k.kill(); process.exit(sig === 'SIGINT' ? 130 : 143); });
}

export interface StartOptions {
  /** The kernel's working directory: tslab compiles only files under it. */
  cwd: string;
  /** Added to this process's environment, or the whole environment when inheritEnv is false. */
  env?: NodeJS.ProcessEnv;
  inheritEnv?: boolean;
}

export class KernelSession {
  private proc!: ChildProcess;
  private shell!: zmq.Dealer;
  private iopub!: zmq.Subscriber;
  private control!: zmq.Dealer;
  private key = crypto.randomBytes(16).toString('hex');
  private session = crypto.randomUUID();
  private connFile = '';
  private iopubQueue: Record<string, unknown>[] = [];
  private iopubWaiters: (() => void)[] = [];
  private closed = false;
  /** Set when the kernel process ended: "exit code N" or "signal S". */
  private exited: string | undefined;
  /** Everything the kernel process printed, for diagnosing a crash. */
  processLog = '';

  /** Starts a kernel and waits until it answers; one retry covers a port taken between our probe and the kernel's bind. */
  static async start(opts: StartOptions): Promise<KernelSession> {
    for (let attempt = 1; ; attempt++) {
      const k = new KernelSession();
      try {
        await k.init(opts);
        return k;
      } catch (e) {
        await k.close();
        if (attempt >= 2 || !k.exited) throw e;
      }
    }
  }

  private async init(opts: StartOptions): Promise<void> {
    const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await freePorts(5);
    const ports = { shell_port, iopub_port, stdin_port, control_port, hb_port };
    const conn = { transport: 'tcp', ip: '127.0.0.1', signature_scheme: 'hmac-sha256', key: this.key, kernel_name: 'gradreg-tslab', ...ports };
    this.connFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-kernel-')), 'connection.json');
    fs.writeFileSync(this.connFile, JSON.stringify(conn));
    const [cmd, ...args] = kernelArgv(this.connFile);
    this.proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.inheritEnv === false ? opts.env : { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.proc.stdout?.on('data', (d: Buffer) => { this.processLog += d.toString(); });
    this.proc.stderr?.on('data', (d: Buffer) => { this.processLog += d.toString(); });
    live.add(this);
    this.proc.on('exit', (code, signal) => {
      this.exited = signal ? `signal ${signal}` : `exit code ${code}`;
      live.delete(this);
      this.wakeIopubWaiters();
    });
    this.shell = new zmq.Dealer();
    this.control = new zmq.Dealer();
    this.iopub = new zmq.Subscriber();
    this.shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
    this.control.connect(`tcp://127.0.0.1:${ports.control_port}`);
    this.iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
    this.iopub.subscribe();
    void this.pumpIopub();
    // The kernel is ready once it answers kernel_info; iopub subscriptions may miss early messages, so retry.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.exited) throw new Error(`tslab kernel ended (${this.exited}) before it was ready:\n${this.processLog}`);
      const id = await this.send(this.shell, 'kernel_info_request', {});
      const reply = await Promise.race([this.receiveReply(id), new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      // Ready once iopub carries the status of this request too: a cell's output or its final idle must not be lost.
      if (reply && await this.iopubSaw(id, 1000)) break;
      if (Date.now() > deadline) throw new Error(`tslab kernel did not answer within 60 s:\n${this.processLog}`);
    }
  }

  private async iopubSaw(msgId: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.iopubQueue.some((m) => (m.parent_header as { msg_id?: string } | undefined)?.msg_id === msgId)) {
        this.iopubQueue.length = 0; // only kernel_info traffic so far
        return true;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  private sign(parts: string[]): string {
    const h = crypto.createHmac('sha256', this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  private async send(sock: zmq.Dealer, msgType: string, content: object): Promise<string> {
    const msgId = crypto.randomUUID();
    const header = JSON.stringify({ msg_id: msgId, username: 'gradreg', session: this.session, date: new Date().toISOString(), msg_type: msgType, version: '5.3' });
    const parts = [header, '{}', '{}', JSON.stringify(content)];
    await sock.send([DELIM, this.sign(parts), ...parts]);
    return msgId;
  }

  private parse(frames: Buffer[]): Record<string, unknown> & { header: { msg_type: string }; parent_header: { msg_id?: string }; content: Record<string, unknown> } {
    const i = frames.findIndex((f) => f.toString() === DELIM);
    const [header, parent, metadata, content] = frames.slice(i + 2, i + 6).map((f) => JSON.parse(f.toString()));
    return { header, parent_header: parent, metadata, content };
  }

  private replies = new Map<string, Record<string, unknown>>();
  private replyWaiters = new Map<string, (m: Record<string, unknown>) => void>();
  private pumpingShell = false;

  private async pumpShell(): Promise<void> {
    if (this.pumpingShell) return;
    this.pumpingShell = true;
    try {
      while (!this.closed) {
        const frames = (await this.shell.receive()) as Buffer[];
        const m = this.parse(frames);
        const pid = m.parent_header.msg_id ?? '';
        const w = this.replyWaiters.get(pid);
        if (w) { this.replyWaiters.delete(pid); w(m); } else this.replies.set(pid, m);
      }
    } catch { /* socket closed */ }
  }

  private receiveReply(msgId: string): Promise<Record<string, unknown>> {
    void this.pumpShell();
    const have = this.replies.get(msgId);
    if (have) { this.replies.delete(msgId); return Promise.resolve(have); }
    return new Promise((resolve) => this.replyWaiters.set(msgId, resolve));
  }

  private async pumpIopub(): Promise<void> {
    try {
      while (!this.closed) {
        const frames = (await this.iopub.receive()) as Buffer[];
        this.iopubQueue.push(this.parse(frames));
        this.wakeIopubWaiters();
      }
    } catch { /* socket closed */ }
  }

  private wakeIopubWaiters(): void {
    for (const w of this.iopubWaiters.splice(0)) w();
  }

  /** The next iopub message, or null once `stop()` is true with none queued (call wakeIopubWaiters when it turns true). */
  private async nextIopub(stop: () => boolean = () => false): Promise<Record<string, unknown> | null> {
    while (this.iopubQueue.length === 0) {
      if (stop()) return null;
      if (this.exited) {
        const tail = this.processLog.trim().split('\n').slice(-15).join('\n');
        throw new Error(`the tslab kernel died (${this.exited}) while running the cell${tail ? `; its last output:\n${tail}` : ''}`);
      }
      await new Promise<void>((r) => this.iopubWaiters.push(r));
    }
    return this.iopubQueue.shift()!;
  }

  /** Runs one cell and collects its outputs; resolves when the kernel is idle again. */
  async execute(code: string, opts: { onStream?: (name: 'stdout' | 'stderr', text: string) => void } = {}): Promise<CellResult> {
    const msgId = await this.send(this.shell, 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const outputs: Output[] = [];
    const byDisplayId = new Map<string, Output>();
    let errorText = '';
    let pendingClear = false;
    let idle = false;
    const replyP = this.receiveReply(msgId);
    // The execute_reply (shell) always arrives, iopub messages can be lost (zeromq.js "Socket is busy writing"): once the reply is in,
    // give iopub a grace period to deliver the cell's last outputs and its idle status, then go on without them.
    let graceOver = false;
    let finished = false;
    let graceTimer: NodeJS.Timeout | undefined;
    void replyP.then(() => {
      if (!finished) graceTimer = setTimeout(() => { graceOver = true; this.wakeIopubWaiters(); }, IOPUB_GRACE_MS);
    });
    let warning: string | undefined;
    while (!idle) {
      const next = await this.nextIopub(() => graceOver);
      if (next === null) {
        warning = `the kernel's idle status never arrived (${IOPUB_GRACE_MS / 1000} s after its execute_reply): iopub messages were dropped (zeromq.js refuses sends past ~500 in one synchronous stretch: "Socket is busy writing"), so this cell's outputs and error message may be missing`;
        break;
      }
      const m = next as { header: { msg_type: string }; parent_header: { msg_id?: string }; content: Record<string, unknown> };
      if (m.parent_header.msg_id !== msgId) continue;
      const c = m.content;
      if (pendingClear && ['stream', 'display_data', 'execute_result', 'error'].includes(m.header.msg_type)) {
        outputs.length = 0;
        byDisplayId.clear();
        pendingClear = false;
      }
      switch (m.header.msg_type) {
        case 'stream': {
          const last = outputs[outputs.length - 1];
          if (last && last.output_type === 'stream' && last.name === c.name) last.text = String(last.text) + String(c.text);
          else outputs.push({ output_type: 'stream', name: c.name, text: c.text });
          if (c.name === 'stderr') errorText += String(c.text);
          opts.onStream?.(c.name === 'stderr' ? 'stderr' : 'stdout', String(c.text));
          break;
        }
        case 'display_data': {
          const o: Output = { output_type: 'display_data', data: c.data, metadata: c.metadata ?? {} };
          outputs.push(o);
          const id = (c.transient as { display_id?: string } | undefined)?.display_id;
          if (id) byDisplayId.set(id, o);
          break;
        }
        case 'update_display_data': {
          const id = (c.transient as { display_id?: string } | undefined)?.display_id;
          const target = id ? byDisplayId.get(id) : undefined;
          if (target) target.data = c.data;
          break;
        }
        case 'clear_output':
          // wait=true (progress bars) clears only when the next output arrives.
          if (c.wait) pendingClear = true; else { outputs.length = 0; byDisplayId.clear(); }
          break;
        case 'execute_result':
          outputs.push({ output_type: 'execute_result', data: c.data, metadata: c.metadata ?? {}, execution_count: c.execution_count });
          break;
        case 'error':
          outputs.push({ output_type: 'error', ename: c.ename || 'Error', evalue: c.evalue ?? '', traceback: c.traceback ?? [] });
          // The traceback (message, then frames down to the cell) without its terminal colours; else name and message.
          errorText += Array.isArray(c.traceback) && c.traceback.length > 0
            ? `${c.traceback.map((l) => String(l).replace(/\u001b\[[0-9;]*m/g, '')).join('\n')}\n`
            : `${c.ename ? c.ename + ': ' : ''}${String(c.evalue ?? '')}\n`;
          break;
        case 'status':
          if (c.execution_state === 'idle') idle = true;
          break;
        default:
          break;
      }
    }
    finished = true;
    clearTimeout(graceTimer);
    const reply = (await replyP) as { content: { status: string; execution_count?: number; ename?: string; evalue?: string } };
    const status = reply.content.status === 'ok' ? 'ok' : 'error';
    // The error output already carried the reply's ename/evalue (our kernel sends both); else the reply is all there is.
    if (status === 'error' && reply.content.evalue && !outputs.some((o) => o.output_type === 'error')) errorText += `${reply.content.ename || 'Error'}: ${reply.content.evalue}\n`;
    return { status, outputs, executionCount: reply.content.execution_count ?? null, errorText, ...(warning ? { warning } : {}) };
  }

  /** Stops the kernel: shutdown request, then SIGKILL of its process group if it lingers. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.control && this.proc && !this.exited) {
      try {
        await Promise.race([this.send(this.control, 'shutdown_request', { restart: false }), new Promise((r) => setTimeout(r, 500))]);
      } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    this.closed = true;
    this.kill();
    for (const s of [this.shell, this.iopub, this.control]) try { s?.close(); } catch { /* closed */ }
    // Only the temp folder made for the connection file (never path.dirname('') = the cwd).
    if (this.connFile) try { fs.rmSync(path.dirname(this.connFile), { recursive: true, force: true }); } catch { /* gone */ }
  }

  /** Kills the kernel process group at once (timeouts). */
  kill(): void {
    if (!this.exited && this.proc?.pid) {
      try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { try { this.proc.kill('SIGKILL'); } catch { /* gone */ } }
    }
  }
}
