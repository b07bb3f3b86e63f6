import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { cutmix } from '../lib/cutmix';
import { expectSameMixed } from './helpers';

beforeAll(async () => { await tf.setBackend('cpu'); });

type Case = { B: number; H: number; W: number; C: number; nc: number; dtype: 'float32' | 'int32'; soft: boolean; seed: number };
const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 9 }), H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
  C: fc.integer({ min: 1, max: 3 }), nc: fc.integer({ min: 1, max: 5 }), dtype: fc.constantFrom('float32' as const, 'int32' as const),
  soft: fc.boolean(), seed: fc.integer({ min: 0, max: 1e9 }),
});
const optsArb = fc.record({
  alpha: fc.double({ min: 0.05, max: 4, noNaN: true }), prob: fc.constantFrom(0, 0.5, 1),
  mode: fc.constantFrom('batch' as const, 'pair' as const, 'elem' as const), labelSmoothing: fc.constantFrom(0, 0.1),
  minMax: fc.option(fc.constantFrom<[number, number]>([0.2, 0.8], [0.5, 0.5], [0, 1]), { nil: undefined }),
});

/** Images whose every element is unique: value = image·4096 + position, so each pixel tells where it came from. */
function makeBatch(c: Case) {
  const rng = new Rng(c.seed);
  const img = c.H * c.W * c.C, n = c.B * img;
  const vals = (c.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n)).map((_, t) => Math.floor(t / img) * 4096 + (t % img));
  const labels = Int32Array.from({ length: c.B }, () => rng.int(c.nc));
  const hot = new Float32Array(c.B * c.nc);
  labels.forEach((l, i) => { hot[i * c.nc + l] = 1; });
  const x = tf.tensor4d(vals, [c.B, c.H, c.W, c.C], c.dtype);
  const y = c.soft ? tf.tensor2d(hot, [c.B, c.nc]) : tf.tensor1d(labels, 'int32');
  return { x, y, labels };
}

describe('cutmix', () => {
  it('keeps every pixel outside the box, pastes the partner at the same place inside it, and λ is exactly the kept fraction', () => {
    fc.assert(fc.property(caseArb, optsArb, (c, opts) => {
      const { x, y, labels } = makeBatch(c);
      const before = tf.memory().numTensors;
      const out = cutmix({ x, y }, { ...opts, seed: c.seed, numClasses: c.nc });
      expect(tf.memory().numTensors).toBe(before + 2);
      expect([out.k, out.x.dtype]).toEqual([2, c.dtype]);
      expect(out.x.shape).toEqual(x.shape);
      const ov = out.x.dataSync(), yv = out.y.dataSync(), img = c.H * c.W * c.C, eps = opts.labelSmoothing;
      for (let i = 0; i < c.B; i++) {
        const j = c.B - 1 - i, w0 = out.weights[2 * i], w1 = out.weights[2 * i + 1];
        expect([out.sources[2 * i], out.sources[2 * i + 1]]).toEqual([i, j]);
        expect(w0 >= 0 && w1 >= 0 && Math.abs(w0 + w1 - 1) <= 1e-7).toBe(true);
        let kept = 0, y0 = Infinity, y1 = -1, x0 = Infinity, x1 = -1;
        for (let hh = 0; hh < c.H; hh++) for (let ww = 0; ww < c.W; ww++) {
          const pos = (hh * c.W + ww) * c.C, v = ov[i * img + pos];
          if (v === i * 4096 + pos) { kept++; continue; }
          expect(v).toBe(j * 4096 + pos); // the partner, at the same place
          for (let ch = 1; ch < c.C; ch++) expect(ov[i * img + pos + ch]).toBe(j * 4096 + pos + ch);
          y0 = Math.min(y0, hh); y1 = Math.max(y1, hh); x0 = Math.min(x0, ww); x1 = Math.max(x1, ww);
        }
        const pasted = c.H * c.W - kept;
        if (pasted > 0) expect((y1 - y0 + 1) * (x1 - x0 + 1)).toBe(pasted); // one rectangle
        expect(w0).toBe(Math.fround(kept / (c.H * c.W)));
        if (i === j) expect(w0).toBe(1);
        for (let cl = 0; cl < c.nc; cl++) {
          const hot = (l: number) => (l === cl ? 1 : 0) * (1 - eps) + eps / c.nc;
          expect(yv[i * c.nc + cl]).toBeCloseTo(w0 * hot(labels[i]) + w1 * hot(labels[j]), 5);
        }
      }
      tf.dispose([x, y, out.x, out.y]);
    }), { numRuns: 200 });
  });

  it('shares one box in batch mode and swaps the same box within a pair in pair mode', () => {
    const c: Case = { B: 8, H: 10, W: 10, C: 1, nc: 2, dtype: 'float32', soft: false, seed: 3 };
    for (const mode of ['batch', 'pair'] as const) {
      const { x, y } = makeBatch(c);
      const out = cutmix({ x, y }, { mode, seed: 11, numClasses: 2 });
      const ov = out.x.dataSync(), img = 100;
      const mask = (i: number) => Array.from({ length: img }, (_, p) => ov[i * img + p] !== i * 4096 + p);
      for (let i = 0; i < 8; i++) expect(mask(i)).toEqual(mask(7 - i));
      if (mode === 'batch') for (let i = 1; i < 8; i++) expect(mask(i)).toEqual(mask(0));
      tf.dispose([x, y, out.x, out.y]);
    }
  });

  it('keeps the drawn λ with trueLambda: false, and the true λ is then larger on average (the clipping bias)', () => {
    const { x, y } = makeBatch({ B: 2, H: 16, W: 16, C: 1, nc: 2, dtype: 'float32', soft: false, seed: 0 });
    let naive = 0, truth = 0, differ = 0;
    for (let n = 0; n < 400; n++) {
      const a = cutmix({ x, y }, { seed: n, numClasses: 2, trueLambda: false });
      const b = cutmix({ x, y }, { seed: n, numClasses: 2 });
      expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync())); // same box either way
      naive += a.weights[0]; truth += b.weights[0]; if (a.weights[0] !== b.weights[0]) differ++;
      tf.dispose([a.x, a.y, b.x, b.y]);
    }
    expect(differ).toBeGreaterThan(300);
    expect(truth / 400 - naive / 400).toBeGreaterThan(0.05);
    tf.dispose([x, y]);
  });

  it('draws box sides within minMax of the image side', () => {
    const { x, y } = makeBatch({ B: 2, H: 20, W: 20, C: 1, nc: 2, dtype: 'float32', soft: false, seed: 0 });
    for (let n = 0; n < 100; n++) {
      const out = cutmix({ x, y }, { seed: n, numClasses: 2, minMax: [0.25, 0.5] });
      const pasted = Math.round((1 - out.weights[0]) * 400);
      expect(pasted).toBeGreaterThanOrEqual(25);
      expect(pasted).toBeLessThanOrEqual(81);
      tf.dispose([out.x, out.y]);
    }
    tf.dispose([x, y]);
  });

  it('gives identical output for the same seed, and with either painter', () => {
    fc.assert(fc.property(caseArb, optsArb, (c, opts) => {
      const { x, y } = makeBatch(c);
      const a = cutmix({ x, y }, { ...opts, seed: 9, numClasses: c.nc, painter: 'array' });
      const b = cutmix({ x, y }, { ...opts, seed: 9, numClasses: c.nc, painter: 'tensor' });
      expectSameMixed(a, b);
      tf.dispose([x, y, a.x, a.y, b.x, b.y]);
    }), { numRuns: 60 });
  });

  it('returns the input values with training: false', () => {
    const { x, y } = makeBatch({ B: 3, H: 4, W: 4, C: 3, nc: 3, dtype: 'int32', soft: true, seed: 2 });
    const out = cutmix({ x, y }, { training: false });
    expect(Array.from(out.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(out.y.dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([x, y, out.x, out.y]);
  });

  it('leaks no tensors over 1,000 calls', () => {
    const { x, y } = makeBatch({ B: 5, H: 6, W: 6, C: 3, nc: 3, dtype: 'float32', soft: false, seed: 3 });
    const before = tf.memory().numTensors;
    for (let n = 0; n < 1000; n++) { const r = cutmix({ x, y }, { numClasses: 3, seed: n, mode: (['batch', 'pair', 'elem'] as const)[n % 3] }); tf.dispose([r.x, r.y]); }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  describe('rejects bad input with a clear message and no leak', () => {
    let x: tf.Tensor4D, y: tf.Tensor1D;
    beforeAll(() => { x = tf.zeros([4, 2, 2, 3]); y = tf.tensor1d([0, 1, 0, 1], 'int32'); });
    afterAll(() => tf.dispose([x, y]));
    const cases: [string, () => unknown, string][] = [
      ['alpha < 0', () => cutmix({ x, y }, { alpha: -1, numClasses: 2 }), 'cutmix: alpha must be a finite number > 0, got -1'],
      ['prob NaN', () => cutmix({ x, y }, { prob: NaN, numClasses: 2 }), 'cutmix: prob must be in [0, 1], got NaN'],
      ['trueLambda not boolean', () => cutmix({ x, y }, { trueLambda: 1 as any, numClasses: 2 }), 'cutmix: trueLambda must be true or false, got 1'],
      ['minMax reversed', () => cutmix({ x, y }, { minMax: [0.8, 0.2], numClasses: 2 }), 'cutmix: minMax must be a [lo, hi] pair with 0 <= lo <= hi <= 1, got [0.8,0.2]'],
      ['minMax of zero', () => cutmix({ x, y }, { minMax: [0, 0], numClasses: 2 }), 'cutmix: minMax must allow a box: hi > 0, got [0,0]'],
      ['rank 5 x', () => cutmix({ x: tf.zeros([4, 2, 2, 3, 1]) as any, y }, { numClasses: 2 }), 'cutmix: x must have rank 4'],
      ['string x', () => cutmix({ x: 'img' as any, y }, { numClasses: 2 }), 'cutmix: x must be a tf.Tensor, got "img"'],
      ['batch mismatch', () => cutmix({ x, y: tf.zeros([5, 2]) as tf.Tensor2D }), 'cutmix: y must have the batch size of x: 5 != 4'],
      ['disposed x', () => { const d = tf.zeros([4, 2, 2, 3]) as tf.Tensor4D; d.dispose(); return cutmix({ x: d, y }, { numClasses: 2 }); }, 'cutmix: x must not be disposed'],
      ['NaN labelSmoothing', () => cutmix({ x, y }, { numClasses: 2, labelSmoothing: NaN }), 'cutmix: labelSmoothing must be in [0, 1], got NaN'],
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
