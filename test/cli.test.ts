// The batchmix command line: compare-tabular wiring (compare itself is covered in compare.test.ts).
// Runs bin/batchmix.js against dist/ (npm test builds it first).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const BIN = path.resolve(__dirname, '../bin/batchmix.js');
const run = (...args: string[]) => spawnSync('node', [BIN, ...args], { encoding: 'utf8', env: { ...process.env, BATCHMIX_QUIET: '1' }, timeout: 300000 });

describe('batchmix compare-tabular', () => {
  it('lists the command in the top-level help', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/compare-tabular\s+the same for the tabular methods/);
  });
  it('explains every option with --help', () => {
    const r = run('compare-tabular', '--help');
    expect(r.status).toBe(0);
    for (const flag of ['--methods', '--seeds', '--epochs', '--out', '--backend']) expect(r.stdout).toContain(flag);
  });
  it('rejects an unknown option and a bad value with exit code 2 and a message naming them', () => {
    const bogus = run('compare-tabular', '--bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toContain('--bogus is not an option');
    const epochs = run('compare-tabular', '--epochs', '0');
    expect(epochs.status).toBe(2);
    expect(epochs.stderr).toContain('epochs must be an integer >= 1, got 0');
  });
  it('trains, prints the table and writes the report with a row per method', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-cli-'));
    const r = run('compare-tabular', '--methods', 'baseline,swap-0.1', '--seeds', '0', '--epochs', '1', '--backend', 'cpu', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/baseline\s+\d+\.\d/);
    expect(r.stdout).toContain(`report: ${path.join(out, 'report.md')}`);
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\|\s*baseline\s*\|/);
    expect(md).toMatch(/swap noise p=0\.1/);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
  });
});
