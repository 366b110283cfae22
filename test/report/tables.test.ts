// Tables: CSV/Markdown/LaTeX writers, round trips through files, atomic writes, folder layout.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWrite, figuresDir, repoRoot, saveTable } from '../../lib/report/output';
import { publishTable } from '../../lib/report/publish';
import { formatNumber, formatPct, parseCsv, parseMarkdownTable, tableData, toCsv, toDataFrame, toLatex, toMarkdown, loadDanfo } from '../../lib/report/tables';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-tables-'));
delete process.env.GRADREG_NOTEBOOK; // these tests set their own figure folders
after(() => fs.rmSync(root, { recursive: true, force: true }));

function withFiguresDir<T>(fn: () => T): T {
  const old = process.env.GRADREG_FIGURES_DIR;
  process.env.GRADREG_FIGURES_DIR = root;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.GRADREG_FIGURES_DIR;
    else process.env.GRADREG_FIGURES_DIR = old;
  }
}

// Awkward on purpose: commas, quotes, pipes and LaTeX specials in names, tiny/huge/negative numbers, a missing cell.
const rows = [
  { method: 'cross-entropy', clean: 0.99123456789, robust: 0.0123, epochs: 10, note: 'baseline, "plain"' },
  { method: 'grad|norm (λ=0.1)', clean: 0.9876, robust: 0.4567891, epochs: 20, note: '50% & $_#' },
  { method: 'pgd-at', clean: 0.97, robust: 1e-7, epochs: 3, note: undefined },
  { method: 'neg', clean: -0.25, robust: 123456.789, epochs: 0, note: 'x' },
];

test('CSV round-trips every number exactly and strings with commas and quotes, through our parser and danfojs', async () => {
  const files = withFiguresDir(() => saveTable(rows, 'nb-tab', 'results'));
  const text = fs.readFileSync(files.csv, 'utf8');
  const back = parseCsv(text);
  assert.equal(back.length, rows.length);
  rows.forEach((r, i) => {
    for (const k of ['clean', 'robust', 'epochs'] as const) assert.equal(back[i][k], r[k], `row ${i} ${k}`);
    assert.equal(back[i].method, r.method);
    assert.equal(back[i].note, r.note ?? null);
  });
  const dfd = loadDanfo();
  const df = await dfd.readCSV(files.csv);
  assert.deepEqual(df.columns, ['method', 'clean', 'robust', 'epochs', 'note']);
  assert.deepEqual((df.column('robust').values as number[]), rows.map((r) => r.robust));
});

test('Markdown round-trips numbers to the stated decimals, integers stay integers, pipes are escaped', () => {
  const files = withFiguresDir(() => saveTable(rows, 'nb-tab', 'results-md', { decimals: { clean: 4 }, caption: 'Table 1' }));
  const md = fs.readFileSync(files.md, 'utf8');
  assert.ok(md.startsWith('Table 1\n'));
  assert.match(md, /\| 0\.9912 \|/);
  assert.match(md, /\| 10 \|/, 'integer column printed without decimals');
  const back = parseMarkdownTable(md);
  assert.equal(back.length, rows.length);
  rows.forEach((r, i) => {
    assert.ok(Math.abs((back[i].clean as number) - r.clean) <= 0.5e-4 + 1e-12, `clean row ${i}: ${back[i].clean} vs ${r.clean}`);
    assert.ok(Math.abs((back[i].robust as number) - r.robust) <= 0.5e-3 + 1e-12, `robust row ${i}: ${back[i].robust} vs ${r.robust}`);
    assert.equal(back[i].epochs, r.epochs);
    assert.equal(back[i].method, r.method);
  });
  assert.equal(files.tex, undefined, 'no .tex unless asked');
});

test('LaTeX output escapes specials, uses booktabs and is only written when asked', () => {
  const files = withFiguresDir(() => saveTable(rows, 'nb-tab', 'paper', { latex: true, caption: 'Robust accuracy (%)', label: 'tab:main' }));
  const tex = fs.readFileSync(files.tex!, 'utf8');
  assert.match(tex, /\\begin\{tabular\}\{lrrrl\}/);
  assert.match(tex, /\\toprule/);
  assert.match(tex, /\\caption\{Robust accuracy \(\\%\)\}/);
  assert.match(tex, /50\\% \\& \\\$\\_\\#/);
  assert.match(tex, /0\.457/);
  assert.equal(tex, toLatex(rows, { caption: 'Robust accuracy (%)', label: 'tab:main' }));
});

test('DataFrames and rows give the same table; formatPct formats fractions', () => {
  const df = toDataFrame(rows.slice(0, 2).map((r) => ({ method: r.method, clean: r.clean })));
  assert.deepEqual(tableData(df), { columns: ['method', 'clean'], rows: [['cross-entropy', 0.99123456789], ['grad|norm (λ=0.1)', 0.9876]] });
  assert.equal(toCsv(df), toCsv(rows.slice(0, 2).map((r) => ({ method: r.method, clean: r.clean }))));
  assert.equal(toMarkdown(df), toMarkdown(rows.slice(0, 2).map((r) => ({ method: r.method, clean: r.clean }))));
  assert.equal(formatPct(0.8734), '87.3%');
  assert.equal(formatPct(0.8734, 2), '87.34%');
  assert.equal(formatPct(1), '100.0%');
  assert.equal(formatPct(0.09999999999999998), '10.0%');
  assert.equal(formatPct(-1e-9), '0.0%', 'no -0.0%');
  assert.equal(formatPct(0.2345), '23.5%', 'the decimal value rounds half up, not its binary expansion');
  assert.equal(formatNumber(9.999999999999998, 2), '10.00');
  assert.equal(formatNumber(-0.0001), '0.000');
  assert.equal(formatNumber(12), '12');
});

test('CSV drops float noise but keeps every number of up to 15 significant digits exactly', () => {
  const csv = toCsv([{ m: 'a', err: 9.999999999999998, x: 0.1 + 0.2, y: 0.123456789012345, big: 123456789012345 }]);
  assert.equal(csv, 'm,err,x,y,big\na,10,0.3,0.123456789012345,123456789012345\n');
});

test('accuracy columns print at the resolution n supports (n = 300 -> one decimal of a percent)', () => {
  const t = [
    { method: 'Standard', 'clean error %': 9.999999999999998, 'robust acc % ε=0.4': 0, clean: 0.9, 's / epoch': 1.5386666666666666 },
    { method: 'p=2 penalty', 'clean error %': 10.33333333333334, 'robust acc % ε=0.4': 0, clean: 0.89666666, 's / epoch': 4.328 },
  ];
  const md = toMarkdown(t, { n: 300 });
  assert.match(md, /\| Standard \| 10\.0 \| 0\.0 \| 0\.900 \| 1\.539 \|/, 'percent columns 1 decimal (even all-zero ones); others unchanged');
  assert.match(md, /\| p=2 penalty \| 10\.3 \| 0\.0 \|/);
  const perColumn = toMarkdown(t, { n: { 'clean error %': 100, clean: 10000 }, decimals: { 's / epoch': 1 } });
  assert.match(perColumn, /\| Standard \| 10 \| 0 \| 0\.9000 \| 1\.5 \|/, 'n per column: percent at n=100 -> 0 decimals, fraction at n=10000 -> 4');
  assert.match(toLatex(t, { n: 300 }), /Standard & 10\.0 & 0\.0 & 0\.900/);
  assert.throws(() => toMarkdown(t, { n: 0 }), /n for column 'clean error %' must be the number of examples/);
});

test('empty tables are refused by every writer, and a failed publish keeps the earlier good files', () => {
  const good = [{ method: 'ce', 'robust acc %': 12.5 }];
  const files = withFiguresDir(() => saveTable(good, 'nb-keep', 'results', { latex: true }));
  const before = Object.fromEntries(Object.values(files).map((f) => [f, fs.readFileSync(f as string, 'utf8')]));
  for (const empty of [[], [{}], [{ a: null, b: undefined }]] as unknown as Record<string, number>[][]) {
    assert.throws(() => withFiguresDir(() => publishTable(empty, 'nb-keep', 'results', { latex: true })), /publishTable: table 'results' of notebook nb-keep has no (rows|columns)|only empty cells/);
    assert.throws(() => withFiguresDir(() => saveTable(empty, 'nb-keep', 'results', { latex: true })), /saveTable: table 'results' of notebook nb-keep .*existing file is unchanged/);
  }
  for (const [f, text] of Object.entries(before)) assert.equal(fs.readFileSync(f, 'utf8'), text, `${path.basename(f)} survives`);
  assert.deepEqual(fs.readdirSync(path.dirname(files.csv)).sort(), ['results.csv', 'results.md', 'results.tex'], 'no temp files');
  assert.throws(() => toLatex([{}]), /toLatex: the table has no columns/);
  assert.throws(() => toCsv([]), /toCsv: the table has no columns/);
  assert.throws(() => toMarkdown([{ a: 1 }].slice(1)), /no columns/);
});

test('bad table input names the problem', () => {
  assert.throws(() => toCsv([{ a: 1 }, [1, 2] as unknown as Record<string, number>]), /row 1 is an array/);
  assert.throws(() => toCsv([{ a: { nested: 1 } as unknown as number }]), /row 0 column 'a' is a object/);
  assert.throws(() => toCsv('nope' as unknown as []), /array of row objects or a danfojs DataFrame/);
  assert.throws(() => withFiguresDir(() => saveTable(rows, 'nb-tab', '../escape')), /not a plain file name/);
  assert.throws(() => figuresDir('a/b'), /not a plain file name/);
});

test('figuresDir: the runner gives the notebook its own folder, GRADREG_FIGURES_DIR is a root otherwise, else <repo>/figures', () => {
  const old = { dir: process.env.GRADREG_FIGURES_DIR, nb: process.env.GRADREG_NOTEBOOK };
  process.env.GRADREG_FIGURES_DIR = path.join(root, 'smoke', '01-gp');
  process.env.GRADREG_NOTEBOOK = '01-gp';
  try {
    assert.equal(figuresDir('01-gp.ipynb'), path.join(root, 'smoke', '01-gp'));
    assert.equal(figuresDir('02-other'), path.join(root, 'smoke', '02-other'));
  } finally {
    for (const [k, v] of [['GRADREG_FIGURES_DIR', old.dir], ['GRADREG_NOTEBOOK', old.nb]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  assert.equal(withFiguresDir(() => figuresDir('02-jarn.ipynb')), path.join(root, '02-jarn'));
  const oldDir = process.env.GRADREG_FIGURES_DIR;
  delete process.env.GRADREG_FIGURES_DIR;
  try {
    assert.equal(figuresDir('02-jarn'), path.join(repoRoot(), 'figures', '02-jarn'));
    assert.ok(fs.existsSync(path.join(repoRoot(), 'lib', 'report', 'output.ts')));
  } finally {
    if (oldDir !== undefined) process.env.GRADREG_FIGURES_DIR = oldDir;
  }
});

test('atomicWrite creates folders, replaces the file, and a failure mid-write keeps the old file and leaves no temp file', () => {
  const dir = path.join(root, 'deep', 'er');
  const file = path.join(dir, 'out.csv');
  atomicWrite(file, 'old,1\n');
  assert.equal(fs.readFileSync(file, 'utf8'), 'old,1\n');
  function* failing(): Generator<string> {
    yield 'new,';
    yield 'partial';
    throw new Error('disk on fire');
  }
  assert.throws(() => atomicWrite(file, failing()), /disk on fire/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'old,1\n', 'the old file survives');
  assert.deepEqual(fs.readdirSync(dir), ['out.csv'], 'no temp file left behind');
  atomicWrite(file, Buffer.from('new,2\n'));
  assert.equal(fs.readFileSync(file, 'utf8'), 'new,2\n');
  atomicWrite(file, ['a', Buffer.from('b'), 'c']);
  assert.equal(fs.readFileSync(file, 'utf8'), 'abc');
  assert.deepEqual(fs.readdirSync(dir), ['out.csv']);
});

test('saveTable into a figures folder that cannot be made names the folder and the fix before writing anything', () => {
  const blocker = path.join(root, 'not-a-folder');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(blocker, 'x');
  const old = process.env.GRADREG_FIGURES_DIR;
  process.env.GRADREG_FIGURES_DIR = blocker;
  try {
    assert.throws(() => saveTable([{ a: 1 }], 'nb-blocked', 'results'), /the figures folder .*nb-blocked.*set GRADREG_FIGURES_DIR to a writable folder/s);
  } finally {
    if (old === undefined) delete process.env.GRADREG_FIGURES_DIR;
    else process.env.GRADREG_FIGURES_DIR = old;
  }
});
