// Every public export of lib/ has a doc comment (it is what exported/api.md shows).
import * as fs from 'fs';
import * as path from 'path';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { publicApi } = require('../tools/export.js');

const LIB = path.resolve(__dirname, '../lib');
const modules = fs.readdirSync(LIB).filter((f) => f.endsWith('.ts') && f !== 'index.ts').sort();

describe('the public API is documented', () => {
  it.each(modules)('every export of lib/%s has a doc comment', (file) => {
    const api: { name: string; doc: string }[] = publicApi(fs.readFileSync(path.join(LIB, file), 'utf8'));
    expect(api.length).toBeGreaterThan(0);
    const undocumented = api.filter((e) => !e.doc.trim()).map((e) => e.name);
    expect(undocumented).toEqual([]);
  });
  it('lib/index.ts re-exports every module', () => {
    const index = fs.readFileSync(path.join(LIB, 'index.ts'), 'utf8');
    for (const f of modules) expect(index).toContain(`export * from './${f.replace(/\.ts$/, '')}';`);
  });
});

describe('the README', () => {
  it('runs its "Use" example as written (against lib/, with a small batch)', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const ts = require('typescript');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const tf = require('@tensorflow/tfjs');
    const readme = fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
    const use = readme.slice(readme.indexOf('## Use'));
    const start = use.indexOf('```ts') + 5;
    const code = use.slice(start, use.indexOf('```', start));
    expect(code).toContain("from 'batchmix'");
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    const lib = require('../lib/index');
    const x = tf.randomUniform([4, 8, 8, 3]), y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const before = tf.memory().numTensors;
    const requireFor = (m: string) => (m === 'batchmix' ? lib : m === '@tensorflow/tfjs' ? tf : require(m));
    new Function('require', 'exports', 'x', 'y', js)(requireFor, {}, x, y);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});
