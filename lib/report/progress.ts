// A progress bar that updates in place: one notebook display (update_display_data), or one \r line on a terminal.
import { displayBundle, inNotebook, newDisplayId } from './display';

export interface Progress {
  tick(n?: number, info?: string): void;
  done(info?: string): void;
}

export interface ProgressOptions {
  /** Where to draw; default: the notebook inside a tslab kernel, else stderr. 'silent' draws nothing. */
  mode?: 'notebook' | 'terminal' | 'silent';
  /** Terminal sink (default process.stderr.write); tests capture lines here. */
  write?: (s: string) => void;
  /** Whether the terminal rewrites its line with \r (default: stderr is a TTY). Otherwise a full line every logEveryMs. */
  tty?: boolean;
  /** Clock in ms (default Date.now); tests inject a fake one. */
  now?: () => number;
  /** Minimum ms between redraws (default 250: at most 4 a second). */
  minIntervalMs?: number;
  /** Without a TTY (CI logs), one line per this many ms (default 10 s), plus the final line. */
  logEveryMs?: number;
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// tslab sends notebook output over zeromq.js, which cannot flush while synchronous code runs (most of our loops): the
// messages of one synchronous stretch queue up, and past about 500 the next send throws "Socket is busy writing" inside
// tslab's display, aborting the cell, whose error and idle status are then lost too. So, across all bars, a stretch gets
// FREE_REDRAWS redraws at the normal rate, then one per 1/20 of the stretch's age: under 300 in a week-long stretch.
export const FREE_REDRAWS = 50;
const AGE_FRACTION = 20;

/**
 * A gate for notebook redraws: true while the current synchronous stretch (until the event loop turns) is within budget.
 * `now` and `later` are injectable for tests.
 */
export function redrawThrottle(now: () => number = Date.now, later: (f: () => void) => void = setImmediate): () => boolean {
  let stretch: { start: number; sent: number; last: number } | undefined;
  return () => {
    const t = now();
    if (!stretch) {
      stretch = { start: t, sent: 0, last: -Infinity };
      later(() => { stretch = undefined; });
    }
    if (stretch.sent >= FREE_REDRAWS && t - stretch.last < (t - stretch.start) / AGE_FRACTION) return false;
    stretch.sent++;
    stretch.last = t;
    return true;
  };
}

const mayRedrawInNotebook = redrawThrottle();

/** `total` units of work named `label`; at most ~4 redraws a second. */
export function progress(total: number, label: string, opts: ProgressOptions = {}): Progress {
  if (typeof total !== 'number' || !Number.isFinite(total) || total < 0) {
    throw new Error(`progress: total must be a finite number >= 0 (units of work, e.g. batches), got ${String(total)}`);
  }
  const now = opts.now ?? Date.now;
  const t0 = now();
  let done = 0;
  let last = -Infinity;
  let lastLog = t0;
  let info = '';
  let finished = false;
  const id = newDisplayId();
  const quiet = process.env.GRADREG_QUIET === '1';
  const mode = opts.mode ?? (quiet ? 'silent' : inNotebook() ? 'notebook' : 'terminal');
  const write = opts.write ?? ((s: string) => { process.stderr.write(s); });
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const minInterval = opts.minIntervalMs ?? 250;
  const logEvery = opts.logEveryMs ?? 10_000;
  let first = true;
  const line = (final: boolean) => {
    const el = (now() - t0) / 1000;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const eta = done > 0 && !final ? (el / done) * Math.max(0, total - done) : NaN;
    const bar = '█'.repeat(Math.round(frac * 20)).padEnd(20, '·');
    const stats = `${done}/${total} (${(100 * frac).toFixed(0)}%) ${fmt(el)}${final ? '' : ` ETA ${fmt(eta)}`}${info ? ` ${info}` : ''}`;
    return { frac, stats, text: `${label} ${bar} ${stats}` };
  };
  const draw = (final: boolean) => {
    if (mode === 'silent') return;
    const { frac, stats, text } = line(final);
    const wasFirst = first;
    first = false;
    if (mode === 'notebook') {
      if (!final && !wasFirst && !mayRedrawInNotebook()) return;
      const html = `<div style="font-family:monospace">${escapeHtml(label)} <progress value="${frac}" max="1" style="width:12em;vertical-align:middle"></progress> ${escapeHtml(stats)}</div>`;
      // A lost redraw must never abort the work it reports on.
      try { displayBundle({ 'text/html': html, 'text/plain': text }, { displayId: id, update: !wasFirst }); } catch { /* skip this redraw */ }
    } else if (tty) {
      // \x1b[K clears what a longer previous line left behind.
      write(`\r${text}\x1b[K${final ? '\n' : ''}`);
    } else if (final || now() - lastLog >= logEvery) {
      lastLog = now();
      write(`${text}\n`);
    }
  };
  return {
    tick(n = 1, i?: string) {
      if (finished) return;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`progress(${label}).tick: n must be a finite number, got ${String(n)}`);
      done += n;
      if (i !== undefined) info = i;
      const t = now();
      if (t - last >= minInterval || first) { last = t; draw(false); }
    },
    done(i?: string) {
      if (finished) return;
      finished = true;
      if (i !== undefined) info = i;
      draw(true);
    },
  };
}
