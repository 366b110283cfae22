// Progress bar on a terminal (fake clock, captured output): throttling, count/percent/elapsed/ETA, final line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FREE_REDRAWS, progress, redrawThrottle } from '../../lib/report/progress';

function harness(extra: { tty?: boolean; logEveryMs?: number } = {}) {
  let t = 1_000_000;
  const out: string[] = [];
  const clock = { advance: (ms: number) => { t += ms; } };
  const make = (total: number, label: string) => progress(total, label, { mode: 'terminal', tty: extra.tty ?? true, write: (s) => out.push(s), now: () => t, minIntervalMs: 250, logEveryMs: extra.logEveryMs });
  return { out, clock, make };
}

test('a TTY bar redraws one CR-line at most every 250 ms with count, percent, elapsed and ETA', () => {
  const { out, clock, make } = harness();
  const p = make(40, 'train');
  p.tick(); // first tick always draws
  for (let i = 0; i < 9; i++) { clock.advance(100); p.tick(); }
  // 10 ticks over 900 ms with a 250 ms throttle: draws at 0, 300, 600, 900 ms.
  assert.equal(out.length, 4);
  for (const s of out) {
    assert.ok(s.startsWith('\r'), 'redraws in place');
    assert.ok(!s.includes('\n'), 'no newline before done');
  }
  clock.advance(4100); // 5 s elapsed, 10 of 40 done
  p.tick(0, 'loss 0.123');
  const last = out[out.length - 1];
  assert.match(last, /^\rtrain █████···············  ?10\/40 \(25%\) 5\.0s ETA 15s loss 0\.123/);
  p.done();
  const fin = out[out.length - 1];
  assert.match(fin, /10\/40 \(25%\) 5\.0s loss 0\.123\x1b\[K\n$/);
  assert.doesNotMatch(fin, /ETA/);
  const n = out.length;
  p.tick();
  p.done();
  assert.equal(out.length, n, 'ticks and done after done are ignored');
});

test('minutes format, percent capped at 100 when ticks overshoot', () => {
  const { out, clock, make } = harness();
  const p = make(4, 'attack');
  p.tick(2);
  clock.advance(125_000);
  p.tick(3);
  assert.match(out[out.length - 1], /5\/4 \(100%\) 2m05s ETA 0\.0s/);
});

test('without a TTY, a full line per logEveryMs plus the final line (readable CI logs)', () => {
  const { out, clock, make } = harness({ tty: false, logEveryMs: 10_000 });
  const p = make(100, 'eval');
  for (let i = 0; i < 100; i++) { clock.advance(500); p.tick(); }
  p.done('acc 0.91');
  // 50 s of work: lines at 10, 20, 30, 40, 50 s (or just past), then the final one.
  assert.ok(out.length >= 5 && out.length <= 6, `got ${out.length} lines`);
  for (const s of out) assert.ok(s.endsWith('\n') && !s.includes('\r'));
  assert.match(out[out.length - 1], /^eval ████████████████████ 100\/100 \(100%\) 50s acc 0\.91\n$/);
});

test('silent mode draws nothing; bad totals and ticks are refused with the field named', () => {
  const out: string[] = [];
  const p = progress(3, 'quiet', { mode: 'silent', write: (s) => out.push(s) });
  p.tick();
  p.done();
  assert.deepEqual(out, []);
  assert.throws(() => progress(NaN, 'x'), /progress: total must be a finite number >= 0.*got NaN/);
  assert.throws(() => progress(-1, 'x'), /got -1/);
  const q = progress(3, 'x', { mode: 'silent' });
  assert.throws(() => q.tick('2' as unknown as number), /tick: n must be a finite number, got 2/);
});

test('total 0 (nothing to do) shows 100% and does not divide by zero', () => {
  const { out, make } = harness();
  const p = make(0, 'empty');
  p.done();
  assert.match(out[0], /0\/0 \(100%\)/);
});

test('notebook redraws in one synchronous stretch stay far below the ~500 messages zeromq.js takes, and reset when the event loop turns', () => {
  let t = 0;
  let endStretch: (() => void) | undefined;
  const gate = redrawThrottle(() => t, (f) => { endStretch = f; });
  let sent = 0;
  // A week of redraw requests every 250 ms without the event loop turning (a long synchronous evaluation).
  for (; t < 7 * 24 * 3600 * 1000; t += 250) if (gate()) sent++;
  assert.ok(sent > FREE_REDRAWS, `the bar must keep moving, got ${sent} redraws`);
  assert.ok(sent < 300, `a week-long stretch sent ${sent} redraws`);
  // The first FREE_REDRAWS go out at the normal rate.
  t = 0; endStretch!();
  let early = 0;
  for (let i = 0; i < FREE_REDRAWS; i++, t += 250) if (gate()) early++;
  assert.equal(early, FREE_REDRAWS);
  endStretch!();
  assert.equal(gate(), true, 'a new stretch starts with a fresh budget');
});
