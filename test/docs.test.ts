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
