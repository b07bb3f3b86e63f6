import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import {
  BatchmixError, check, checkPositive, checkProb, checkInt, checkRange, checkOneOf, checkTensor,
  formatValue, Rng, makeRng, oneHot, smoothLabels, checkSoftLabels, toSoftLabels,
} from '../lib/core';
import { labelIds, logGamma, regularizedBeta, RoundedBeta, roundedBeta, wasmBytes, watXoshiroStep } from '../lib/core';

beforeAll(async () => { tf.env().set('PROD', true); await tf.setBackend('cpu'); });

describe('check', () => {
  it('throws a BatchmixError naming method, argument, rule and value', () => {
    let err: unknown;
    try { checkPositive(-1, 'cutmix', 'alpha'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BatchmixError);
    const e = err as BatchmixError;
    expect(e.message).toBe('cutmix: alpha must be a finite number > 0, got -1');
    expect([e.method, e.arg, e.rule, e.got]).toEqual(['cutmix', 'alpha', 'must be a finite number > 0', -1]);
  });
  it('prints NaN, Infinity, -0, strings, arrays and tensors as themselves', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(-Infinity)).toBe('-Infinity');
    expect(formatValue(-0)).toBe('-0');
    expect(formatValue('row')).toBe('"row"');
    expect(formatValue([1, 2])).toBe('[1,2]');
    expect(formatValue(Array.from({ length: 10 }, (_, i) => i))).toBe('[0,1,2,3,4,5,6,7,… (10)]');
    const t = tf.zeros([2, 3]);
    expect(formatValue(t)).toBe('Tensor(float32, [2,3])');
    t.dispose();
  });
  it('builds the value lazily only on failure', () => {
    const got = jest.fn(() => 5);
    check(true, 'm', 'a', 'must hold', got);
    expect(got).not.toHaveBeenCalled();
    expect(() => check(false, 'm', 'a', 'must hold', got)).toThrow('m: a must hold, got 5');
  });
  it('checks probabilities, integers, ranges and choices', () => {
    expect(() => checkProb(1.5, 'swapNoise', 'p')).toThrow('swapNoise: p must be in [0, 1], got 1.5');
    expect(() => checkProb(NaN, 'swapNoise', 'p')).toThrow(/got NaN/);
    expect(() => checkProb(0, 'swapNoise', 'p')).not.toThrow();
    expect(() => checkInt(2.5, 'patchmix', 'rows', 1)).toThrow('patchmix: rows must be an integer >= 1, got 2.5');
    expect(() => checkRange([0.5, 0.2], 'cutout', 'scale', 0, 1)).toThrow(/cutout: scale must be a \[lo, hi\] pair .* got \[0.5,0.2\]/);
    expect(() => checkRange([0.2, 0.5], 'cutout', 'scale', 0, 1)).not.toThrow();
    expect(() => checkOneOf('pairs', ['batch', 'pair', 'elem'], 'mixup', 'mode'))
      .toThrow('mixup: mode must be one of "batch" | "pair" | "elem", got "pairs"');
  });
  it('checks tensors: type, disposal, rank, dtype and empty batches', () => {
    expect(() => checkTensor([1], 'cutmix', 'x')).toThrow('cutmix: x must be a tf.Tensor, got [1]');
    const x = tf.zeros([2, 4, 4]);
    expect(() => checkTensor(x, 'cutmix', 'x', { rank: 4 })).toThrow('cutmix: x must have rank 4, got "rank 3 (shape [2,4,4])"');
    expect(() => checkTensor(x, 'cutmix', 'x', { dtypes: ['int32'] })).toThrow('cutmix: x must have dtype int32, got "float32"');
    const empty = tf.zeros([0, 4, 4, 3]);
    expect(() => checkTensor(empty, 'cutmix', 'x', { rank: 4 })).toThrow(/must not be an empty batch/);
    x.dispose(); empty.dispose();
    expect(() => checkTensor(x, 'cutmix', 'x')).toThrow('cutmix: x must not be disposed');
  });
});

describe('labelIds', () => {
  it('returns integer labels as an Int32Array, from int32 or float32 tensors', () => {
    const a = tf.tensor1d([0, 2, 1], 'int32'), b = tf.tensor1d([2, 0], 'float32');
    expect(labelIds(a, 'm', { numClasses: 3 })).toEqual({ ids: Int32Array.of(0, 2, 1), numClasses: 3 });
    expect(labelIds(b, 'm', { numClasses: 3, batchSize: 2 })).toEqual({ ids: Int32Array.of(2, 0), numClasses: 3 });
    tf.dispose([a, b]);
  });
  it('names the bad label, a missing numClasses and a batch-size mismatch', () => {
    const y = tf.tensor1d([0, 1.5, 1], 'float32'), z = tf.tensor1d([0, 3], 'int32'), w = tf.tensor2d([[1, 0]]);
    expect(() => labelIds(y, 'cutmix', { numClasses: 3 })).toThrow(/cutmix: y\[1\] must be an integer class id in \[0, 2\], got 1.5/);
    expect(() => labelIds(z, 'cutmix', { numClasses: 3 })).toThrow(/y\[1\] must be an integer class id in \[0, 2\], got 3/);
    expect(() => labelIds(z, 'cutmix', {})).toThrow(/cutmix: numClasses is required when y holds integer labels/);
    expect(() => labelIds(z, 'cutmix', { numClasses: 4, batchSize: 3 })).toThrow(/cutmix: y must have the batch size of x \(3\)/);
    expect(() => labelIds(w as unknown as tf.Tensor1D, 'cutmix', { numClasses: 2 })).toThrow(/cutmix: y must have rank 1/);
    tf.dispose([y, z, w]);
  });
});

describe('Rng', () => {
  it('saveState / loadState hand the stream over: the draws go on where they left off', () => {
    const a = new Rng(42), b = new Rng(7);
    for (let i = 0; i < 5; i++) a.nextUint32();
    const st = new Uint32Array(6);
    a.saveState(st, 2);
    const expected = Array.from({ length: 8 }, () => a.nextUint32());
    b.loadState(st, 2);
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(expected);
    // an Int32Array works too (the words as signed integers)
    const signed = new Int32Array(4), c = new Rng(0);
    new Rng(42).saveState(signed);
    c.loadState(signed);
    expect(c.nextUint32()).toBe(new Rng(42).nextUint32());
    expect(() => b.loadState(new Uint32Array(4))).toThrow(/Rng\.loadState: src is all zeros.*got \[0,0,0,0\]/);
  });

  it('watXoshiroStep is nextUint32 in WebAssembly: the same 1,000 outputs', async () => {
    const wabt = await require('wabt')();
    const wat = `(module (import "env" "memory" (memory 1))
      (func (export "run") (param $n i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $t i32) (local $x i32) (local $i i32)
        (local.set $s0 (i32.load (i32.const 0))) (local.set $s1 (i32.load (i32.const 4)))
        (local.set $s2 (i32.load (i32.const 8))) (local.set $s3 (i32.load (i32.const 12)))
        (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
          ${watXoshiroStep('$x')}
          (i32.store (i32.add (i32.const 16) (i32.shl (local.get $i) (i32.const 2))) (local.get $x))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))))`;
    const mod = wabt.parseWat('step.wat', wat, {});
    const b64 = Buffer.from(mod.toBinary({}).buffer).toString('base64');
    mod.destroy();
    const memory = new WebAssembly.Memory({ initial: 1 });
    const run = (new WebAssembly.Instance(new WebAssembly.Module(wasmBytes(b64)), { env: { memory } }).exports as any).run;
    const rng = new Rng(123);
    rng.saveState(new Uint32Array(memory.buffer, 0, 4));
    run(1000);
    const out = new Uint32Array(memory.buffer, 16, 1000);
    for (let i = 0; i < 1000; i++) expect(out[i]).toBe(rng.nextUint32());
  });

  it('below(n) draws every integer in [0, n) equally often, one 32-bit draw at a time', () => {
    const rng = new Rng(11);
    for (const n of [1, 2, 3, 28, 1000]) {
      const counts = new Float64Array(n), draws = 200 * n;
      for (let i = 0; i < draws; i++) {
        const v = rng.below(n);
        expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
        counts[v]++;
      }
      if (n > 1) {
        const chi2 = counts.reduce((acc, c) => acc + (c - 200) ** 2 / 200, 0);
        expect(chi2).toBeLessThan(n - 1 + 6 * Math.sqrt(2 * (n - 1)));
      }
    }
    expect(new Rng(4).below(1e6)).toBe(new Rng(4).below(1e6));
  });

  it('below(n) redraws the 2^32 mod n lowest products (exactly unbiased) and hands large n to int', () => {
    const fed = (values: number[]) => { const r = new Rng(0); (r as any).nextUint32 = () => values.shift(); return r; };
    // n = 3: 2^32 mod 3 = 1, so x = 0 (product 0, low part 0) is rejected; x = 2863311531 gives 2
    const vals = [0, 2863311531];
    expect(fed(vals).below(3)).toBe(2);
    // n = 7: 2^32 mod 7 = 4; x = 613566757 has low part 3 (< 4): rejected; then x = 2^31 gives 3
    const r7 = fed([613566757, 2147483648]);
    expect(r7.below(7)).toBe(3);
    // n > 2^21 uses int(n): the same value as int from the same state
    expect(new Rng(9).below(2 ** 22 + 1)).toBe(new Rng(9).int(2 ** 22 + 1));
    expect(() => new Rng(0).below(0)).toThrow(/Rng.int: n must be an integer in \[1, 2\^32\], got 0/);
    expect(() => new Rng(0).below(2.5)).toThrow(/got 2.5/);
  });

  it('gives the same draws for the same seed and different draws for different seeds', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const a = new Rng(seed), b = new Rng(seed), c = new Rng(seed + 1);
      const da = [a.next(), a.nextUint32(), a.beta(0.4, 0.4), a.normal()];
      const db = [b.next(), b.nextUint32(), b.beta(0.4, 0.4), b.normal()];
      expect(da).toEqual(db);
      expect(c.nextUint32()).not.toBe(new Rng(seed).nextUint32());
    }), { numRuns: 50 });
  });
  it('draws uniforms in [0, 1) with the right mean and variance', () => {
    const r = new Rng(1);
    const n = 100000;
    let s = 0, s2 = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) { const v = r.next(); s += v; s2 += v * v; min = Math.min(min, v); max = Math.max(max, v); }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.002);
  });
  it('draws Beta(a, b) with the exact mean a/(a+b) and variance', () => {
    for (const [a, b] of [[0.2, 0.2], [1, 1], [2, 5], [0.4, 3]]) {
      const r = new Rng(3);
      const n = 60000;
      let s = 0, s2 = 0;
      for (let i = 0; i < n; i++) { const v = r.beta(a, b); expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); s += v; s2 += v * v; }
      const mean = a / (a + b), variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(s / n - mean)).toBeLessThan(0.01);
      expect(Math.abs(s2 / n - (s / n) ** 2 - variance)).toBeLessThan(0.01);
    }
  });
  it('returns 0 or 1, never NaN, for tiny alpha', () => {
    const r = new Rng(5);
    for (let i = 0; i < 2000; i++) expect(Number.isNaN(r.beta(1e-3, 1e-3))).toBe(false);
  });
  it('draws integers uniformly over [0, n)', () => {
    const r = new Rng(9);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
  });
  it('makes permutations: every value once, every position equally likely', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 }), fc.integer(), (n, seed) => {
      const p = Array.from(new Rng(seed).permutation(n)).sort((a, b) => a - b);
      expect(p).toEqual(Array.from({ length: n }, (_, i) => i));
    }), { numRuns: 50 });
    const r = new Rng(2);
    const firstIs0 = Array.from({ length: 20000 }, () => r.permutation(4)[0] === 0).filter(Boolean).length;
    expect(Math.abs(firstIs0 - 5000)).toBeLessThan(300);
  });
  it('rejects bad seeds and bad parameters by name', () => {
    expect(() => new Rng(NaN)).toThrow('Rng: seed must be a finite number, got NaN');
    expect(() => new Rng(1).beta(0, 1)).toThrow('Rng.beta: a must be a finite number > 0, got 0');
    expect(() => new Rng(1).gamma(-2)).toThrow(/Rng.gamma: shape .* got -2/);
    expect(() => new Rng(1).int(0)).toThrow(/Rng.int: n must be an integer/);
  });
  it('threads a given Rng through makeRng and seeds numbers', () => {
    const r = new Rng(4);
    expect(makeRng(r)).toBe(r);
    expect(makeRng(4).next()).toBe(new Rng(4).next());
    expect(makeRng().next()).toBeGreaterThanOrEqual(0);
  });
});

describe('labels', () => {
  it('one-hot encodes integer labels', () => {
    const y = oneHot([0, 2, 1], 3);
    expect(y.shape).toEqual([3, 3]);
    expect(Array.from(y.dataSync())).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0]);
    y.dispose();
    expect(() => oneHot([3], 3)).toThrow('oneHot: labels[0] must be an integer in [0, 2], got 3');
  });
  it('smooths labels so rows still sum to 1', () => {
    const y = oneHot([1, 0], 4);
    const s = smoothLabels(y, 0.2);
    const d = s.dataSync();
    expect(d[1]).toBeCloseTo(0.8 + 0.05, 6);
    expect(d[0]).toBeCloseTo(0.05, 6);
    expect(() => checkSoftLabels(s, 'test')).not.toThrow();
    tf.dispose([y, s]);
  });
  it('gives the same soft labels from integer and one-hot labels, with no tensor leak', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 20 }), fc.double({ min: 0, max: 1, noNaN: true }), (ids, eps) => {
      const before = tf.memory().numTensors;
      const yi = tf.tensor1d(ids, 'int32');
      const yh = oneHot(ids, 5);
      const a = toSoftLabels(yi, 'mixup', { numClasses: 5, labelSmoothing: eps });
      const b = toSoftLabels(yh, 'mixup', { labelSmoothing: eps });
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      for (let i = 0; i < ids.length; i++) {
        const row = Array.from(a.data.slice(i * 5, i * 5 + 5));
        expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
        expect(row[ids[i]]).toBeCloseTo(1 - eps + eps / 5, 5);
      }
      tf.dispose([yi, yh]);
      expect(tf.memory().numTensors).toBe(before);
    }), { numRuns: 30 });
  });
  it('rejects bad labels with the row named', () => {
    const y = tf.tensor2d([[0.5, 0.5], [0.7, 0.7]]);
    expect(() => toSoftLabels(y, 'cutmix')).toThrow('cutmix: y[1] must sum to 1, got 1.4');
    const yi = tf.tensor1d([0, 1], 'int32');
    expect(() => toSoftLabels(yi, 'cutmix')).toThrow('cutmix: numClasses is required when y holds integer labels, got undefined');
    expect(() => toSoftLabels(yi, 'cutmix', { numClasses: 2, batchSize: 3 })).toThrow('cutmix: y must have the batch size of x (3), got "batch size 2"');
    expect(() => toSoftLabels(yi, 'cutmix', { numClasses: 2, labelSmoothing: 2 })).toThrow('cutmix: labelSmoothing must be in [0, 1], got 2');
    tf.dispose([y, yi]);
  });
});

describe('logGamma and regularizedBeta', () => {
  const close = (got: number, want: number, tol: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(tol);

  it('logGamma gives ln((n-1)!) at integers and ln(sqrt(pi)) at 1/2', () => {
    close(logGamma(1), 0, 2e-15);
    close(logGamma(2), 0, 2e-15);
    close(logGamma(5), Math.log(24), 4e-15);
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 2e-15);
    close(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2), 2e-15);
    let lnFact = 0;
    for (let k = 2; k < 100; k++) lnFact += Math.log(k);
    close(logGamma(100), lnFact, 1e-12);
    // Γ(x) = Γ(x+1)/x for tiny x: ln Γ(1e-8) = −ln(1e-8) − γ·1e-8 to 1e-16.
    close(logGamma(1e-8), -Math.log(1e-8) - 0.5772156649015329e-8, 1e-14);
  });

  it('regularizedBeta equals the closed forms I_x(1,1) = x, I_x(a,1) = x^a, I_x(1,b) = 1-(1-x)^b, I_x(1/2,1/2), I_x(2,2)', () => {
    fc.assert(fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.02, max: 30, noNaN: true }),
      (x, a) => {
        close(regularizedBeta(x, 1, 1), x, 1e-15);
        // (shapes up to 30: the documented bound is 5e-14; 3.5e-14 measured at worst)
        close(regularizedBeta(x, a, 1), x ** a, 5e-14);
        close(regularizedBeta(x, 1, a), 1 - (1 - x) ** a, 5e-14);
        close(regularizedBeta(x, 2, 2), 3 * x * x - 2 * x ** 3, 1e-14);
        // (2/π)·asin(√x) for x ≤ ½; its mirror above, where asin is ill-conditioned.
        const arcsine = x <= 0.5 ? (2 / Math.PI) * Math.asin(Math.sqrt(x)) : 1 - (2 / Math.PI) * Math.asin(Math.sqrt(1 - x));
        close(regularizedBeta(x, 0.5, 0.5), arcsine, 1e-14);
      }), { numRuns: 300 });
  });

  it('regularizedBeta is 1/2 at x = 1/2 when a = b, obeys I_x(a,b) = 1 - I_(1-x)(b,a) and increases in x', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 20 }), fc.double({ min: 0.02, max: 9, noNaN: true }), fc.double({ min: 0.02, max: 9, noNaN: true }),
      (k, a, b) => {
        const x = k / 2 ** 20; // dyadic: 1 − x is exact
        close(regularizedBeta(0.5, a, a), 0.5, 2e-14); // the documented bound for shapes below 10 (1.4e-14 measured at worst)
        close(regularizedBeta(x, a, b), 1 - regularizedBeta(1 - x, b, a), 1e-14);
        const y = Math.min(1, x + 1 / 1024);
        expect(regularizedBeta(y, a, b)).toBeGreaterThanOrEqual(regularizedBeta(x, a, b) - 1e-15);
        expect(regularizedBeta(0, a, b)).toBe(0);
        expect(regularizedBeta(1, a, b)).toBe(1);
      }), { numRuns: 300 });
  });

  it('regularizedBeta agrees with a numerical integral of the Beta density, singular ends included', () => {
    // ∫₀ˣ t^(a−1)(1−t)^(b−1) dt for x ≤ ½ with t = x·s^(k/a), k = ceil(4a): t^(a−1) dt = x^a (k/a) s^(k−1) ds,
    // a polynomial factor (no singularity at 0 for a < 1, and s^(k/a) with k/a ≥ 4 is smooth enough);
    // then composite Gauss–Legendre (5 points) on 400 panels.
    const gl = [[0, 128 / 225], [0.5384693101056831, 0.4786286704993665], [-0.5384693101056831, 0.4786286704993665],
      [0.906179845938664, 0.2369268850561891], [-0.906179845938664, 0.2369268850561891]];
    const partial = (x: number, a: number, b: number): number => {
      const k = Math.ceil(4 * a), panels = 400;
      let sum = 0;
      for (let i = 0; i < panels; i++) {
        for (const [node, w] of gl) {
          const s = (i + 0.5 + node / 2) / panels;
          sum += (w / 2 / panels) * s ** (k - 1) * (1 - x * s ** (k / a)) ** (b - 1);
        }
      }
      return x ** a * (k / a) * sum;
    };
    const cdf = (x: number, a: number, b: number): number => {
      const total = partial(0.5, a, b) + partial(0.5, b, a); // B(a, b), split at ½ so only t = 0 is singular
      return x <= 0.5 ? partial(x, a, b) / total : 1 - partial(1 - x, b, a) / total;
    };
    for (const [a, b] of [[0.3, 0.3], [0.1, 0.7], [0.3, 2], [2, 0.4], [4, 9]]) {
      for (const x of [1e-5, 0.01, 0.2, 0.5, 0.75, 0.99]) close(regularizedBeta(x, a, b), cdf(x, a, b), 1e-13);
    }
  });

  it('rejects x outside [0, 1], NaN and shapes <= 0 by name and value', () => {
    expect(() => regularizedBeta(1.5, 1, 1)).toThrow('regularizedBeta: x must be in [0, 1], got 1.5');
    expect(() => regularizedBeta(-0.1, 1, 1)).toThrow('regularizedBeta: x must be in [0, 1], got -0.1');
    expect(() => regularizedBeta(NaN, 1, 1)).toThrow('regularizedBeta: x must be in [0, 1], got NaN');
    expect(() => regularizedBeta(0.5, 0, 1)).toThrow('regularizedBeta: a must be a finite number > 0, got 0');
    expect(() => regularizedBeta(0.5, 1, -2)).toThrow('regularizedBeta: b must be a finite number > 0, got -2');
    expect(() => regularizedBeta(0.5, NaN, 1)).toThrow('regularizedBeta: a must be a finite number > 0, got NaN');
    expect(() => logGamma(0)).toThrow('logGamma: x must be a finite number > 0, got 0');
  });
});

describe('RoundedBeta: round(n * Beta(a, b)) drawn from its exact distribution', () => {
  const sum = (v: Float64Array) => v.reduce((s, p) => s + p, 0);
  /** P(X > x) for X ~ χ²(df): the regularized upper incomplete gamma Q(df/2, x/2), by series or continued fraction. */
  const chiSquareSurvival = (x: number, df: number): number => {
    const s = df / 2, h = x / 2;
    const logFront = s * Math.log(h) - h - logGamma(s);
    if (h < s + 1) {
      let term = 1 / s, total = term;
      for (let k = 1; k < 100000 && term > total * 1e-17; k++) { term *= h / (s + k); total += term; }
      return 1 - Math.exp(logFront) * total;
    }
    let f = h + 1 - s, c = f, d = 0;
    for (let j = 1; j < 100000; j++) {
      const aj = -j * (j - s), bj = h + 1 - s + 2 * j;
      d = 1 / (bj + aj * d); c = bj + aj / c;
      f *= c * d;
      if (Math.abs(c * d - 1) < 1e-16) break;
    }
    return Math.exp(logFront) / f;
  };
  /** Pearson's test of counts against probs, pooling neighbours until each pool expects >= 5. */
  const chiSquareP = (counts: number[], probs: Float64Array, total: number): number => {
    const pools: [number, number][] = [];
    let o = 0, e = 0;
    probs.forEach((p, c) => { o += counts[c]; e += p * total; if (e >= 5) { pools.push([o, e]); o = 0; e = 0; } });
    if (pools.length === 0) return 1;
    pools[pools.length - 1][0] += o; pools[pools.length - 1][1] += e;
    if (pools.length === 1) return 1;
    const stat = pools.reduce((s, [ob, ex]) => s + (ob - ex) ** 2 / ex, 0);
    return chiSquareSurvival(stat, pools.length - 1);
  };

  it('the chi-square p-value helper matches tabulated quantiles', () => {
    expect(Math.abs(chiSquareSurvival(3.841459, 1) - 0.05)).toBeLessThan(1e-6);
    expect(Math.abs(chiSquareSurvival(18.307038, 10) - 0.05)).toBeLessThan(1e-6);
    expect(Math.abs(chiSquareSurvival(29.588298, 10) - 0.001)).toBeLessThan(1e-7);
  });

  it('has n + 1 probabilities that sum to 1, symmetric for a = b, and 1/(2n), 1/n, ..., 1/(2n) for a = b = 1', () => {
    for (const n of [1, 2, 3, 28, 224]) {
      for (const beta of [0.05, 0.3, 1, 2, 25]) {
        const rb = new RoundedBeta(n, beta, beta);
        expect(rb.probs.length).toBe(n + 1);
        expect(Math.abs(sum(rb.probs) - 1)).toBeLessThan(1e-12);
        for (let c = 0; c <= n; c++) {
          expect(rb.probs[c]).toBeGreaterThanOrEqual(0);
          expect(rb.probs[c]).toBe(rb.probs[n - c]);
          if (beta === 1) expect(Math.abs(rb.probs[c] - (c === 0 || c === n ? 0.5 / n : 1 / n))).toBeLessThan(1e-14);
        }
      }
    }
  });

  it('gives P(w = c) = I_min(1,(c+1/2)/n)(a,b) - I_max(0,(c-1/2)/n)(a,b), also for a != b', () => {
    for (const [n, a, b] of [[1, 0.3, 0.3], [5, 0.3, 2], [28, 2, 0.7], [224, 0.3, 0.3]]) {
      const rb = new RoundedBeta(n, a, b);
      expect(Math.abs(sum(rb.probs) - 1)).toBeLessThan(1e-12);
      for (let c = 0; c <= n; c++) {
        const want = regularizedBeta(Math.min(1, (c + 0.5) / n), a, b) - regularizedBeta(Math.max(0, (c - 0.5) / n), a, b);
        expect(Math.abs(rb.probs[c] - want)).toBeLessThan(1e-14);
      }
    }
    // β = 2, n = 2: I_x(2,2) = 3x² − 2x³, so P(0) = P(2) = I_¼ = 5/32 and P(1) = 22/32.
    const two = new RoundedBeta(2, 2, 2);
    expect(Math.abs(two.probs[0] - 5 / 32)).toBeLessThan(1e-15);
    expect(Math.abs(two.probs[1] - 22 / 32)).toBeLessThan(1e-15);
  });

  it('builds alias tables that give each outcome exactly its probability', () => {
    for (const [n, a, b] of [[1, 0.3, 0.3], [2, 2, 2], [28, 0.3, 0.3], [224, 0.05, 0.05], [224, 30, 30], [50, 0.5, 3]]) {
      const rb = new RoundedBeta(n, a, b), m = n + 1, mass = new Float64Array(m);
      for (let j = 0; j < m; j++) {
        expect(rb.cutoff[j]).toBeGreaterThanOrEqual(0);
        expect(rb.cutoff[j]).toBeLessThanOrEqual(1);
        mass[j] += rb.cutoff[j] / m;
        if (rb.alias[j] !== j) mass[rb.alias[j]] += (1 - rb.cutoff[j]) / m;
      }
      for (let c = 0; c < m; c++) expect(Math.abs(mass[c] - rb.probs[c])).toBeLessThan(1e-14);
    }
  });

  it.each([[1, 0.3, 1], [2, 0.3, 2], [28, 0.3, 3], [224, 0.3, 4], [28, 1, 5], [224, 1, 6], [2, 2, 7], [224, 2, 8]])(
    'alias draws fit the exact probabilities for n = %i, beta = %f (chi-square, seed %i)', (n, beta, seed) => {
      const rb = new RoundedBeta(n, beta, beta), rng = new Rng(seed), draws = 100000;
      const counts = new Array(n + 1).fill(0);
      for (let i = 0; i < draws; i++) counts[rb.draw(rng)]++;
      expect(chiSquareP(counts, rb.probs, draws)).toBeGreaterThan(0.001);
    });

  it.each([[1, 0.3, 11], [28, 0.3, 12], [224, 0.3, 13], [28, 2, 14]])(
    'round(n * rng.beta(beta, beta)) fits the same probabilities for n = %i, beta = %f (seed %i)', (n, beta, seed) => {
      const rb = new RoundedBeta(n, beta, beta), rng = new Rng(seed), draws = 100000;
      const counts = new Array(n + 1).fill(0);
      for (let i = 0; i < draws; i++) counts[Math.round(n * rng.beta(beta, beta))]++;
      expect(chiSquareP(counts, rb.probs, draws)).toBeGreaterThan(0.001);
    });

  it('draws integers in 0..n with exactly one rng.next() per draw', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 300 }), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.integer(),
      (n, beta, seed) => {
        const rb = new RoundedBeta(n, beta, beta), r = new Rng(seed), twin = new Rng(seed);
        for (let i = 0; i < 50; i++) {
          const w = rb.draw(r);
          expect(Number.isInteger(w) && w >= 0 && w <= n).toBe(true);
          twin.next();
        }
        expect(r.nextUint32()).toBe(twin.nextUint32());
      }), { numRuns: 100 });
  });

  it('gives the same draws for the same seed', () => {
    const rb = new RoundedBeta(28, 0.3, 0.3);
    const a = new Rng(42), b = new Rng(42);
    const da = Array.from({ length: 1000 }, () => rb.draw(a)), db = Array.from({ length: 1000 }, () => rb.draw(b));
    expect(da).toEqual(db);
    expect(new Set(da).size).toBeGreaterThan(20); // and they vary
  });

  it('roundedBeta shares one instance per (n, a, b) and keeps only the 16 most recent', () => {
    const first = roundedBeta(28, 0.3, 0.3);
    expect(roundedBeta(28, 0.3, 0.3)).toBe(first);
    expect(roundedBeta(28, 0.3, 0.4)).not.toBe(first);
    expect(roundedBeta(28, 0.3, 0.3)).toBe(first);
    expect(roundedBeta(28, 0.3, 0.3).probs).toEqual(new RoundedBeta(28, 0.3, 0.3).probs);
    for (let n = 100; n < 116; n++) roundedBeta(n, 0.3, 0.3); // 16 other keys push it out
    expect(roundedBeta(28, 0.3, 0.3)).not.toBe(first);
  });

  it('rejects n that is not an integer >= 1, shapes <= 0 and NaN by name and value', () => {
    expect(() => new RoundedBeta(0, 0.3, 0.3)).toThrow('RoundedBeta: n must be an integer >= 1, got 0');
    expect(() => new RoundedBeta(2.5, 0.3, 0.3)).toThrow('RoundedBeta: n must be an integer >= 1, got 2.5');
    expect(() => new RoundedBeta(NaN, 0.3, 0.3)).toThrow('RoundedBeta: n must be an integer >= 1, got NaN');
    expect(() => new RoundedBeta(28, 0, 0.3)).toThrow('RoundedBeta: a must be a finite number > 0, got 0');
    expect(() => new RoundedBeta(28, 0.3, -1)).toThrow('RoundedBeta: b must be a finite number > 0, got -1');
    expect(() => roundedBeta(-3, 0.3, 0.3)).toThrow('roundedBeta: n must be an integer >= 1, got -3');
    expect(() => roundedBeta(28, NaN, 0.3)).toThrow('roundedBeta: a must be a finite number > 0, got NaN');
    expect(() => roundedBeta(28, 0.3, Infinity)).toThrow('roundedBeta: b must be a finite number > 0, got Infinity');
  });
});
