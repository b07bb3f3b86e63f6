import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import {
  compare, compareHelp, parseCompareArgs, resolveCompareOptions, writeReport, summarize, formatTable,
  COMPARE_METHODS, DEFAULT_METHODS, ReportRun,
} from '../lib/compare';

process.env.BATCHMIX_QUIET = '1';
const ROOT = path.resolve(__dirname, '..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'batchmix-compare-'));

describe('parseCompareArgs', () => {
  it('reads every flag into options', () => {
    const o = parseCompareArgs(['--epochs', '2', '--seeds=3', '--methods', 'baseline, cutmix', '--lr', '1e-2', '--batch-size', '32',
      '--model', 'resnet:8', '--workers', '2', '--out', 'x', '--name', 'run1', '--size', '64', '--quiet']);
    expect(o).toEqual({ epochs: 2, seeds: 3, methods: ['baseline', 'cutmix'], lr: 0.01, batchSize: 32, model: 'resnet:8', workers: 2, out: 'x', name: 'run1', size: 64, quiet: true });
  });
  it('takes "fashion-mnist <dir>" as one --data value', () => {
    expect(parseCompareArgs(['--data', 'fashion-mnist', '/some/dir', '--epochs', '1'])).toEqual({ data: 'fashion-mnist /some/dir', epochs: 1 });
    expect(parseCompareArgs(['--data', 'fashion-mnist', '--epochs', '1'])).toEqual({ data: 'fashion-mnist', epochs: 1 });
  });
  it('rejects unknown flags, missing values and non-numbers by name', () => {
    expect(() => parseCompareArgs(['--epoch', '3'])).toThrow('batchmix compare: --epoch is not an option (did you mean --epochs?); see --help');
    expect(() => parseCompareArgs(['--epochs'])).toThrow('batchmix compare: --epochs needs a value, got "nothing"');
    expect(() => parseCompareArgs(['--epochs', '--seeds', '2'])).toThrow('batchmix compare: --epochs needs a value, got "--seeds"');
    expect(() => parseCompareArgs(['--epochs', 'two'])).toThrow('batchmix compare: --epochs must be an integer, got "two"');
    expect(() => parseCompareArgs(['--lr', 'fast'])).toThrow('batchmix compare: --lr must be a number, got "fast"');
  });
  it('has help for every flag, with its default', () => {
    const help = compareHelp();
    for (const flag of ['--data', '--size', '--epochs', '--seeds', '--methods', '--model', '--batch-size', '--lr', '--workers', '--out', '--help']) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/--epochs <n>\s+Epochs per run. Default 4/);
    for (const m of Object.keys(COMPARE_METHODS)) expect(help).toContain(m);
  });
});

describe('resolveCompareOptions', () => {
  it('fills in the defaults: the embedded Fashion-MNIST subset, six methods', () => {
    const o = resolveCompareOptions({});
    expect(o.data).toEqual({ kind: 'fashion-mnist' });
    expect(o.methods).toEqual(DEFAULT_METHODS);
    expect(o.methods).toEqual(['baseline', 'mixup', 'cutmix', 'cutmix-naive', 'cutout', 'ricap']);
    expect([o.size, o.epochs, o.seeds, o.batchSize, o.model, o.out]).toEqual([28, 4, 1, 64, 'cnn:16', 'reports']);
    expect(o.name).toBe('fashion-mnist-cnnw16-4ep');
  });
  it('rejects bad options with clear messages', () => {
    expect(() => resolveCompareOptions({ methods: ['baseline', 'fmix'] })).toThrow('compare: methods must be names from baseline, mixup, cutmix, cutmix-naive, cutout, ricap, patchmix, got "fmix"');
    expect(() => resolveCompareOptions({ methods: [] })).toThrow(/^compare: methods must be a non-empty list/);
    expect(() => resolveCompareOptions({ epochs: 0 })).toThrow('compare: epochs must be an integer >= 1, got 0');
    expect(() => resolveCompareOptions({ size: 64 })).toThrow(/^compare: size must be 28 for Fashion-MNIST/);
    expect(() => resolveCompareOptions({ data: '/no/such/folder' })).toThrow('compare: data must be "fashion-mnist [dir]" or an existing ImageFolder folder, got "/no/such/folder"');
    expect(() => resolveCompareOptions({ model: 'vgg16' })).toThrow(/^compare: model must be one of cnn, resnet, resnet10/);
    expect(() => resolveCompareOptions({ lr: -1 })).toThrow('compare: lr must be a finite number > 0, got -1');
  });
});

/** Synthetic runs: method a is 0.5 → 0.7 (seed 0) and 0.5 → 0.8 (seed 1); b is flat 0.6. */
function fakeRuns(): ReportRun[] {
  const h = (accs: number[]) => accs.map((a, i) => ({ epoch: i + 1, trainLoss: 1 - a, validLoss: 1.1 - a, accuracy: a, top5: Math.min(1, a + 0.2) }));
  return [
    { method: 'baseline', seed: 0, history: h([0.5, 0.7]), seconds: 10 },
    { method: 'baseline', seed: 1, history: h([0.5, 0.8]), seconds: 12 },
    { method: 'cutmix', seed: 0, history: h([0.6, 0.6]), seconds: 11 },
    { method: 'cutmix', seed: 1, history: h([0.6, 0.6]), seconds: 11 },
  ];
}

describe('writeReport', () => {
  const metrics = [{ key: 'accuracy', label: 'top-1' }, { key: 'top5', label: 'top-5' }];
  it('summarises the final epoch as mean ± sample sd over seeds', () => {
    const rows = summarize(fakeRuns(), metrics);
    expect(rows.map((r) => r.method)).toEqual(['baseline', 'cutmix']);
    expect(rows[0].metrics.accuracy[0]).toBeCloseTo(0.75, 10);
    expect(rows[0].metrics.accuracy[1]).toBeCloseTo(Math.sqrt(((0.7 - 0.75) ** 2 + (0.8 - 0.75) ** 2) / 1), 10);
    expect(rows[1].metrics.accuracy).toEqual([0.6, 0]);
    const table = formatTable(rows, metrics, 'baseline');
    expect(table.split('\n')[2]).toMatch(/^baseline\s+75\.0 ± 7\.1\s+95\.0 ± 7\.1\s+0\.350 ± 0\.071/);
    expect(table.split('\n')[3]).toMatch(/^cutmix\s+60\.0 ± 0\.0\s+80\.0 ± 0\.0\s+−15\.0/);
  });
  it('writes report.md with one table row per method, report.html, and both charts', async () => {
    const dir = path.join(tmp(), 'r');
    const png = Buffer.from('89504e47', 'hex');
    const files = await writeReport({
      title: 'Test report', dir, runs: fakeRuns(), labels: { baseline: 'Baseline', cutmix: 'CutMix' },
      settings: { epochs: 2 }, command: 'batchmix compare --epochs 2', images: [{ title: 'CutMix', png }],
    });
    const md = fs.readFileSync(files.markdown, 'utf8');
    expect(md).toContain('| method | top-1 % | top-5 % | Δ top-1 | valid loss | train loss | time/run |');
    expect(md).toContain('| Baseline | 75.0 ± 7.1 | 95.0 ± 7.1 |  |');
    expect(md).toContain('| CutMix | 60.0 ± 0.0 | 80.0 ± 0.0 | −15.0 |');
    expect(md).toContain('mean ± sd over 2 seeds');
    expect(md).toContain('![validation top-1 per epoch](accuracy.png)');
    for (const f of ['accuracy.svg', 'accuracy.png', 'accuracy.vl.json', 'loss.svg', 'loss.png', 'report.html', 'sample-1-cutmix.png', 'runs.json']) {
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'accuracy.vl.json'), 'utf8'));
    expect(spec.data.values).toContainEqual({ method: 'Baseline', epoch: 2, accuracy: 0.75 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'runs.json'), 'utf8')).runs).toHaveLength(4);
    const html = fs.readFileSync(files.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('<td>CutMix</td><td>60.0 ± 0.0</td>');
  });
  it('works for any metric (the tabular job reuses it)', async () => {
    const dir = path.join(tmp(), 'tab');
    const runs: ReportRun[] = [{ method: 'swap', seed: 0, history: [{ epoch: 1, trainLoss: 0.5, auc: 0.9 } as never] }];
    const files = await writeReport({ title: 't', dir, runs, metrics: [{ key: 'auc', label: 'AUC', percent: false }] });
    expect(fs.readFileSync(files.markdown, 'utf8')).toContain('| swap | 0.900 |');
  });
  it('rejects runs without history', async () => {
    await expect(writeReport({ title: 't', dir: tmp(), runs: [] })).rejects.toThrow(/^writeReport: runs must be a non-empty array of runs/);
  });
});

describe('compare', () => {
  it('runs every method for one epoch on a tiny dataset and writes a table row per method', async () => {
    const out = tmp();
    const before = tf.memory().numTensors;
    const res = await compare({ limitTrain: 96, limitValid: 64, epochs: 1, batchSize: 32, model: 'cnn:4', workers: 1, out, name: 'tiny', quiet: true, backend: 'wasm' });
    expect(res.runs.map((r) => r.method)).toEqual(DEFAULT_METHODS);
    for (const r of res.runs) {
      expect(r.history).toHaveLength(1);
      expect(r.history[0].accuracy).toBeGreaterThanOrEqual(0);
      expect(r.batchLosses).toHaveLength(3);
      expect(r.sample?.shape).toEqual([8, 28, 28, 1]);
    }
    const md = fs.readFileSync(path.join(out, 'tiny', 'report.md'), 'utf8');
    for (const m of DEFAULT_METHODS) expect(md).toContain(`| ${COMPARE_METHODS[m].label} | `);
    expect(md.match(/^\| (Baseline|Mixup|CutMix|Cutout|RICAP)/gm)).toHaveLength(6);
    expect(fs.existsSync(path.join(out, 'tiny', 'report.html'))).toBe(true);
    expect(res.table.split('\n')).toHaveLength(2 + 6);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('gives the same result for the same seed (same data order, weights and draws)', async () => {
    const o = { limitTrain: 64, limitValid: 32, epochs: 1, batchSize: 32, model: 'cnn:4', workers: 1, methods: ['cutmix'], quiet: true, backend: 'wasm' };
    const a = await compare({ ...o, out: tmp() });
    const b = await compare({ ...o, out: tmp() });
    expect(a.runs[0].batchLosses).toEqual(b.runs[0].batchLosses);
  });
});

describe('batchmix CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin', 'batchmix.js'), ...args], { encoding: 'utf8', env: { ...process.env, BATCHMIX_QUIET: '1' } });
  const built = fs.existsSync(path.join(ROOT, 'dist', 'compare.js'));
  (built ? it : it.skip)('prints help with every option', () => {
    const r = cli('compare', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: batchmix compare [options]');
    expect(r.stdout).toContain('--workers');
  });
  (built ? it : it.skip)('fails on bad options with the flag in the message and exit code 2', () => {
    let r = cli('compare', '--epochs', '0');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('batchmix compare: --epochs must be an integer >= 1, got 0');
    r = cli('compare', '--batch-size', '1');
    expect(r.stderr.trim()).toBe('batchmix compare: --batch-size must be an integer in [2, 4096], got 1');
    r = cli('compare', '--frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('batchmix compare: --frobnicate is not an option; see --help, got "--frobnicate"');
    r = cli('train');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("batchmix: unknown command 'train'");
  });
  (built ? it : it.skip)('runs a comparison in two worker threads and prints the table and the report path', () => {
    const out = tmp();
    const r = cli('compare', '--limit-train', '64', '--limit-valid', '32', '--epochs', '1', '--batch-size', '32', '--model', 'cnn:4',
      '--methods', 'baseline,cutmix', '--workers', '2', '--out', out, '--name', 'cli');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Baseline\s+\d/m);
    expect(r.stdout).toMatch(/^CutMix \(true λ\)\s+\d/m);
    expect(r.stdout).toContain(`report: ${path.join(out, 'cli', 'report.md')}`);
    expect(fs.readFileSync(path.join(out, 'cli', 'report.md'), 'utf8')).toContain('| workers | 2 |');
  });
});
