// Runs every notebook in-process (tools/run-notebook.js, tslab's converter and executor) with
// BATCHMIX_TEST=1, under which notebooks shrink long work. Needs dist/ (npm test builds it first).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const notebooks = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run npm run build (npm test does it) before the notebook tests');
});

describe('every notebook runs', () => {
  it('has notebooks to run', () => expect(notebooks.length).toBeGreaterThan(0));
  it.each(notebooks)('%s', (nb) => {
    const r = spawnSync('node', [path.join(ROOT, 'tools/run-notebook.js'), `notebooks/${nb}`, '--quiet'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, BATCHMIX_TEST: '1', BATCHMIX_QUIET: '1' }, timeout: 600000,
    });
    if (r.status !== 0) throw new Error(`${nb} failed:\n${(r.stderr || '').slice(-4000)}${r.error ? `\n${r.error.message}` : ''}`);
  }, 610000);
});
