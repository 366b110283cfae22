import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanVsRobust } from '../../lib/report/figures';

test('cleanVsRobust lines: a named group is one curve through its points in order of clean accuracy; the others stay markers', () => {
  const fig = cleanVsRobust([
    { name: 'λ=3', group: 'FGR', clean: 0.6, robust: 0.3 }, { name: 'λ=1', group: 'FGR', clean: 0.8, robust: 0.1 },
    { name: 'λ=2', group: 'FGR', clean: 0.7, robust: 0.2 }, { name: 'AT', clean: 0.65, robust: 0.4 },
  ], { lines: ['FGR'] });
  const [fgr, at] = fig.data as { name: string; mode: string; x: number[]; text: string[] }[];
  assert.equal(fgr.mode, 'lines+markers+text');
  assert.deepEqual(fgr.x, [0.6, 0.7, 0.8]);
  assert.deepEqual(fgr.text, ['λ=3', 'λ=2', 'λ=1']);
  assert.equal(at.mode, 'markers+text');
});
