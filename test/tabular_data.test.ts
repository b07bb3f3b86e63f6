import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import {
  BIRDSTRIKES_CLASSES, fitPreprocessor, formatInference, inferColumns, loadBirdstrikes, normalQuantile, parseCsv,
  splitTable, tableFromRows, takeRows, toTensors, Table,
} from '../lib/tabular_data';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** Random rows: two continuous columns (some missing), one categorical, a target. */
const rowsArb = fc.array(fc.record({
  a: fc.option(fc.integer({ min: -1000, max: 1000 }).map((v) => v / 8), { nil: null, freq: 5 }),
  b: fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)),
  c: fc.constantFrom('x', 'y', 'z', 'w', ''),
  t: fc.constantFrom('p', 'q'),
}), { minLength: 4, maxLength: 60 });

const SPEC = { columns: [{ name: 'a', kind: 'continuous' as const }, { name: 'b', kind: 'continuous' as const }, { name: 'c', kind: 'categorical' as const }], target: 't' };

function csvOf(rows: Record<string, unknown>[]): string {
  const esc = (v: unknown) => { const s = v === null ? '' : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return ['a,b,c,t', ...rows.map((r) => [r.a, r.b, r.c, r.t].map(esc).join(','))].join('\r\n') + '\r\n';
}

describe('parseCsv and tableFromRows', () => {
  it('parse quoted fields, escaped quotes and CRLF line ends', () => {
    const { header, rows } = parseCsv('name,"note, with comma"\r\n"say ""hi""",2\r\n\r\nx,"multi\nline"\n');
    expect(header).toEqual(['name', 'note, with comma']);
    expect(rows).toEqual([['say "hi"', '2'], ['x', 'multi\nline']]);
  });

  it('build the same table from CSV text and from JSON rows', () => {
    fc.assert(fc.property(rowsArb, (rows) => {
      const fromJson = tableFromRows(rows, SPEC);
      const fromCsv = tableFromRows(parseCsv(csvOf(rows)), SPEC);
      expect(fromCsv.numRows).toBe(rows.length);
      expect(Array.from(fromCsv.cont)).toEqual(Array.from(fromJson.cont));
      expect(Array.from(fromCsv.cat)).toEqual(Array.from(fromJson.cat));
      expect(fromCsv.levels).toEqual(fromJson.levels);
      expect(Array.from(fromCsv.y!)).toEqual(Array.from(fromJson.y!));
      rows.forEach((r, i) => {
        if (r.a === null) expect(Number.isNaN(fromJson.cont[i * 2])).toBe(true);
        else expect(fromJson.cont[i * 2]).toBe(Math.fround(r.a));
        const code = fromJson.cat[i];
        expect(code === 0 ? '' : fromJson.levels[0][code - 1]).toBe(r.c);
        expect(fromJson.classes![fromJson.y![i]]).toBe(r.t);
      });
    }), { numRuns: 100 });
  });

  it('infer kinds with the evidence shown', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ num: i * 1.5, small: i % 4, big: i * 7, name: `id${i}`, lvl: ['a', 'b'][i % 2], none: null }));
    const inf = inferColumns(rows, { maxLevels: 30 });
    const kinds = Object.fromEntries(inf.map((c) => [c.name, c.kind]));
    expect(kinds).toEqual({ num: 'continuous', small: 'categorical', big: 'continuous', name: 'ignored', lvl: 'categorical', none: 'ignored' });
    expect(inf.find((c) => c.name === 'small')!.reason).toBe('integers with 4 <= maxCard (20) distinct values');
    expect(inf.find((c) => c.name === 'none')!.missing).toBe(40);
    const text = formatInference(inf);
    expect(text.split('\n')[0]).toMatch(/^column\s+kind\s+distinct\s+missing\s+reason\s+examples$/);
    const t = tableFromRows(rows, { maxLevels: 30 });
    expect(t.contNames).toEqual(['num', 'big']);
    expect(t.catNames).toEqual(['small', 'lvl']);
  });

  it('reject ragged rows, unknown columns, empty tables and bad values with clear messages', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow('parseCsv: row on line 3 must have 2 fields like the header, got 1');
    expect(() => parseCsv('a\n"open\n')).toThrow('parseCsv: text must close every quoted field, got "an unclosed quote"');
    expect(() => parseCsv('')).toThrow('parseCsv: text must hold a header row, got "empty text"');
    expect(() => tableFromRows({ header: ['a', 'b'], rows: [['1', '2'], ['3']] })).toThrow('tableFromRows: rows[1] must have 2 fields like the header, got 1');
    expect(() => tableFromRows([{ a: 1 }], { columns: { b: 'continuous' } })).toThrow('tableFromRows: columns[0].name must name one of the data\'s columns (a), got "b"');
    expect(() => tableFromRows([{ a: 1 }], { target: 'z' })).toThrow('tableFromRows: target must name one of the data\'s columns (a), got "z"');
    expect(() => tableFromRows([])).toThrow('tableFromRows: rows must not be empty, got "an empty array"');
    expect(() => tableFromRows(parseCsv('a,b\n'))).toThrow('tableFromRows: rows must not be empty, got "no data rows"');
    expect(() => tableFromRows([{ a: 'x' }], { columns: { a: 'continuous' } })).toThrow('tableFromRows: column "a" row 0 must be a number or missing (it is continuous), got "x"');
    expect(() => tableFromRows([{ a: 1 }], { columns: { a: 'ordinal' as any } })).toThrow('tableFromRows: columns[0].kind must be one of "continuous" | "categorical", got "ordinal"');
    expect(() => tableFromRows([{ a: 1, t: null }], { columns: { a: 'continuous' }, target: 't' })).toThrow('tableFromRows: target "t" row 0 must not be missing, got null');
    expect(() => fitPreprocessor(takeRows(tableFromRows([{ a: 1 }]), []))).toThrow('fitPreprocessor: train must not be an empty table, got "0 rows"');
  });
});

describe('fitPreprocessor', () => {
  it('is fitted on training rows only: a shifted test set changes nothing fitted, and is scaled by training statistics', () => {
    fc.assert(fc.property(rowsArb, rowsArb, fc.double({ min: 10, max: 1e4, noNaN: true }), fc.constantFrom('standard' as const, 'rankgauss' as const),
      (trainRows, testRows, shift, normalize) => {
        const all = tableFromRows([...trainRows, ...testRows], SPEC);
        const n = trainRows.length;
        const train = takeRows(all, Array.from({ length: n }, (_, i) => i));
        const test = takeRows(all, Array.from({ length: testRows.length }, (_, i) => n + i));
        const shifted: Table = { ...test, cont: test.cont.map((v) => v + shift) };
        const pre = fitPreprocessor(train, { normalize });
        // The fitted statistics are those of the training rows, computed independently here.
        for (let j = 0; j < 2; j++) {
          const present = trainRows.map((r) => (j === 0 ? r.a : r.b)).filter((v): v is number => v !== null).map(Math.fround);
          const s = pre.stats[j];
          expect(s.indicator).toBe(present.length < n);
          if (present.length === 0) continue;
          const mean = present.reduce((a, v) => a + v, 0) / present.length;
          expect(s.mean).toBeCloseTo(mean, 6);
          const sorted = present.slice().sort((a, b) => a - b), m = sorted.length;
          expect(s.median).toBe(m % 2 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2);
        }
        // Transforming the training rows does not depend on what else exists; each row is transformed alone.
        const a = pre.transform(train), b = fitPreprocessor(train, { normalize }).transform(train);
        expect(Array.from(a.cont)).toEqual(Array.from(b.cont));
        const t1 = pre.transform(shifted), t0 = pre.transform(test);
        const one = pre.transform(takeRows(shifted, [0]));
        expect(Array.from(one.cont)).toEqual(Array.from(t1.cont.subarray(0, one.cont.length)));
        if (normalize === 'standard') {
          const d = t1.contNames.length;
          for (let i = 0; i < test.numRows; i++) {
            for (let j = 0; j < 2; j++) {
              const raw = shifted.cont[i * 2 + j], s = pre.stats[j];
              const want = Math.fround(((Number.isNaN(raw) ? s.median : raw) - s.mean) / s.sd);
              expect(t1.cont[i * d + j]).toBe(want);
              if (!Number.isNaN(raw) && pre.stats[j].sd !== 1) expect(t1.cont[i * d + j]).not.toBe(t0.cont[i * d + j]);
            }
          }
        }
      }), { numRuns: 60 });
  });

  it('fills missing values with the training median and flags them', () => {
    const train = tableFromRows([{ v: 1 }, { v: null }, { v: 3 }, { v: 10 }], { columns: { v: 'continuous' } });
    const test = tableFromRows([{ v: null }, { v: 5 }], { columns: { v: 'continuous' } });
    const pre = fitPreprocessor(train, { normalize: 'none' });
    const p = pre.transform(test);
    expect(p.contNames).toEqual(['v', 'v_na']);
    expect(Array.from(p.cont)).toEqual([3, 1, 5, 0]);
    const noMissing = fitPreprocessor(test.numRows ? tableFromRows([{ v: 1 }, { v: 2 }], { columns: { v: 'continuous' } }) : train, { normalize: 'none' });
    expect(noMissing.transform(test).contNames).toEqual(['v']);
    expect(Array.from(noMissing.transform(test).cont)).toEqual([1.5, 5]);
  });

  it('keeps only the categorical levels seen in training (at least minCount times); others become 0', () => {
    const rows = [{ c: 'a' }, { c: 'a' }, { c: 'b' }, { c: 'c' }, { c: '' }];
    const all = tableFromRows(rows, { columns: { c: 'categorical' } });
    const train = takeRows(all, [0, 1, 2, 4]);
    const pre = fitPreprocessor(train);
    expect(pre.vocab).toEqual([['a', 'b']]);
    expect(Array.from(pre.transform(all).cat)).toEqual([1, 1, 2, 0, 0]);
    expect(pre.transform(all).cardinalities).toEqual([3]);
    const pre2 = fitPreprocessor(train, { minCount: 2 });
    expect(Array.from(pre2.transform(all).cat)).toEqual([1, 1, 0, 0, 0]);
    // A table built separately (its own level order) is mapped through level names.
    const other = tableFromRows([{ c: 'b' }, { c: 'b' }, { c: 'a' }], { columns: { c: 'categorical' } });
    expect(Array.from(pre.transform(other).cat)).toEqual([2, 2, 1]);
  });

  it('RankGauss is monotone, gives ties one value, and maps distinct training values to about N(0, 1)', () => {
    const vals = Array.from({ length: 999 }, (_, i) => ({ v: Math.exp(i / 100) }));
    const t = tableFromRows([...vals, { v: 1 }, { v: 1 }], { columns: { v: 'continuous' } });
    const pre = fitPreprocessor(t, { normalize: 'rankgauss' });
    const out = pre.transform(t).cont;
    let s = 0, s2 = 0;
    for (let i = 0; i < 999; i++) { s += out[i]; s2 += out[i] ** 2; if (i) expect(out[i]).toBeGreaterThanOrEqual(out[i - 1]); }
    expect(out[999]).toBe(out[0]);
    expect(Math.abs(s / 999)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(s2 / 999) - 1)).toBeLessThan(0.05);
    const probe = tableFromRows([{ v: 0.5 }, { v: 1e9 }, { v: (Math.exp(1) + Math.exp(1.01)) / 2 }], { columns: { v: 'continuous' } });
    const p = pre.transform(probe).cont;
    expect(p[0]).toBe(out[0]);
    expect(p[1]).toBe(out[998]);
    expect(p[2]).toBeGreaterThan(out[100]);
    expect(p[2]).toBeLessThan(out[101]);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 8);
  });
});

describe('splitTable and the birdstrikes table', () => {
  it('splits into disjoint train and test rows that cover the table, stratified by class', () => {
    const table = loadBirdstrikes();
    expect(table.numRows).toBe(9985);
    expect(table.classes).toEqual(BIRDSTRIKES_CLASSES);
    expect(table.catNames).toContain('Wildlife Size');
    expect(table.contNames).toEqual(['Speed IAS in knots', 'Year']);
    const { train, test } = splitTable(table, { testFraction: 0.25, seed: 3 });
    expect(train.numRows + test.numRows).toBe(table.numRows);
    const count = (t: Table) => { const c = [0, 0, 0, 0]; t.y!.forEach((k) => c[k]++); return c; };
    const all = count(table), te = count(test);
    all.forEach((n, k) => expect(Math.abs(te[k] - n * 0.25)).toBeLessThanOrEqual(1));
    const again = splitTable(table, { testFraction: 0.25, seed: 3 });
    expect(Array.from(again.test.y!)).toEqual(Array.from(test.y!));
    const p = fitPreprocessor(train).transform(test);
    const before = tf.memory().numTensors;
    const tens = toTensors(p);
    expect(tens.cont.shape).toEqual([test.numRows, 3]);
    expect(tens.cat.dtype).toBe('int32');
    expect(tens.y!.shape).toEqual([test.numRows]);
    tf.dispose([tens.cont, tens.cat, tens.y!]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => splitTable(table, { testFraction: 1 })).toThrow('splitTable: testFraction must be in (0, 1), got 1');
  });
});
