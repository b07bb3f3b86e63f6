import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { mixChoice } from '../lib/plan';
import { planGrid, ricap } from '../lib/ricap';
import { patchmix } from '../lib/patchmix';
import { addressImages, gridCells, naivePaint, Shape } from './helpers';

beforeAll(async () => { await tf.setBackend('cpu'); });


/** A random batch shape with a grid that fits it. */
const caseArb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }))
  .chain(([B, H, W, C]) => fc.record({
    shape: fc.constant([B, H, W, C] as Shape),
    grid: fc.tuple(fc.integer({ min: 1, max: Math.min(H, 5) }), fc.integer({ min: 1, max: Math.min(W, 5) })),
    beta: fc.double({ min: 0.05, max: 4, noNaN: true }),
    mode: fc.constantFrom<'batch' | 'elem'>('batch', 'elem'),
    prob: fc.constantFrom(0, 0.5, 1),
    seed: fc.integer({ min: 0, max: 1e9 }),
  }));

describe('patchmix', () => {
  it('paints every output pixel from the source and position of its grid cell', () => {
    fc.assert(fc.property(caseArb, fc.constantFrom<'float32' | 'int32'>('float32', 'int32'), (c, dtype) => {
      const [B] = c.shape;
      const x = addressImages(c.shape, dtype), y = tf.tensor1d(new Array(B).fill(0), 'int32');
      const m = patchmix({ x, y }, { grid: c.grid, beta: c.beta, mode: c.mode, prob: c.prob, seed: c.seed, numClasses: 1 });
      const plan = planGrid(new Rng(c.seed), c.shape, { rows: c.grid[0], cols: c.grid[1], beta: c.beta, mode: c.mode, prob: c.prob });
      expect(m.k).toBe(c.grid[0] * c.grid[1]);
      expect(Array.from(m.sources)).toEqual(Array.from(plan.sources));
      expect(Array.from(m.weights)).toEqual(Array.from(plan.weights));
      expect(Array.from(m.x.dataSync())).toEqual(Array.from(naivePaint(x.dataSync(), plan)));
      tf.dispose([x, y, m.x, m.y]);
    }), { numRuns: 80 });
  });

  it('lays the cells out as a grid: shared row heights and column widths, row-major slots', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const [B, H, W] = c.shape, [rows, cols] = c.grid;
      const plan = planGrid(new Rng(c.seed), c.shape, { rows, cols, beta: c.beta, mode: c.mode, prob: 1 });
      const k = rows * cols;
      for (let i = 0; i < B; i++) {
        const px = Array.from({ length: k }, (_, j) => Math.round(plan.weights[i * k + j] * H * W));
        // grid: px[r][c] = h_r * w_c, so px[r][c] * px[r'][c'] === px[r][c'] * px[r'][c]
        for (let r = 0; r < rows; r++) for (let r2 = 0; r2 < rows; r2++) for (let q = 0; q < cols; q++) for (let q2 = 0; q2 < cols; q2++) {
          expect(px[r * cols + q] * px[r2 * cols + q2]).toBe(px[r * cols + q2] * px[r2 * cols + q]);
        }
        expect(px.reduce((a, b) => a + b, 0)).toBe(H * W);
        // the painted cells of a mixed row: distinct row bands tile [0, H), column bands tile [0, W),
        // and every (band, band) pair is one cell
        const regs = gridCells(plan).filter((r) => r.dst === i);
        if (regs.length === 0) continue;
        const bands = (pairs: [number, number][]) => [...new Set(pairs.map((p) => p.join()))].map((s) => s.split(',').map(Number)).sort((a, b) => a[0] - b[0]);
        const ys = bands(regs.map((r) => [r.y, r.h])), xs = bands(regs.map((r) => [r.x, r.w]));
        const tiles = (b: number[][], n: number) => b.every(([start, len], t) => start === (t === 0 ? 0 : b[t - 1][0] + b[t - 1][1]) && len > 0) && b[b.length - 1][0] + b[b.length - 1][1] === n;
        expect(tiles(ys, H)).toBe(true);
        expect(tiles(xs, W)).toBe(true);
        expect(regs.length).toBe(ys.length * xs.length);
        expect(ys.length).toBeLessThanOrEqual(rows);
        expect(xs.length).toBeLessThanOrEqual(cols);
      }
    }), { numRuns: 80 });
  });

  it('reports weights equal to the share of pixels each source holds, and y as the weighted one-hots', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const [B, H, W] = c.shape;
      const x = addressImages([B, H, W, 1]), y = tf.tensor1d(Array.from({ length: B }, (_, i) => i), 'int32');
      const m = patchmix({ x, y }, { grid: c.grid, beta: c.beta, mode: c.mode, prob: c.prob, seed: c.seed, numClasses: B });
      const out = m.x.dataSync(), ys = m.y.dataSync(), k = m.k;
      for (let i = 0; i < B; i++) {
        const counts = new Float64Array(B), want = new Float64Array(B);
        for (let p = 0; p < H * W; p++) counts[Math.floor(out[i * H * W + p] / (H * W))]++;
        let sum = 0;
        for (let j = 0; j < k; j++) { want[m.sources[i * k + j]] += m.weights[i * k + j]; sum += m.weights[i * k + j]; }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
        for (let s = 0; s < B; s++) {
          expect(Math.abs(counts[s] / (H * W) - want[s])).toBeLessThan(1e-6);
          expect(Math.abs(ys[i * B + s] - want[s])).toBeLessThan(1e-6);
        }
      }
      tf.dispose([x, y, m.x, m.y]);
    }), { numRuns: 80 });
  });

  it('is RICAP, bit for bit, with grid [2, 2] and the same seed', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const [B, H, W] = c.shape;
      fc.pre(H >= 2 && W >= 2);
      const x = tf.randomUniform(c.shape) as tf.Tensor4D, y = tf.tensor1d(new Array(B).fill(0), 'int32');
      const o = { beta: c.beta, mode: c.mode, prob: c.prob, seed: c.seed, numClasses: 1 };
      const p = patchmix({ x, y }, { ...o, grid: [2, 2] }), r = ricap({ x, y }, o), d = patchmix({ x, y }, o);
      expect(Array.from(p.x.dataSync())).toEqual(Array.from(r.x.dataSync()));
      expect(Array.from(d.x.dataSync())).toEqual(Array.from(r.x.dataSync()));
      expect(Array.from(p.weights)).toEqual(Array.from(r.weights));
      expect(Array.from(p.sources)).toEqual(Array.from(r.sources));
      tf.dispose([x, y, p.x, p.y, r.x, r.y, d.x, d.y]);
    }), { numRuns: 30 });
  });

  it('gives bit-identical images with both painters on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm']) {
      expect(await tf.setBackend(backend)).toBe(true);
      fc.assert(fc.property(caseArb, fc.constantFrom<'float32' | 'int32'>('float32', 'int32'), (c, dtype) => {
        const x = dtype === 'int32' ? tf.randomUniformInt(c.shape, 0, 256) as tf.Tensor4D : tf.randomUniform(c.shape, -3, 3) as tf.Tensor4D;
        const y = tf.tensor1d(new Array(c.shape[0]).fill(0), 'int32');
        const o = { grid: c.grid, beta: c.beta, mode: c.mode, prob: c.prob, seed: c.seed, numClasses: 1 };
        const a = patchmix({ x, y }, { ...o, painter: 'array' }), t = patchmix({ x, y }, { ...o, painter: 'tensor' });
        expect(Array.from(t.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
        tf.dispose([x, y, a.x, a.y, t.x, t.y]);
      }), { numRuns: 30 });
    }
    await tf.setBackend('cpu');
  });

  it('gives the same output for the same seed', () => {
    const x = tf.randomUniform([4, 10, 12, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const a = patchmix({ x, y }, { grid: [1, 3], numClasses: 4, seed: 9, mode: 'elem' });
    const b = patchmix({ x, y }, { grid: [1, 3], numClasses: 4, seed: 9, mode: 'elem' });
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(Array.from(a.y.dataSync())).toEqual(Array.from(b.y.dataSync()));
    tf.dispose([x, y, a.x, a.y, b.x, b.y]);
  });

  it('returns the input unchanged with training: false', () => {
    const x = tf.randomUniform([3, 6, 6, 1]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 0], 'int32');
    const m = patchmix({ x, y }, { grid: [3, 3], numClasses: 2, training: false });
    expect(Array.from(m.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(m.y.arraySync()).toEqual([[1, 0], [0, 1], [1, 0]]);
    tf.dispose([x, y, m.x, m.y]);
  });

  it('works with mixChoice', () => {
    const x = tf.randomUniform([4, 8, 8, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const mix = mixChoice([{ method: patchmix, p: 0.5, opts: { grid: [1, 3] } }, { method: ricap, p: 0.5, opts: { beta: 1 } }], { seed: 0, numClasses: 4 });
    const ks = new Set<number>();
    for (let n = 0; n < 20; n++) { const m = mix({ x, y }); ks.add(m.k); tf.dispose([m.x, m.y]); }
    expect([...ks].sort()).toEqual([3, 4]);
    tf.dispose([x, y]);
  });

  it('rejects bad grids and options with clear messages', () => {
    const x = tf.zeros([2, 4, 6, 1]) as tf.Tensor4D, y = tf.tensor1d([0, 1], 'int32');
    const b = { x, y };
    const o = { numClasses: 2 };
    expect(() => patchmix(b, { ...o, grid: [0, 2] })).toThrow('patchmix: grid must be [rows, cols], two integers >= 1, got [0,2]');
    expect(() => patchmix(b, { ...o, grid: [1.5, 2] })).toThrow('patchmix: grid must be [rows, cols], two integers >= 1, got [1.5,2]');
    expect(() => patchmix(b, { ...o, grid: [2] as any })).toThrow('patchmix: grid must be [rows, cols], two integers >= 1, got [2]');
    expect(() => patchmix(b, { ...o, grid: 3 as any })).toThrow('patchmix: grid must be [rows, cols], two integers >= 1, got 3');
    expect(() => patchmix(b, { ...o, grid: [5, 2] })).toThrow('patchmix: grid must fit the 4x6 image (rows <= 4, cols <= 6), got [5,2]');
    expect(() => patchmix(b, { ...o, grid: [1, 7] })).toThrow('patchmix: grid must fit the 4x6 image (rows <= 4, cols <= 6), got [1,7]');
    expect(() => patchmix(b, { ...o, beta: 0 })).toThrow('patchmix: beta must be a finite number > 0, got 0');
    expect(() => patchmix(b, { ...o, mode: 'pair' as any })).toThrow('patchmix: mode must be one of "batch" | "elem", got "pair"');
    expect(() => patchmix(b, { ...o, alpha: 2 } as any)).toThrow(/patchmix: option "alpha" is not used/);
    expect(() => patchmix(b, { ...o, prob: -0.1 })).toThrow('patchmix: prob must be in [0, 1], got -0.1');
    expect(() => patchmix(b, { ...o, grids: [2, 2] } as any)).toThrow(/patchmix: option "grids" is unknown/);
    tf.dispose([x, y]);
  });

  it('leaks no tensor over 1,000 calls', () => {
    const x = tf.randomUniform([3, 8, 8, 3]) as tf.Tensor4D, y = tf.tensor1d([0, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    for (let n = 0; n < 1000; n++) {
      const m = patchmix({ x, y }, { grid: [1 + (n % 3), 1 + (n % 4)], numClasses: 3, seed: n, mode: n % 2 ? 'elem' : 'batch', painter: n % 5 === 0 ? 'tensor' : 'auto' });
      m.x.dispose(); m.y.dispose();
    }
    try { patchmix({ x, y }, { grid: [9, 1], numClasses: 3 }); } catch { /* expected */ }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});
