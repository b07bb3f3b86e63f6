import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { cutout, eraseBox } from '../lib/cutout';

beforeAll(async () => { await tf.setBackend('cpu'); });

type Case = { B: number; H: number; W: number; C: number; nc: number; dtype: 'float32' | 'int32'; seed: number };
const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 7 }), H: fc.integer({ min: 2, max: 14 }), W: fc.integer({ min: 2, max: 14 }),
  C: fc.integer({ min: 1, max: 3 }), nc: fc.integer({ min: 1, max: 4 }), dtype: fc.constantFrom('float32' as const, 'int32' as const),
  seed: fc.integer({ min: 0, max: 1e9 }),
});

/** Images with unique, positive values (image·4096 + position + 1), so an erased pixel (fill ≤ 0) is told apart. */
function makeBatch(c: Case) {
  const rng = new Rng(c.seed);
  const img = c.H * c.W * c.C, n = c.B * img;
  const vals = (c.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n)).map((_, t) => Math.floor(t / img) * 4096 + (t % img) + 1);
  const labels = Int32Array.from({ length: c.B }, () => rng.int(c.nc));
  return { x: tf.tensor4d(vals, [c.B, c.H, c.W, c.C], c.dtype), y: tf.tensor1d(labels, 'int32'), labels };
}

describe('cutout', () => {
  it('fills only rectangles with the fill value, keeps every other pixel, and leaves the labels alone', () => {
    fc.assert(fc.property(caseArb, fc.constantFrom(0, 0.5, 1), fc.constantFrom('batch' as const, 'pair' as const, 'elem' as const),
      fc.constantFrom<[number, number]>([1, 1], [0, 3]), fc.constantFrom<number | 'zero'>('zero', -7), (c, p, mode, count, fill) => {
        const { x, y, labels } = makeBatch(c);
        const before = tf.memory().numTensors;
        const out = cutout({ x, y }, { p, mode, count, fill, seed: c.seed, numClasses: c.nc, scale: [0.05, 0.4] });
        expect(tf.memory().numTensors).toBe(before + 2);
        expect([out.k, Array.from(out.sources), Array.from(out.weights)]).toEqual([1, Array.from({ length: c.B }, (_, i) => i), new Array(c.B).fill(1)]);
        expect(Array.from(out.y.argMax(1).dataSync())).toEqual(c.nc > 1 ? Array.from(labels) : new Array(c.B).fill(0));
        const ov = out.x.dataSync(), img = c.H * c.W * c.C, want = fill === 'zero' ? 0 : fill;
        const erased: boolean[][] = [];
        for (let i = 0; i < c.B; i++) {
          erased.push([]);
          for (let t = 0; t < img; t++) {
            const v = ov[i * img + t];
            if (v !== i * 4096 + t + 1) expect(v).toBe(want);
            if (t % c.C === 0) erased[i].push(v === want);
          }
          if (p === 0 || count[1] === 0) expect(erased[i].some(Boolean)).toBe(false);
          if (count[0] === 1 && count[1] === 1 && erased[i].some(Boolean)) {
            let n = 0, y0 = Infinity, y1 = -1, x0 = Infinity, x1 = -1;
            erased[i].forEach((e, pix) => { if (e) { n++; const hh = Math.floor(pix / c.W), ww = pix % c.W; y0 = Math.min(y0, hh); y1 = Math.max(y1, hh); x0 = Math.min(x0, ww); x1 = Math.max(x1, ww); } });
            expect((y1 - y0 + 1) * (x1 - x0 + 1)).toBe(n); // one rectangle
            expect(y1 - y0 + 1).toBeLessThan(c.H);
            expect(x1 - x0 + 1).toBeLessThan(c.W);
          }
        }
        if (mode === 'batch') for (let i = 1; i < c.B; i++) expect(erased[i]).toEqual(erased[0]);
        if (mode === 'pair') for (let i = 0; i < c.B; i++) expect(erased[i]).toEqual(erased[c.B - 1 - i]);
        tf.dispose([x, y, out.x, out.y]);
      }), { numRuns: 200 });
  });

  it('erases every image with p = 1, and about half of them with the default p = 0.5', () => {
    const { x, y } = makeBatch({ B: 400, H: 8, W: 8, C: 1, nc: 2, dtype: 'float32', seed: 0 });
    const count = (out: { x: tf.Tensor }) => { const v = out.x.dataSync(); let n = 0; for (let i = 0; i < 400; i++) if (v.subarray(i * 64, i * 64 + 64).includes(0)) n++; return n; };
    const all = cutout({ x, y }, { p: 1, seed: 1, numClasses: 2, scale: [0.1, 0.3] });
    const half = cutout({ x, y }, { seed: 2, numClasses: 2, scale: [0.1, 0.3] });
    expect(count(all)).toBe(400);
    expect(Math.abs(count(half) - 200)).toBeLessThan(40);
    tf.dispose([x, y, all.x, all.y, half.x, half.y]);
  });

  it('draws boxes whose area fraction and aspect ratio fall in scale and ratio', () => {
    fc.assert(fc.property(fc.integer({ min: 20, max: 200 }), fc.integer({ min: 20, max: 200 }), fc.integer(), (H, W, seed) => {
      const box = eraseBox(new Rng(seed), H, W, [0.1, 0.2], [0.5, 2]);
      if (box === null) return;
      const s = (box.h * box.w) / (H * W), r = box.h / box.w;
      // h and w are rounded: allow one pixel either way
      expect(s).toBeGreaterThanOrEqual((0.1 * H * W - (box.h + box.w) - 1) / (H * W));
      expect(s).toBeLessThanOrEqual((0.2 * H * W + (box.h + box.w) + 1) / (H * W));
      expect(r).toBeGreaterThanOrEqual(0.5 * (box.h - 1) / (box.h + 1) - 1e-9);
      expect(r).toBeLessThanOrEqual(2 * (box.h + 1) / Math.max(1, box.h - 1) + 1e-9);
      expect(box.y + box.h <= H && box.x + box.w <= W).toBe(true);
    }));
  });

  it('fills with the per-channel image mean, or reproducible random values inside fillRange', () => {
    const { x, y } = makeBatch({ B: 3, H: 6, W: 6, C: 3, nc: 2, dtype: 'int32', seed: 0 });
    const full = { p: 1, scale: [0.5, 0.5] as [number, number], ratio: [1, 1] as [number, number], numClasses: 2 };
    const m = cutout({ x, y }, { ...full, fill: 'mean', seed: 5 });
    const xv = x.dataSync(), mv = m.x.dataSync();
    for (let i = 0; i < 3; i++) for (let ch = 0; ch < 3; ch++) {
      let s = 0;
      for (let pix = 0; pix < 36; pix++) s += xv[(i * 36 + pix) * 3 + ch];
      const q = s / 36, f = Math.floor(q);
      const mean = q - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(q); // half to even, as tf.round
      for (let pix = 0; pix < 36; pix++) {
        const v = mv[(i * 36 + pix) * 3 + ch];
        if (v !== xv[(i * 36 + pix) * 3 + ch]) expect(v).toBe(mean);
      }
    }
    const r1 = cutout({ x, y }, { ...full, fill: 'random', fillRange: [300, 310], seed: 6 });
    const r2 = cutout({ x, y }, { ...full, fill: 'random', fillRange: [300, 310], seed: 6, painter: 'tensor' });
    const rv = Array.from(r1.x.dataSync());
    expect(rv.filter((v, n) => v !== xv[n]).every((v) => v >= 300 && v <= 310 && Number.isInteger(v))).toBe(true);
    expect(rv.filter((v, n) => v !== xv[n]).length).toBe(3 * 16 * 3); // a 4x4 box (round(√18) = 4) in each image
    expect(Array.from(r2.x.dataSync())).toEqual(rv);
    tf.dispose([x, y, m.x, m.y, r1.x, r1.y, r2.x, r2.y]);
  });

  it('gives identical output for the same seed, with either painter', () => {
    fc.assert(fc.property(caseArb, fc.constantFrom<'zero' | 'mean' | 'random' | number>('zero', 'mean', 'random', 0.5), (c, fill) => {
      const { x, y } = makeBatch(c);
      const o = { p: 0.7, count: [0, 3] as [number, number], fill, seed: 3, numClasses: c.nc };
      const a = cutout({ x, y }, { ...o, painter: 'array' }), b = cutout({ x, y }, { ...o, painter: 'tensor' });
      expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
      tf.dispose([x, y, a.x, a.y, b.x, b.y]);
    }), { numRuns: 60 });
  });

  it('returns the input values with training: false, and leaks no tensors over 1,000 calls', () => {
    const { x, y } = makeBatch({ B: 4, H: 5, W: 5, C: 3, nc: 3, dtype: 'float32', seed: 1 });
    const id = cutout({ x, y }, { training: false, numClasses: 3 });
    expect(Array.from(id.x.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([id.x, id.y]);
    const before = tf.memory().numTensors;
    for (let n = 0; n < 1000; n++) { const r = cutout({ x, y }, { numClasses: 3, seed: n, p: 1, fill: n % 2 ? 'mean' : 'random' }); tf.dispose([r.x, r.y]); }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  describe('rejects bad input with a clear message and no leak', () => {
    let x: tf.Tensor4D, y: tf.Tensor1D;
    beforeAll(() => { x = tf.zeros([4, 8, 8, 3]); y = tf.tensor1d([0, 1, 0, 1], 'int32'); });
    afterAll(() => tf.dispose([x, y]));
    const cases: [string, () => unknown, string][] = [
      ['p > 1', () => cutout({ x, y }, { p: 1.2, numClasses: 2 }), 'cutout: p must be in [0, 1], got 1.2'],
      ['p and prob', () => cutout({ x, y }, { p: 0.5, prob: 0.5, numClasses: 2 }), 'cutout: p and its alias prob must not both be given'],
      ['alpha', () => cutout({ x, y }, { alpha: 1, numClasses: 2 } as any), 'cutout: alpha does not apply (cutout draws no λ); remove it, got 1'],
      ['scale > 1', () => cutout({ x, y }, { scale: [0.1, 1.5], numClasses: 2 }), 'cutout: scale must be a [lo, hi] pair with 0 <= lo <= hi <= 1, got [0.1,1.5]'],
      ['ratio of 0', () => cutout({ x, y }, { ratio: [0, 1], numClasses: 2 }), 'cutout: ratio must be a [lo, hi] pair with 0 < lo <= hi, got [0,1]'],
      ['fractional count', () => cutout({ x, y }, { count: [1, 2.5], numClasses: 2 }), 'cutout: count[1] must be an integer >= 0, got 2.5'],
      ['bad fill', () => cutout({ x, y }, { fill: 'black' as any, numClasses: 2 }), `cutout: fill must be 'zero', 'mean', 'random' or a finite number, got "black"`],
      ['NaN fill', () => cutout({ x, y }, { fill: NaN, numClasses: 2 }), `cutout: fill must be 'zero', 'mean', 'random' or a finite number, got NaN`],
      ['rank 2 x', () => cutout({ x: tf.zeros([4, 8]) as any, y }, { numClasses: 2 }), 'cutout: x must have rank 4'],
      ['batch mismatch', () => cutout({ x, y: tf.tensor1d([0], 'int32') }, { numClasses: 2 }), 'cutout: y must have the batch size of x: 1 != 4'],
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
