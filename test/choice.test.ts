import * as tf from '@tensorflow/tfjs';
import { Rng } from '../lib/core';
import { cutmix } from '../lib/cutmix';
import { cutout } from '../lib/cutout';
import { mixup } from '../lib/mixup';
import { Mixed, mixChoice } from '../lib/plan';

beforeAll(async () => { await tf.setBackend('cpu'); });

function batch(B = 6) {
  const rng = new Rng(B);
  return {
    x: tf.tensor4d(Float32Array.from({ length: B * 4 * 4 * 3 }, () => rng.next()), [B, 4, 4, 3]),
    y: tf.tensor1d(Int32Array.from({ length: B }, (_, i) => i % 3), 'int32'),
  };
}

/** Tags each method so a test can see which one ran. */
const tagged = (name: string, f: (b: any, o?: any) => Mixed, log: string[]) => (b: any, o?: any) => { log.push(name); return f(b, o); };

describe('mixChoice', () => {
  it('picks each method with its probability, and no method with the rest', () => {
    const log: string[] = [];
    const mix = mixChoice([
      { method: tagged('mixup', mixup, log), p: 0.5, opts: { alpha: 0.2 } },
      { method: tagged('cutmix', cutmix, log), p: 0.3 },
    ], { seed: 0, numClasses: 3 });
    const b = batch();
    let none = 0;
    for (let n = 0; n < 2000; n++) {
      const before = log.length;
      const out = mix(b);
      if (log.length === before) { none++; expect(out.k).toBe(1); expect(Array.from(out.x.dataSync())).toEqual(Array.from(b.x.dataSync())); }
      tf.dispose([out.x, out.y]);
    }
    const count = (name: string) => log.filter((l) => l === name).length;
    expect(Math.abs(count('mixup') - 1000)).toBeLessThan(80);
    expect(Math.abs(count('cutmix') - 600)).toBeLessThan(70);
    expect(Math.abs(none - 400)).toBeLessThan(60);
    tf.dispose([b.x, b.y]);
  });

  it('is reproducible from its seed, for the choices and for the methods it calls', () => {
    const b = batch(5);
    const run = () => {
      const mix = mixChoice([{ method: mixup, p: 0.5 }, { method: cutmix, p: 0.25, opts: { mode: 'elem' } }, { method: cutout, p: 0.25, opts: { p: 1 } }], { seed: 42, numClasses: 3 });
      const outs: number[][] = [];
      for (let n = 0; n < 20; n++) { const o = mix(b); outs.push([...o.x.dataSync(), ...o.y.dataSync(), ...o.weights]); tf.dispose([o.x, o.y]); }
      return outs;
    };
    expect(run()).toEqual(run());
    tf.dispose([b.x, b.y]);
  });

  it('passes labelSmoothing to every method and applies it when nothing is picked', () => {
    const b = batch(4);
    const mix = mixChoice([{ method: mixup, p: 0 }], { seed: 1, numClasses: 3, labelSmoothing: 0.3 });
    const out = mix(b);
    expect(out.y.max().dataSync()[0]).toBeCloseTo(0.8, 6);
    const mix2 = mixChoice([{ method: cutout, p: 1, opts: { p: 0 } }], { seed: 1, numClasses: 3, labelSmoothing: 0.3 });
    const out2 = mix2(b);
    expect(Array.from(out2.y.dataSync())).toEqual(Array.from(out.y.dataSync()));
    tf.dispose([b.x, b.y, out.x, out.y, out2.x, out2.y]);
  });

  it('is the identity with training: false, and leaks no tensors', () => {
    const b = batch(3);
    const mix = mixChoice([{ method: cutmix, p: 1 }], { seed: 1, numClasses: 3, training: false });
    const before = tf.memory().numTensors;
    for (let n = 0; n < 200; n++) {
      const out = mix(b);
      expect(out.k).toBe(1);
      tf.dispose([out.x, out.y]);
    }
    const mix2 = mixChoice([{ method: cutmix, p: 0.5 }, { method: mixup, p: 0.5 }], { seed: 1, numClasses: 3 });
    for (let n = 0; n < 1000; n++) { const out = mix2(b); tf.dispose([out.x, out.y]); }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b.x, b.y]);
  });

  it.each([
    [() => mixChoice([]), 'mixChoice: choices must be a non-empty array of {method, p, opts}, got []'],
    [() => mixChoice([{ method: 'mixup' as any, p: 1 }]), 'mixChoice: choices[0].method must be a function, got "mixup"'],
    [() => mixChoice([{ method: mixup, p: 1.5 }]), 'mixChoice: choices[0].p must be in [0, 1], got 1.5'],
    [() => mixChoice([{ method: mixup, p: 0.7 }, { method: cutmix, p: 0.7 }]), 'mixChoice: choices must have probabilities summing to <= 1, got "sum 1.4"'],
    [() => mixChoice([{ method: mixup, p: 1 }], { alpha: 1 } as any), 'mixChoice: option "alpha" is unknown; known options: seed, numClasses, labelSmoothing, training'],
    [() => mixChoice([{ method: mixup, p: 1 }], { seed: NaN }), 'mixChoice: seed must be a finite number or an Rng, got NaN'],
  ])('rejects bad arguments with a clear message (%#)', (f, msg) => {
    expect(f).toThrow(msg);
  });

  it('checks the batch before picking', () => {
    const mix = mixChoice([{ method: mixup, p: 1 }], { numClasses: 2 });
    expect(() => mix({ x: tf.zeros([2, 2]) as any, y: tf.zeros([2], 'int32') as any })).toThrow('mixChoice: x must have rank 4');
  });
});
