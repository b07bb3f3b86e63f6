import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { mixup } from '../lib/mixup';
import { expectSameMixed } from './helpers';

beforeAll(async () => { await tf.setBackend('cpu'); });

type Case = { B: number; H: number; W: number; C: number; nc: number; dtype: 'float32' | 'int32'; soft: boolean; seed: number };
const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 9 }), H: fc.integer({ min: 1, max: 7 }), W: fc.integer({ min: 1, max: 7 }),
  C: fc.integer({ min: 1, max: 3 }), nc: fc.integer({ min: 1, max: 5 }), dtype: fc.constantFrom('float32' as const, 'int32' as const),
  soft: fc.boolean(), seed: fc.integer({ min: 0, max: 1e9 }),
});
const optsArb = fc.record({
  alpha: fc.double({ min: 0.05, max: 4, noNaN: true }), prob: fc.constantFrom(0, 0.5, 1),
  mode: fc.constantFrom('batch' as const, 'pair' as const, 'elem' as const), labelSmoothing: fc.constantFrom(0, 0.1),
});

function makeBatch(c: Case) {
  const rng = new Rng(c.seed);
  const n = c.B * c.H * c.W * c.C;
  const vals = c.dtype === 'int32' ? Int32Array.from({ length: n }, () => rng.int(256)) : Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  const labels = Int32Array.from({ length: c.B }, () => rng.int(c.nc));
  const x = tf.tensor4d(vals, [c.B, c.H, c.W, c.C], c.dtype);
  const hot = new Float32Array(c.B * c.nc);
  labels.forEach((l, i) => { hot[i * c.nc + l] = 1; });
  const y = c.soft ? tf.tensor2d(hot, [c.B, c.nc]) : tf.tensor1d(labels, 'int32');
  return { x, y, labels, vals };
}

const rne = (v: number) => { const f = Math.floor(v), d = v - f; return d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1); };

describe('mixup', () => {
  it('blends each row with its partner by weights that are ≥ 0, sum to 1, and match the labels', () => {
    fc.assert(fc.property(caseArb, optsArb, (c, opts) => {
      const { x, y, labels, vals } = makeBatch(c);
      const before = tf.memory().numTensors;
      const out = mixup({ x, y }, { ...opts, seed: c.seed, numClasses: c.nc });
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(out.k).toBe(2);
      expect(out.x.shape).toEqual(x.shape);
      expect(out.x.dtype).toBe(c.dtype);
      expect(out.y.shape).toEqual([c.B, c.nc]);
      const ov = out.x.dataSync(), yv = out.y.dataSync(), img = c.H * c.W * c.C;
      const eps = opts.labelSmoothing;
      for (let i = 0; i < c.B; i++) {
        const w0 = out.weights[2 * i], w1 = out.weights[2 * i + 1], j = out.sources[2 * i + 1];
        expect(out.sources[2 * i]).toBe(i);
        expect(j).toBe(c.B - 1 - i);
        expect(w0).toBeGreaterThanOrEqual(0);
        expect(w1).toBeGreaterThanOrEqual(0);
        expect(Math.abs(w0 + w1 - 1)).toBeLessThanOrEqual(1e-7);
        if (i === j) expect(w0).toBe(1);
        for (let t = 0; t < img; t++) {
          const a = vals[i * img + t], b = vals[j * img + t];
          let want = w0 === 1 && w1 === 0 ? a : Math.fround(Math.fround(a * w0) + Math.fround(b * w1));
          if (c.dtype === 'int32' && !(w0 === 1 && w1 === 0)) want = rne(want) || 0;
          if (!Object.is(ov[i * img + t], want)) throw new Error(`row ${i} elem ${t}: ${ov[i * img + t]} != ${want}`);
        }
        for (let cl = 0; cl < c.nc; cl++) {
          const hot = (l: number) => (l === cl ? 1 : 0) * (1 - eps) + eps / c.nc;
          expect(yv[i * c.nc + cl]).toBeCloseTo(w0 * hot(labels[i]) + w1 * hot(labels[j]), 5);
        }
      }
      if (opts.prob === 0) expect(Array.from(out.weights.filter((_, n) => n % 2 === 0))).toEqual(new Array(c.B).fill(1));
      if (opts.mode === 'batch') expect(new Set(Array.from(out.weights.filter((_, n) => n % 2 === 0 && n / 2 !== c.B - 1 - n / 2))).size).toBeLessThanOrEqual(1);
      tf.dispose([x, y, out.x, out.y]);
    }), { numRuns: 150 });
  });

  it('gives identical output for the same seed, and with either painter', () => {
    fc.assert(fc.property(caseArb, optsArb, (c, opts) => {
      const { x, y } = makeBatch(c);
      const a = mixup({ x, y }, { ...opts, seed: 7, numClasses: c.nc, painter: 'array' });
      const b = mixup({ x, y }, { ...opts, seed: 7, numClasses: c.nc, painter: 'tensor' });
      expectSameMixed(a, b);
      tf.dispose([x, y, a.x, a.y, b.x, b.y]);
    }), { numRuns: 60 });
  });

  it('threads one Rng through calls: consecutive batches get different λ', () => {
    const { x, y } = makeBatch({ B: 4, H: 2, W: 2, C: 1, nc: 2, dtype: 'float32', soft: false, seed: 1 });
    const rng = new Rng(3);
    const a = mixup({ x, y }, { seed: rng, numClasses: 2 }), b = mixup({ x, y }, { seed: rng, numClasses: 2 });
    expect(a.weights[0]).not.toBe(b.weights[0]);
    tf.dispose([x, y, a.x, a.y, b.x, b.y]);
  });

  it('draws λ from Beta(α, α): mean 1/2 and variance 1/(4(2α+1))', () => {
    const { x, y } = makeBatch({ B: 2, H: 1, W: 1, C: 1, nc: 2, dtype: 'float32', soft: false, seed: 1 });
    const rng = new Rng(5), lams: number[] = [];
    for (let n = 0; n < 3000; n++) { const r = mixup({ x, y }, { alpha: 0.4, seed: rng, numClasses: 2 }); lams.push(r.weights[0]); tf.dispose([r.x, r.y]); }
    const m = lams.reduce((a, b) => a + b) / lams.length, v = lams.reduce((a, b) => a + (b - m) ** 2, 0) / lams.length;
    expect(Math.abs(m - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(v - 1 / (4 * 1.8))).toBeLessThan(0.01);
    tf.dispose([x, y]);
  });

  it('returns the input values with training: false, labels one-hot', () => {
    const { x, y, labels } = makeBatch({ B: 5, H: 3, W: 4, C: 3, nc: 4, dtype: 'float32', soft: false, seed: 2 });
    const out = mixup({ x, y }, { training: false, numClasses: 4, labelSmoothing: 0.1 });
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(out.y.argMax(1).dataSync())).toEqual(Array.from(labels));
    expect(out.y.max().dataSync()[0]).toBe(1);
    expect([out.k, Array.from(out.sources), Array.from(out.weights)]).toEqual([1, [0, 1, 2, 3, 4], [1, 1, 1, 1, 1]]);
    tf.dispose([x, y, out.x, out.y]);
  });

  it('handles a batch of one (left unchanged, λ = 1)', () => {
    const { x, y } = makeBatch({ B: 1, H: 3, W: 3, C: 3, nc: 3, dtype: 'float32', soft: false, seed: 4 });
    const out = mixup({ x, y }, { numClasses: 3, seed: 0 });
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(out.weights)).toEqual([1, 0]);
    tf.dispose([x, y, out.x, out.y]);
  });

  it('leaks no tensors over 1,000 calls', () => {
    const { x, y } = makeBatch({ B: 4, H: 4, W: 4, C: 3, nc: 3, dtype: 'float32', soft: false, seed: 3 });
    const before = tf.memory().numTensors;
    for (let n = 0; n < 1000; n++) { const r = mixup({ x, y }, { numClasses: 3, seed: n, mode: n % 2 ? 'elem' : 'batch' }); tf.dispose([r.x, r.y]); }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  describe('rejects bad input with a clear message and no leak', () => {
    let x: tf.Tensor4D, y: tf.Tensor1D;
    beforeAll(() => { x = tf.zeros([4, 2, 2, 3]); y = tf.tensor1d([0, 1, 0, 1], 'int32'); });
    afterAll(() => tf.dispose([x, y]));
    const cases: [string, () => unknown, string][] = [
      ['alpha <= 0', () => mixup({ x, y }, { alpha: 0, numClasses: 2 }), 'mixup: alpha must be a finite number > 0, got 0'],
      ['alpha NaN', () => mixup({ x, y }, { alpha: NaN, numClasses: 2 }), 'mixup: alpha must be a finite number > 0, got NaN'],
      ['prob > 1', () => mixup({ x, y }, { prob: 2, numClasses: 2 }), 'mixup: prob must be in [0, 1], got 2'],
      ['bad mode', () => mixup({ x, y }, { mode: 'batches' as any, numClasses: 2 }), 'mixup: mode must be one of "batch" | "pair" | "elem", got "batches"'],
      ['rank 3 x', () => mixup({ x: tf.zeros([4, 2, 2]) as any, y }, { numClasses: 2 }), 'mixup: x must have rank 4, got "rank 3 (shape [4,2,2])"'],
      ['bool x', () => mixup({ x: tf.zeros([4, 2, 2, 3], 'bool') as any, y }, { numClasses: 2 }), 'mixup: x must have dtype float32 or int32, got "bool"'],
      ['batch mismatch', () => mixup({ x, y: tf.tensor1d([0, 1], 'int32') }, { numClasses: 2 }), 'mixup: y must have the batch size of x: 2 != 4'],
      ['empty batch', () => mixup({ x: tf.zeros([0, 2, 2, 3]) as tf.Tensor4D, y: tf.zeros([0], 'int32') as tf.Tensor1D }, { numClasses: 2 }), 'mixup: x must not be an empty batch'],
      ['no numClasses', () => mixup({ x, y }), 'mixup: numClasses is required when y holds integer labels, got undefined'],
      ['label out of range', () => mixup({ x, y: tf.tensor1d([0, 1, 5, 1], 'int32') }, { numClasses: 2 }), 'mixup: y[2] must be an integer class id in [0, 1], got 5'],
      ['soft labels not summing to 1', () => mixup({ x, y: tf.fill([4, 2], 0.3) as tf.Tensor2D }), 'mixup: y[0] must sum to 1, got 0.6'],
      ['unknown option', () => mixup({ x, y }, { numClasses: 2, alfa: 1 } as any), 'mixup: option "alfa" is unknown'],
    ];
    it.each(cases)('%s', (_, f, msg) => {
      const before = tf.memory().numTensors;
      let err: Error | undefined;
      tf.tidy(() => { try { f(); } catch (e) { err = e as Error; } });
      expect(err?.message).toContain(msg);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
