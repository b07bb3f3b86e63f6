import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import {
  BatchmixError, check, checkPositive, checkProb, checkInt, checkRange, checkOneOf, checkTensor,
  formatValue, Rng, makeRng, oneHot, smoothLabels, checkSoftLabels, toSoftLabels,
} from '../lib/core';

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

describe('Rng', () => {
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
