// A progress bar that updates in place: one notebook display (update_display_data), or one \r line on a terminal.
import { displayBundle, inNotebook, newDisplayId } from './display';

export interface Progress {
  tick(n?: number, info?: string): void;
  done(info?: string): void;
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

/** `total` units of work named `label`; at most ~4 redraws a second. */
export function progress(total: number, label: string): Progress {
  const t0 = Date.now();
  let done = 0;
  let last = 0;
  let info = '';
  const id = newDisplayId();
  const nb = inNotebook();
  const quiet = process.env.GRADREG_QUIET === '1';
  let first = true;
  const line = (final: boolean) => {
    const el = (Date.now() - t0) / 1000;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const eta = done > 0 && !final ? (el / done) * (total - done) : 0;
    const bar = '█'.repeat(Math.round(frac * 20)).padEnd(20, '·');
    return `${label} ${bar} ${done}/${total} (${(100 * frac).toFixed(0)}%) ${fmt(el)}${final ? '' : ` ETA ${fmt(eta)}`}${info ? ` ${info}` : ''}`;
  };
  const draw = (final: boolean) => {
    if (quiet) return;
    const text = line(final);
    if (nb) {
      displayBundle({ 'text/plain': text }, { displayId: id, update: !first });
      first = false;
    } else if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}${final ? '\n' : ''}`);
    } else if (final) {
      process.stderr.write(`${text}\n`);
    }
  };
  return {
    tick(n = 1, i?: string) {
      done += n;
      if (i !== undefined) info = i;
      const now = Date.now();
      if (now - last >= 250 || first) { last = now; draw(false); }
    },
    done(i?: string) {
      if (i !== undefined) info = i;
      draw(true);
    },
  };
}
