import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { BatchmixError, Rng } from '../lib/core';
import { MixPlan, paintArray, paintTensor, useWasmKernels } from '../lib/plan';
import { lastGridPlanner, planGrid, ricap, splitLengths } from '../lib/ricap';
import { addressImages, gridCells, naivePaint, Shape } from './helpers';

beforeAll(async () => { await tf.setBackend('cpu'); });

const shapeArb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }));
const optsArb = fc.record({
  beta: fc.double({ min: 0.05, max: 4, noNaN: true }),
  mode: fc.constantFrom<'batch' | 'elem'>('batch', 'elem'),
  prob: fc.constantFrom(0, 0.5, 1),
  seed: fc.integer({ min: 0, max: 1e9 }),
});

describe('splitLengths', () => {
  it('returns non-negative integer lengths that sum to n', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 9 }), fc.double({ min: 0.01, max: 5, noNaN: true }), fc.integer(),
      (n, parts, beta, seed) => {
        const l = splitLengths(new Rng(seed), n, parts, beta);
        expect(l.length).toBe(parts);
        expect(Array.from(l).every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
        expect(l.reduce((a, b) => a + b, 0)).toBe(n);
      }));
  });
  it('draws the paper boundary round(W * Beta(beta, beta)) for two parts: the same distribution as the Gamma-ratio draw', () => {
    // two-sample chi-square between splitLengths and round(n·rng.beta(β, β)), 40,000 draws each
    for (const [n, beta] of [[28, 0.3], [7, 1], [64, 2]] as const) {
      const a = new Float64Array(n + 1), b = new Float64Array(n + 1), ra = new Rng(1), rb = new Rng(2), draws = 40000;
      for (let t = 0; t < draws; t++) {
        const l = splitLengths(ra, n, 2, beta);
        expect(l[0] + l[1]).toBe(n);
        expect(l[0] >= 0 && l[1] >= 0).toBe(true);
        a[l[0]]++;
        b[Math.round(n * rb.beta(beta, beta))]++;
      }
      let chi2 = 0, df = -1;
      for (let c = 0; c <= n; c++) if (a[c] + b[c] > 0) { chi2 += (a[c] - b[c]) ** 2 / (a[c] + b[c]); df++; }
      expect(chi2).toBeLessThan(df + 6 * Math.sqrt(2 * df));
    }
  });

  it('needs no draw for one part or an empty side', () => {
    const r = new Rng(3), before = new Rng(3).next();
    expect(Array.from(splitLengths(r, 17, 1, 0.3))).toEqual([17]);
    expect(Array.from(splitLengths(r, 0, 3, 0.3))).toEqual([0, 0, 0]);
    expect(r.next()).toBe(before);
  });
  it('has mean fraction 1/parts (Dirichlet symmetry)', () => {
    const rng = new Rng(1);
    const sums = new Float64Array(3);
    for (let t = 0; t < 4000; t++) splitLengths(rng, 1000, 3, 0.5).forEach((v, j) => { sums[j] += v / 1000; });
    for (const s of sums) expect(Math.abs(s / 4000 - 1 / 3)).toBeLessThan(0.03);
  });
});

describe('planGrid', () => {
  it('tiles every mixed row exactly once with crops that lie inside their sources', () => {
    fc.assert(fc.property(shapeArb, optsArb, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), ([B, H, W, C], o, rows, cols) => {
      const plan = planGrid(new Rng(o.seed), [B, H, W, C], { rows, cols, beta: o.beta, mode: o.mode, prob: o.prob });
      const k = rows * cols;
      expect(plan.k).toBe(k);
      const cover = new Int32Array(B * H * W);
      for (const r of gridCells(plan)) {
        expect(r.kind).toBe('copy');
        expect(r.h > 0 && r.w > 0).toBe(true);
        expect(r.srcY >= 0 && r.srcX >= 0 && r.srcY + r.h <= H && r.srcX + r.w <= W).toBe(true);
        for (let yy = r.y; yy < r.y + r.h; yy++) for (let xx = r.x; xx < r.x + r.w; xx++) cover[(r.dst * H + yy) * W + xx]++;
      }
      for (let i = 0; i < B; i++) {
        const mixed = gridCells(plan).some((r) => r.dst === i);
        expect(plan.regions.length).toBe(0);
        const counts = Array.from(cover.subarray(i * H * W, (i + 1) * H * W));
        if (mixed) expect(counts.every((c) => c === 1)).toBe(true);
        else {
          expect(counts.every((c) => c === 0)).toBe(true);
          expect(Array.from(plan.sources.subarray(i * k, i * k + k))).toEqual(new Array(k).fill(i));
          expect(plan.weights[i * k]).toBe(1);
        }
      }
    }));
  });

  it('gives each slot the exact pixel-area fraction of its cell, summing to 1', () => {
    fc.assert(fc.property(shapeArb, optsArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), ([B, H, W, C], o, rows, cols) => {
      const plan = planGrid(new Rng(o.seed), [B, H, W, C], { rows, cols, beta: o.beta, mode: o.mode, prob: 1 });
      const k = rows * cols;
      for (let i = 0; i < B; i++) {
        const pixels = new Float64Array(k);
        const regs = gridCells(plan).filter((r) => r.dst === i);
        let total = 0;
        for (let j = 0; j < k; j++) {
          total += plan.weights[i * k + j];
          const px = Math.round(plan.weights[i * k + j] * H * W);
          expect(plan.weights[i * k + j]).toBe(Math.fround(px / (H * W)));
          pixels[j] = px;
        }
        expect(pixels.reduce((a, b) => a + b, 0)).toBe(H * W);
        expect(Math.abs(total - 1)).toBeLessThan(1e-6);
        const regionPixels = regs.reduce((a, r) => a + r.h * r.w, 0);
        expect(regionPixels).toBe(H * W);
        // every painted cell has a slot with its source and its pixel count
        for (const r of regs) {
          const slots = [];
          for (let j = 0; j < k; j++) if (plan.sources[i * k + j] === r.src && pixels[j] === r.h * r.w) slots.push(j);
          expect(slots.length).toBeGreaterThan(0);
        }
      }
    }));
  });

  it('shares one layout across the batch in batch mode', () => {
    const plan = planGrid(new Rng(4), [7, 20, 30, 1], { rows: 2, cols: 3, beta: 1, mode: 'batch', prob: 1 });
    for (let i = 1; i < 7; i++) expect(Array.from(plan.weights.subarray(i * 6, i * 6 + 6))).toEqual(Array.from(plan.weights.subarray(0, 6)));
    const geometry = (i: number) => gridCells(plan).filter((r) => r.dst === i).map((r) => [r.y, r.x, r.h, r.w].join());
    for (let i = 1; i < 7; i++) expect(geometry(i)).toEqual(geometry(0));
  });

  it('draws the sources of each cell as a permutation of the batch', () => {
    const B = 9, plan = planGrid(new Rng(5), [B, 8, 8, 1], { rows: 2, cols: 2, beta: 0.3, mode: 'elem', prob: 1 });
    for (let j = 0; j < 4; j++) {
      const col = Array.from({ length: B }, (_, i) => plan.sources[i * 4 + j]).sort((a, b) => a - b);
      expect(col).toEqual(Array.from({ length: B }, (_, i) => i));
    }
  });
});

// Every array of a grid plan, for comparing two plans value for value.
function planArrays(p: MixPlan) {
  const t = p.tiles!;
  return { k: p.k, sources: Array.from(p.sources), weights: Array.from(p.weights), rows: t.rows, cols: t.cols, tiled: Array.from(t.tiled),
    heights: Array.from(t.heights), widths: Array.from(t.widths), src: Array.from(t.src), srcY: Array.from(t.srcY), srcX: Array.from(t.srcX) };
}

// planGrid with the WebAssembly draws and with the JavaScript ones, from generators in the same state:
// the plans, where each ran, and the generators' next draws.
function bothPlanners(state: Uint32Array, shape: Shape, opts: Parameters<typeof planGrid>[2]) {
  const a = new Rng(0), b = new Rng(0);
  a.loadState(state);
  b.loadState(state);
  const before = useWasmKernels(true);
  try {
    const wasm = planGrid(a, shape, opts), wasmPath = lastGridPlanner();
    useWasmKernels(false);
    const js = planGrid(b, shape, opts), jsPath = lastGridPlanner();
    return { wasm: planArrays(wasm), js: planArrays(js), wasmPath, jsPath, nextA: a.nextUint32(), nextB: b.nextUint32() };
  } finally {
    useWasmKernels(before);
  }
}

describe('planGrid in WebAssembly', () => {
  it('draws the same plan as the JavaScript loop and leaves the generator in the same state', () => {
    fc.assert(fc.property(shapeArb, optsArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.double({ min: 0, max: 1, noNaN: true }),
      ([B, H, W, C], o, rows, cols, prob) => {
        rows = Math.min(rows, H); cols = Math.min(cols, W);
        const seeded = new Rng(o.seed), state = new Uint32Array(4);
        seeded.saveState(state);
        const r = bothPlanners(state, [B, H, W, C], { rows, cols, beta: o.beta, mode: o.mode, prob });
        expect(r.jsPath).toBe('js');
        // per-sample layouts with three or more parts on an axis need Gamma draws: JavaScript only
        expect(r.wasmPath).toBe(o.mode === 'elem' && (rows > 2 || cols > 2) ? 'js' : 'wasm');
        expect(r.wasm).toEqual(r.js);
        expect(r.nextA).toBe(r.nextB);
      }), { numRuns: 400 });
  });

  it('takes the rejection step of below() as the JavaScript generator does', () => {
    // With s1 = 0 the next output is 0, and below(3) must reject it (0·3 mod 2^32 = 0 < 2^32 mod 3 = 1)
    // and draw again: the first draw of a 3-row batch's first permutation.
    const state = Uint32Array.of(0x9e3779b9, 0, 0x7f4a7c15, 0x85ebca6b);
    const r = new Rng(0), twice = new Rng(0);
    r.loadState(state);
    twice.loadState(state);
    expect(r.nextUint32()).toBe(0);
    r.loadState(state);
    r.below(3);
    twice.nextUint32();
    twice.nextUint32();
    expect(r.nextUint32()).toBe(twice.nextUint32()); // below(3) took two draws
    for (const mode of ['batch', 'elem'] as const) {
      const both = bothPlanners(state, [3, 6, 5, 1], { rows: 2, cols: 2, beta: 0.7, mode, prob: 1 });
      expect(both.wasmPath).toBe('wasm');
      expect(both.wasm).toEqual(both.js);
      expect(both.nextA).toBe(both.nextB);
    }
  });

  it('follows useWasmKernels and reports where it drew', () => {
    const shape: Shape = [4, 8, 8, 1];
    planGrid(new Rng(1), shape, { rows: 2, cols: 2, beta: 0.3, mode: 'elem', prob: 1 });
    expect(lastGridPlanner()).toBe('wasm');
    planGrid(new Rng(1), shape, { rows: 1, cols: 3, beta: 0.3, mode: 'elem', prob: 1 });
    expect(lastGridPlanner()).toBe('js');
    planGrid(new Rng(1), shape, { rows: 3, cols: 3, beta: 0.3, mode: 'batch', prob: 1 });
    expect(lastGridPlanner()).toBe('wasm');
    const before = useWasmKernels(false);
    try {
      planGrid(new Rng(1), shape, { rows: 2, cols: 2, beta: 0.3, mode: 'batch', prob: 1 });
      expect(lastGridPlanner()).toBe('js');
    } finally {
      useWasmKernels(before);
    }
  });
});

describe('ricap', () => {
  it('paints every output pixel from the source and position the plan says', () => {
    fc.assert(fc.property(shapeArb, optsArb, fc.constantFrom<'float32' | 'int32'>('float32', 'int32'), ([B, H, W, C], o, dtype) => {
      const x = addressImages([B, H, W, C], dtype);
      const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 3), 'int32');
      const m = ricap({ x, y }, { ...o, numClasses: 3 });
      const plan = planGrid(new Rng(o.seed), [B, H, W, C], { rows: 2, cols: 2, beta: o.beta, mode: o.mode, prob: o.prob });
      expect(m.k).toBe(4);
      expect(Array.from(m.sources)).toEqual(Array.from(plan.sources));
      expect(Array.from(m.weights)).toEqual(Array.from(plan.weights));
      expect(m.x.dtype).toBe(dtype);
      expect(Array.from(m.x.dataSync())).toEqual(Array.from(naivePaint(x.dataSync(), plan)));
      tf.dispose([x, y, m.x, m.y]);
    }), { numRuns: 60 });
  });

  it('reports weights equal to the share of pixels each source holds in the output', () => {
    fc.assert(fc.property(shapeArb, optsArb, ([B, H, W], o) => {
      const x = addressImages([B, H, W, 1]);
      const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i), 'int32');
      const m = ricap({ x, y }, { ...o, numClasses: B });
      const out = m.x.dataSync();
      for (let i = 0; i < B; i++) {
        const counts = new Float64Array(B), want = new Float64Array(B);
        for (let p = 0; p < H * W; p++) counts[Math.floor(out[i * H * W + p] / (H * W))]++;
        for (let j = 0; j < 4; j++) want[m.sources[i * 4 + j]] += m.weights[i * 4 + j];
        for (let s = 0; s < B; s++) expect(Math.abs(counts[s] / (H * W) - want[s])).toBeLessThan(1e-6);
      }
      tf.dispose([x, y, m.x, m.y]);
    }), { numRuns: 60 });
  });

  it('returns y equal to the weighted sum of one-hot labels (after label smoothing)', () => {
    fc.assert(fc.property(shapeArb, optsArb, fc.constantFrom(0, 0.1), fc.integer({ min: 2, max: 6 }), ([B, H, W, C], o, eps, numClasses) => {
      const labels = Array.from({ length: B }, (_, i) => (i * 7) % numClasses);
      const x = tf.zeros([B, H, W, C]) as tf.Tensor4D, y = tf.tensor1d(labels, 'int32');
      const m = ricap({ x, y }, { ...o, numClasses, labelSmoothing: eps });
      const got = m.y.dataSync();
      expect(m.y.shape).toEqual([B, numClasses]);
      for (let i = 0; i < B; i++) {
        let rowSum = 0;
        for (let c = 0; c < numClasses; c++) {
          let e = 0;
          for (let j = 0; j < 4; j++) e += m.weights[i * 4 + j] * ((labels[m.sources[i * 4 + j]] === c ? 1 - eps : 0) + eps / numClasses);
          expect(Math.abs(got[i * numClasses + c] - e)).toBeLessThan(1e-6);
          rowSum += got[i * numClasses + c];
        }
        expect(Math.abs(rowSum - 1)).toBeLessThan(1e-5);
      }
      tf.dispose([x, y, m.x, m.y]);
    }), { numRuns: 40 });
  });

  it('accepts soft labels [B, C]', () => {
    const x = tf.zeros([3, 4, 4, 1]) as tf.Tensor4D, y = tf.tensor2d([[1, 0], [0.5, 0.5], [0, 1]]);
    const m = ricap({ x, y }, { seed: 1 });
    const soft = [[1, 0], [0.5, 0.5], [0, 1]];
    const got = m.y.arraySync();
    for (let i = 0; i < 3; i++) for (let c = 0; c < 2; c++) {
      let e = 0;
      for (let j = 0; j < 4; j++) e += m.weights[i * 4 + j] * soft[m.sources[i * 4 + j]][c];
      expect(got[i][c]).toBeCloseTo(e, 6);
    }
    tf.dispose([x, y, m.x, m.y]);
  });

  it('gives the same output for the same seed, and threads an Rng', () => {
    const x = tf.randomUniform([5, 9, 11, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2, 3, 4], 'int32');
    const a = ricap({ x, y }, { numClasses: 5, seed: 42, mode: 'elem' });
    const b = ricap({ x, y }, { numClasses: 5, seed: 42, mode: 'elem' });
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(Array.from(a.y.dataSync())).toEqual(Array.from(b.y.dataSync()));
    const rng = new Rng(3);
    const c = ricap({ x, y }, { numClasses: 5, seed: rng }), d = ricap({ x, y }, { numClasses: 5, seed: rng });
    expect(Array.from(c.weights).join()).not.toEqual(Array.from(d.weights).join());
    tf.dispose([x, y, a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y]);
  });

  it('gives bit-identical images with the typed-array and the tensor-op painter, on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm']) {
      expect(await tf.setBackend(backend)).toBe(true);
      fc.assert(fc.property(shapeArb, optsArb, fc.constantFrom<'float32' | 'int32'>('float32', 'int32'), ([B, H, W, C], o, dtype) => {
        const x = dtype === 'int32' ? tf.randomUniformInt([B, H, W, C], 0, 256) as tf.Tensor4D : tf.randomUniform([B, H, W, C], -3, 3) as tf.Tensor4D;
        const y = tf.tensor1d(new Array(B).fill(0), 'int32');
        const a = ricap({ x, y }, { ...o, numClasses: 2, painter: 'array' });
        const t = ricap({ x, y }, { ...o, numClasses: 2, painter: 'tensor' });
        expect(Array.from(t.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
        const plan = planGrid(new Rng(o.seed), [B, H, W, C], { rows: 2, cols: 3, beta: o.beta, mode: o.mode, prob: o.prob });
        const pa = paintArray(x, plan), pt = paintTensor(x, plan);
        expect(Array.from(pt.dataSync())).toEqual(Array.from(pa.dataSync()));
        tf.dispose([x, y, a.x, a.y, t.x, t.y, pa, pt]);
      }), { numRuns: 30 });
    }
    await tf.setBackend('cpu');
  });

  it('returns the input unchanged with training: false, and with prob: 0', () => {
    const x = tf.randomUniform([4, 6, 6, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2, 0], 'int32');
    const off = ricap({ x, y }, { numClasses: 3, training: false, seed: 1 });
    expect(off.x).not.toBe(x);
    expect(Array.from(off.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(off.k).toBe(1);
    expect(Array.from(off.sources)).toEqual([0, 1, 2, 3]);
    expect(off.y.arraySync()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    const p0 = ricap({ x, y }, { numClasses: 3, prob: 0, seed: 1 });
    expect(Array.from(p0.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(p0.weights)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    tf.dispose([x, y, off.x, off.y, p0.x, p0.y]);
  });

  it('mixes a fraction prob of the rows in elem mode', () => {
    const B = 400, x = tf.zeros([B, 4, 4, 1]) as tf.Tensor4D, y = tf.tensor1d(new Array(B).fill(0), 'int32');
    const m = ricap({ x, y }, { numClasses: 1, prob: 0.3, mode: 'elem', seed: 7 });
    let mixed = 0;
    for (let i = 0; i < B; i++) if (!(m.weights[i * 4] === 1 && m.sources[i * 4 + 1] === i && m.sources[i * 4 + 2] === i)) mixed++;
    expect(Math.abs(mixed / B - 0.3)).toBeLessThan(0.08);
    tf.dispose([x, y, m.x, m.y]);
  });

  it('works on a batch of one and on odd batches', () => {
    for (const B of [1, 3]) {
      const x = addressImages([B, 5, 7, 2]), y = tf.tensor1d(new Array(B).fill(0), 'int32');
      const m = ricap({ x, y }, { numClasses: 1, seed: 2 });
      expect(m.x.shape).toEqual([B, 5, 7, 2]);
      if (B === 1) expect(Array.from(m.sources)).toEqual([0, 0, 0, 0]);
      tf.dispose([x, y, m.x, m.y]);
    }
  });

  it('rejects bad options with clear messages', () => {
    const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D, y = tf.tensor1d([0, 1], 'int32');
    const b = { x, y };
    expect(() => ricap(b, { numClasses: 2, beta: 0 })).toThrow('ricap: beta must be a finite number > 0, got 0');
    expect(() => ricap(b, { numClasses: 2, beta: -1 })).toThrow('ricap: beta must be a finite number > 0, got -1');
    expect(() => ricap(b, { numClasses: 2, beta: NaN })).toThrow('ricap: beta must be a finite number > 0, got NaN');
    expect(() => ricap(b, { numClasses: 2, mode: 'pair' as any })).toThrow('ricap: mode must be one of "batch" | "elem", got "pair"');
    expect(() => ricap(b, { numClasses: 2, alpha: 1 } as any)).toThrow(/ricap: option "alpha" is not used .* pass beta, got 1/);
    expect(() => ricap(b, { numClasses: 2, prob: 1.5 })).toThrow('ricap: prob must be in [0, 1], got 1.5');
    expect(() => ricap(b, { numClasses: 2, bogus: 1 } as any)).toThrow(/ricap: option "bogus" is unknown/);
    expect(() => ricap(b, {})).toThrow(/ricap: numClasses is required/);
    expect(() => ricap({ x: tf.zeros([2, 4, 4]) as any, y }, { numClasses: 2 })).toThrow(/ricap: x must have rank 4/);
    expect(() => ricap({ x, y: tf.tensor1d([0, 1, 1], 'int32') }, { numClasses: 2 })).toThrow(/ricap: y must have the batch size of x/);
    try { ricap(b, { numClasses: 2, beta: -2 }); } catch (e) {
      expect(e).toBeInstanceOf(BatchmixError);
      expect((e as BatchmixError).arg).toBe('beta');
    }
    tf.dispose([x, y]);
  });

  it('never disposes its inputs and leaks no tensor over 1,000 calls', () => {
    const x = tf.randomUniform([3, 8, 8, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    for (let n = 0; n < 1000; n++) {
      const m = ricap({ x, y }, { numClasses: 3, seed: n, mode: n % 2 ? 'elem' : 'batch', training: n % 10 !== 0, painter: n % 3 === 0 ? 'tensor' : 'auto' });
      m.x.dispose(); m.y.dispose();
    }
    try { ricap({ x, y }, { beta: -1, numClasses: 3 }); } catch { /* expected */ }
    try { ricap({ x, y }, {}); } catch { /* expected: numClasses missing */ }
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed || y.isDisposed).toBe(false);
    tf.dispose([x, y]);
  });
});
