import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import {
  gaussianNoise, swapNoise, tabularCutmix, tabularGaussianNoise, tabularMixup, tabularSwapNoise,
} from '../lib/tabular';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** A [B, D] batch whose values come from a small alphabet (so equal swaps happen) or are all distinct. */
function makeX(B: number, D: number, dtype: 'float32' | 'int32', levels: number, seed: number): { x: tf.Tensor2D; v: Float32Array | Int32Array } {
  const rng = new Rng(seed);
  const n = B * D;
  const v = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = levels > 0 ? rng.int(levels) + (dtype === 'float32' ? 0.5 : 0) : i;
  return { x: tf.tensor2d(v, [B, D], dtype), v };
}

const caseArb = fc.record({
  B: fc.integer({ min: 2, max: 40 }), D: fc.integer({ min: 1, max: 7 }),
  dtype: fc.constantFrom('float32' as const, 'int32' as const),
  levels: fc.constantFrom(0, 1, 2, 5), p: fc.double({ min: 0, max: 1, noNaN: true }),
  mode: fc.constantFrom('row' as const, 'column' as const), seed: fc.integer({ min: 0, max: 1e9 }),
  subset: fc.boolean(),
});

describe('swapNoise', () => {
  it('takes every new value from the same column of another row, and marks exactly the changed cells', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const { x, v } = makeX(c.B, c.D, c.dtype, c.levels, c.seed);
      const columns = c.subset ? Array.from({ length: c.D }, (_, j) => j).filter((j) => j % 2 === 0) : undefined;
      const before = tf.memory().numTensors;
      const out = swapNoise(x, { p: c.p, mode: c.mode, seed: c.seed, columns });
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(out.x.dtype).toBe(c.dtype);
      expect(out.x.shape).toEqual([c.B, c.D]);
      expect(out.mask.dtype).toBe('bool');
      const o = out.x.dataSync(), m = out.mask.dataSync();
      for (let i = 0; i < c.B; i++) {
        for (let j = 0; j < c.D; j++) {
          const k = i * c.D + j;
          expect(m[k]).toBe(o[k] !== v[k] ? 1 : 0);
          if (o[k] === v[k]) continue;
          if (columns && !columns.includes(j)) throw new Error(`column ${j} is not in columns but changed`);
          let found = false;
          for (let r = 0; r < c.B && !found; r++) if (r !== i && v[r * c.D + j] === o[k]) found = true;
          if (!found) throw new Error(`cell (${i},${j}) = ${o[k]} is in no other row of column ${j}`);
        }
      }
      tf.dispose([x, out.x, out.mask]);
    }), { numRuns: 200 });
  });

  it('in column mode uses each source row at most once per column', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1e9 }), (B, D, p, seed) => {
      const { x, v } = makeX(B, D, 'int32', 0, seed); // v[i*D+j] = i*D+j: a value names its row
      const out = swapNoise(x, { p, mode: 'column', seed });
      const o = out.x.dataSync();
      for (let j = 0; j < D; j++) {
        const used = new Set<number>();
        for (let i = 0; i < B; i++) {
          const k = i * D + j;
          if (o[k] === v[k]) continue;
          expect(o[k] % D).toBe(j);
          const src = Math.floor(o[k] / D);
          if (used.has(src)) throw new Error(`row ${src} swapped into column ${j} twice`);
          used.add(src);
        }
      }
      tf.dispose([x, out.x, out.mask]);
    }), { numRuns: 150 });
  });

  it('keeps both properties on batches that span several 256 KB source buckets, in both modes', () => {
    fc.assert(fc.property(fc.integer({ min: 6000, max: 20000 }), fc.integer({ min: 11, max: 23 }), fc.double({ min: 0.01, max: 1, noNaN: true }),
      fc.constantFrom('row' as const, 'column' as const), fc.boolean(), fc.integer({ min: 0, max: 1e9 }), (B, D, p, mode, subset, seed) => {
        const { x, v } = makeX(B, D, 'int32', 0, seed); // v[i*D+j] = i*D+j: a value names its row and column
        const columns = subset ? Array.from({ length: D }, (_, j) => j).filter((j) => j % 3 !== 1) : undefined;
        const out = swapNoise(x, { p, mode, seed, columns });
        const o = out.x.dataSync(), m = out.mask.dataSync();
        const used = Array.from({ length: D }, () => new Set<number>());
        let changed = 0;
        for (let k = 0; k < B * D; k++) {
          if (m[k] !== (o[k] !== v[k] ? 1 : 0)) throw new Error(`mask at cell ${k} is ${m[k]} but the value ${o[k] !== v[k] ? 'changed' : 'did not change'}`);
          if (o[k] === v[k]) continue;
          changed++;
          const i = Math.floor(k / D), j = k % D, src = Math.floor(o[k] / D);
          if (o[k] % D !== j || src === i || (columns && !columns.includes(j))) throw new Error(`cell (${i},${j}) got ${o[k]}: not column ${j} of another row, or not a chosen column`);
          if (mode === 'column') {
            if (used[j].has(src)) throw new Error(`row ${src} swapped into column ${j} twice`);
            used[j].add(src);
          }
        }
        const n = B * (columns ? columns.length : D), mean = n * p; // all values distinct: row mode changes every chosen cell
        if (mode === 'row') expect(Math.abs(changed - mean)).toBeLessThanOrEqual(6 * Math.sqrt(mean * (1 - p)) + 1);
        tf.dispose([x, out.x, out.mask]);
      }), { numRuns: 12 });
  });

  it('gives the same output whether or not the planning thread has started (row mode, a batch large enough to split)', async () => {
    const { x } = makeX(32768, 16, 'float32', 5, 3); // 2^19 cells: planned as two segments
    const first = swapNoise(x, { p: 0.15, seed: 42 }); // the thread is starting: this thread plans both segments
    await new Promise((r) => setTimeout(r, 300));
    const again = [swapNoise(x, { p: 0.15, seed: 42 }), swapNoise(x, { p: 0.15, seed: 42 })]; // the thread plans segment 1
    const firstDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i; return a.length === b.length ? -1 : a.length; };
    for (const r of again) {
      expect(firstDiff(r.x.dataSync(), first.x.dataSync())).toBe(-1);
      expect(firstDiff(r.mask.dataSync(), first.mask.dataSync())).toBe(-1);
    }
    const other = swapNoise(x, { p: 0.15, seed: 43 });
    expect(firstDiff(other.x.dataSync(), first.x.dataSync())).toBeGreaterThanOrEqual(0);
    const changed = (first.mask.dataSync() as Uint8Array).reduce((a, v) => a + v, 0), n = 32768 * 16;
    expect(Math.abs(changed - n * 0.15 * 0.8)).toBeLessThan(6 * Math.sqrt(n * 0.15)); // values from 5 levels: a swap changes the cell 4/5 of the time
    tf.dispose([x, first.x, first.mask, ...again.flatMap((r) => [r.x, r.mask]), other.x, other.mask]);
  });

  it('changes a fraction of cells within binomial bounds of p times the chance the source differs', () => {
    fc.assert(fc.property(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 1, max: 10 }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(0, 2, 3), fc.constantFrom('row' as const, 'column' as const), fc.integer({ min: 0, max: 1e9 }), (B, D, p, levels, mode, seed) => {
        const { x, v } = makeX(B, D, 'int32', levels, seed);
        // For each cell, the chance its source differs: over the other B-1 rows (row mode), or over
        // all B rows with a fixed point allowed (column mode). Mean and variance of a sum of Bernoullis.
        let mean = 0, variance = 0;
        for (let j = 0; j < D; j++) {
          const counts = new Map<number, number>();
          for (let i = 0; i < B; i++) counts.set(v[i * D + j], (counts.get(v[i * D + j]) ?? 0) + 1);
          for (let i = 0; i < B; i++) {
            const differ = B - counts.get(v[i * D + j])!;
            const q = p * differ / (mode === 'row' ? B - 1 : B);
            mean += q; variance += q * (1 - q);
          }
        }
        const out = swapNoise(x, { p, mode, seed });
        const changed = (out.mask.sum().arraySync() as number);
        // Column mode's cells in one column are not independent (a permutation), but negatively
        // correlated; 6 sd + 2 covers both modes.
        expect(Math.abs(changed - mean)).toBeLessThanOrEqual(6 * Math.sqrt(variance) + 2);
        tf.dispose([x, out.x, out.mask]);
      }), { numRuns: 150 });
  });

  it('chooses a fraction p of cells: with all-distinct values, row mode changes Binomial(n, p) cells', () => {
    for (const p of [0.05, 0.15, 0.5]) {
      const B = 1000, D = 16, n = B * D;
      const { x } = makeX(B, D, 'float32', 0, 1);
      const out = swapNoise(x, { p, seed: 123 });
      const changed = out.mask.sum().arraySync() as number;
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(changed - n * p)).toBeLessThanOrEqual(5 * sd);
      tf.dispose([x, out.x, out.mask]);
    }
  });

  it('gives the same output for the same seed, and p = 1 in row mode changes every distinct cell', () => {
    const { x } = makeX(50, 5, 'float32', 0, 0);
    const a = swapNoise(x, { p: 0.3, seed: 9 }), b = swapNoise(x, { p: 0.3, seed: 9 }), c = swapNoise(x, { p: 0.3, seed: new Rng(9) });
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(c.x.dataSync()));
    const all = swapNoise(x, { p: 1, seed: 1 });
    expect(all.mask.sum().arraySync()).toBe(250);
    tf.dispose([x, a.x, a.mask, b.x, b.mask, c.x, c.mask, all.x, all.mask]);
  });

  it('treats 0 and -0 as equal and keeps NaN cells that swap in NaN unchanged', () => {
    const x = tf.tensor2d([[0], [-0], [NaN], [NaN]]);
    const out = swapNoise(x, { p: 1, mode: 'column', seed: 4 });
    const o = out.x.dataSync(), m = out.mask.dataSync();
    const inp = [0, -0, NaN, NaN];
    for (let i = 0; i < 4; i++) {
      const same = (Number.isNaN(o[i]) && Number.isNaN(inp[i])) || o[i] === inp[i];
      expect(m[i]).toBe(same ? 0 : 1);
    }
    tf.dispose([x, out.x, out.mask]);
  });

  it('is the identity with training: false or p = 0', () => {
    const { x, v } = makeX(10, 3, 'int32', 4, 2);
    for (const opts of [{ training: false, p: 0.5 }, { p: 0 }]) {
      const out = swapNoise(x, { ...opts, seed: 1 });
      expect(Array.from(out.x.dataSync())).toEqual(Array.from(v));
      expect(out.mask.sum().arraySync()).toBe(0);
      tf.dispose([out.x, out.mask]);
    }
    x.dispose();
  });

  it('rejects bad input with clear messages', () => {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    expect(() => swapNoise(x, { p: 1.5 })).toThrow('swapNoise: p must be in [0, 1], got 1.5');
    expect(() => swapNoise(x, { p: -0.1 })).toThrow('swapNoise: p must be in [0, 1], got -0.1');
    expect(() => swapNoise(x, { mode: 'cell' as any })).toThrow('swapNoise: mode must be one of "row" | "column", got "cell"');
    expect(() => swapNoise(x, { columns: [2] })).toThrow('swapNoise: columns[0] must be a column index in [0, 1], got 2');
    expect(() => swapNoise(x, { columns: [1, 1] })).toThrow('swapNoise: columns[1] must not repeat a column, got 1');
    expect(() => swapNoise(x, { q: 1 } as any)).toThrow(/swapNoise: option "q" is unknown; known options: p, columns, mode, seed, training/);
    expect(() => swapNoise(tf.tensor1d([1, 2]) as any)).toThrow(/swapNoise: x must have rank 2/);
    expect(() => swapNoise(tf.zeros([0, 3]) as tf.Tensor2D)).toThrow(/swapNoise: x must not be an empty batch/);
    expect(() => swapNoise(tf.tensor2d([[1, 2]]), { p: 0.5 })).toThrow('swapNoise: x must have at least 2 rows to swap between, got "shape [1,2]"');
    expect(() => swapNoise(tf.tensor2d([[true]], [1, 1], 'bool') as any)).toThrow(/swapNoise: x must have dtype float32 or int32, got "bool"/);
    x.dispose();
  });
});

describe('gaussianNoise', () => {
  it('adds N(0, std²) to the chosen columns only', () => {
    const B = 4000, D = 3;
    const x = tf.zeros([B, D]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const out = gaussianNoise(x, { std: 0.5, columns: [0, 2], seed: 3 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const o = out.dataSync();
    for (const j of [0, 2]) {
      let s = 0, s2 = 0;
      for (let i = 0; i < B; i++) { s += o[i * D + j]; s2 += o[i * D + j] ** 2; }
      expect(Math.abs(s / B)).toBeLessThan(0.05);
      expect(Math.abs(Math.sqrt(s2 / B) - 0.5)).toBeLessThan(0.03);
    }
    for (let i = 0; i < B; i++) expect(o[i * D + 1]).toBe(0);
    tf.dispose([x, out]);
  });

  it('is the identity with training: false, and refuses categorical codes', () => {
    const x = tf.tensor2d([[1, 2]]);
    const out = gaussianNoise(x, { training: false, std: 1 });
    expect(Array.from(out.dataSync())).toEqual([1, 2]);
    expect(() => gaussianNoise(tf.tensor2d([[1]], [1, 1], 'int32'))).toThrow(/gaussianNoise: x must have dtype float32 \(continuous columns only/);
    expect(() => gaussianNoise(x, { std: -1 })).toThrow('gaussianNoise: std must be a finite number >= 0, got -1');
    tf.dispose([x, out]);
  });
});

const batchArb = fc.record({
  B: fc.integer({ min: 1, max: 24 }), dC: fc.integer({ min: 0, max: 4 }), dK: fc.integer({ min: 0, max: 4 }),
  nc: fc.integer({ min: 1, max: 5 }), soft: fc.boolean(), seed: fc.integer({ min: 0, max: 1e9 }),
}).filter((c) => c.dC + c.dK > 0);

function makeBatch(c: { B: number; dC: number; dK: number; nc: number; soft: boolean; seed: number }) {
  const rng = new Rng(c.seed);
  const contV = Float32Array.from({ length: c.B * c.dC }, () => rng.uniform(-2, 2));
  const catV = Int32Array.from({ length: c.B * c.dK }, (_, k) => k + 1); // distinct codes
  const labels = Int32Array.from({ length: c.B }, () => rng.int(c.nc));
  const hot = new Float32Array(c.B * c.nc);
  labels.forEach((l, i) => { hot[i * c.nc + l] = 1; });
  return {
    batch: {
      ...(c.dC ? { cont: tf.tensor2d(contV, [c.B, c.dC]) } : {}),
      ...(c.dK ? { cat: tf.tensor2d(catV, [c.B, c.dK], 'int32') } : {}),
      y: c.soft ? tf.tensor2d(hot, [c.B, c.nc]) : tf.tensor1d(labels, 'int32'),
    },
    contV, catV, hot,
  };
}

function disposeAll(...xs: (tf.Tensor | undefined | object)[]) {
  for (const x of xs) {
    if (x instanceof tf.Tensor) x.dispose();
    else if (x) for (const v of Object.values(x)) if (v instanceof tf.Tensor) v.dispose();
  }
}

/** Checks sources/weights and that y = Σ weights · onehot(sources). */
function checkLabels(out: { y: tf.Tensor2D; k: number; sources: Int32Array; weights: Float32Array }, hot: Float32Array, B: number, nc: number) {
  const y = out.y.dataSync();
  const partners = new Set<number>();
  for (let i = 0; i < B; i++) {
    expect(out.sources[2 * i]).toBe(i);
    partners.add(out.sources[2 * i + 1]);
    const w0 = out.weights[2 * i], w1 = out.weights[2 * i + 1];
    expect(w0).toBeGreaterThanOrEqual(0);
    expect(w1).toBeGreaterThanOrEqual(0);
    expect(Math.abs(w0 + w1 - 1)).toBeLessThanOrEqual(1e-7);
    let s = 0;
    for (let cl = 0; cl < nc; cl++) {
      const want = w0 * hot[i * nc + cl] + w1 * hot[out.sources[2 * i + 1] * nc + cl];
      expect(Math.abs(y[i * nc + cl] - want)).toBeLessThan(1e-6);
      s += y[i * nc + cl];
    }
    expect(Math.abs(s - 1)).toBeLessThan(1e-6);
  }
  expect(partners.size).toBe(B); // a permutation
}

describe('tabularMixup', () => {
  it('blends continuous cells and labels by λ, takes categoricals from the larger-weight row, and labels and weights sum to 1', () => {
    fc.assert(fc.property(batchArb, fc.double({ min: 0.05, max: 4, noNaN: true }), fc.constantFrom('batch' as const, 'elem' as const), fc.constantFrom(0, 0.5, 1),
      (c, alpha, mode, prob) => {
        const { batch, contV, catV, hot } = makeBatch(c);
        const before = tf.memory().numTensors;
        const out = tabularMixup(batch, { alpha, mode, prob, seed: c.seed, numClasses: c.nc });
        expect(tf.memory().numTensors).toBe(before + 1 + (c.dC ? 1 : 0) + (c.dK ? 1 : 0));
        expect(out.k).toBe(2);
        checkLabels(out, hot, c.B, c.nc);
        const co = out.cont?.dataSync(), ko = out.cat?.dataSync();
        for (let i = 0; i < c.B; i++) {
          const l = out.weights[2 * i], j = out.sources[2 * i + 1];
          for (let t = 0; t < c.dC; t++) expect(Math.abs(co![i * c.dC + t] - (l * contV[i * c.dC + t] + (1 - l) * contV[j * c.dC + t]))).toBeLessThan(1e-5);
          const from = l >= 0.5 ? i : j;
          for (let t = 0; t < c.dK; t++) expect(ko![i * c.dK + t]).toBe(catV[from * c.dK + t]);
        }
        disposeAll(batch, out);
      }), { numRuns: 150 });
  });

  it('is the identity with training: false (one-hot labels, k = 1)', () => {
    const { batch, contV, hot } = makeBatch({ B: 4, dC: 2, dK: 1, nc: 3, soft: false, seed: 1 });
    const out = tabularMixup(batch, { training: false, numClasses: 3 });
    expect(out.k).toBe(1);
    expect(Array.from(out.cont!.dataSync())).toEqual(Array.from(contV));
    expect(Array.from(out.y.dataSync())).toEqual(Array.from(hot));
    disposeAll(batch, out);
  });

  it('rejects bad input with clear messages', () => {
    const { batch } = makeBatch({ B: 4, dC: 2, dK: 1, nc: 3, soft: false, seed: 1 });
    expect(() => tabularMixup(batch, { alpha: 0, numClasses: 3 })).toThrow('tabularMixup: alpha must be a finite number > 0, got 0');
    expect(() => tabularMixup(batch, { mode: 'pair' as any, numClasses: 3 })).toThrow('tabularMixup: mode must be one of "batch" | "elem", got "pair"');
    expect(() => tabularMixup(batch, {})).toThrow(/tabularMixup: numClasses is required when y holds integer labels/);
    expect(() => tabularMixup({ y: batch.y } as any, { numClasses: 3 })).toThrow(/tabularMixup: batch must have cont or cat/);
    const short = tf.tensor1d([0, 1], 'int32');
    expect(() => tabularMixup({ cont: batch.cont, y: short }, { numClasses: 3 })).toThrow('tabularMixup: y must have the batch size of the rows: 2 != 4, got "shape [2]"');
    disposeAll(batch, short);
  });
});

describe('tabularCutmix', () => {
  it('takes each cell from the row or its partner, and weighs labels by the fraction of cells taken', () => {
    fc.assert(fc.property(batchArb, fc.double({ min: 0, max: 1, noNaN: true }), (c, p) => {
      const { batch, contV, catV, hot } = makeBatch(c);
      const before = tf.memory().numTensors;
      const out = tabularCutmix(batch, { p, seed: c.seed, numClasses: c.nc });
      expect(tf.memory().numTensors).toBe(before + 1 + (c.dC ? 1 : 0) + (c.dK ? 1 : 0));
      checkLabels(out, hot, c.B, c.nc);
      const D = c.dC + c.dK;
      const co = out.cont?.dataSync(), ko = out.cat?.dataSync();
      for (let i = 0; i < c.B; i++) {
        const j = out.sources[2 * i + 1];
        let differing = 0;
        for (let t = 0; t < c.dC; t++) {
          const v = co![i * c.dC + t];
          expect(v === contV[i * c.dC + t] || v === contV[j * c.dC + t]).toBe(true);
          if (v !== contV[i * c.dC + t]) differing++;
        }
        for (let t = 0; t < c.dK; t++) {
          const v = ko![i * c.dK + t];
          expect(v === catV[i * c.dK + t] || v === catV[j * c.dK + t]).toBe(true);
          if (v !== catV[i * c.dK + t]) differing++;
        }
        // Categorical codes are distinct across rows, so with a partner other than itself every taken
        // categorical cell shows; a continuous cell could only hide if two uniform draws were equal.
        if (j !== i) expect(Math.round(out.weights[2 * i + 1] * D)).toBe(differing);
      }
      disposeAll(batch, out);
    }), { numRuns: 150 });
  });

  it('rejects p outside [0, 1]', () => {
    const { batch } = makeBatch({ B: 3, dC: 1, dK: 1, nc: 2, soft: true, seed: 0 });
    expect(() => tabularCutmix(batch, { p: 2 })).toThrow('tabularCutmix: p must be in [0, 1], got 2');
    disposeAll(batch);
  });
});

describe('tabularSwapNoise and tabularGaussianNoise', () => {
  it('perturb the rows but not the labels (k = 1), and free what they do not return', () => {
    const { batch, hot } = makeBatch({ B: 30, dC: 3, dK: 2, nc: 4, soft: false, seed: 5 });
    const before = tf.memory().numTensors;
    const a = tabularSwapNoise(batch, { p: 0.5, seed: 1, numClasses: 4 });
    const b = tabularGaussianNoise(batch, { std: 0.3, seed: 1, numClasses: 4 });
    expect(tf.memory().numTensors).toBe(before + 3 + 3);
    for (const out of [a, b]) {
      expect(out.k).toBe(1);
      expect(Array.from(out.y.dataSync())).toEqual(Array.from(hot));
    }
    expect(Array.from(b.cat!.dataSync())).toEqual(Array.from(batch.cat!.dataSync()));
    expect(Array.from(a.cat!.dataSync())).not.toEqual(Array.from(batch.cat!.dataSync()));
    expect(() => tabularGaussianNoise({ cat: batch.cat, y: batch.y }, { numClasses: 4 })).toThrow(/tabularGaussianNoise: batch must have cont/);
    expect(() => tabularSwapNoise(batch, { p: 1.5, numClasses: 4 })).toThrow('tabularSwapNoise: p must be in [0, 1], got 1.5');
    disposeAll(batch, a, b);
  });
});
