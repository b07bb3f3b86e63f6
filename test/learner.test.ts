import * as tf from '@tensorflow/tfjs';
import {
  Learner, MixCallback, Recorder, softCrossEntropy, oneCycle, mixDataset, progressLine, formatDuration,
  Callback, Loader,
} from '../lib/learner';
import { simpleCnn } from '../lib/models';
import { mixup } from '../lib/mixup';
import { Rng } from '../lib/core';
import type { Batch } from '../lib/plan';
import { arrayLoader } from '../lib/data';

process.env.BATCHMIX_QUIET = '1';
beforeAll(async () => { tf.env().set('PROD', true); await tf.setBackend('cpu'); });

/** A toy dataset: class c (of 4) lights up quadrant c of an 8×8 image, plus noise. */
function toy(n: number, seed: number, size = 8) {
  const r = new Rng(seed);
  const x = new Float32Array(n * size * size), y = new Int32Array(n);
  const h = size / 2;
  for (let i = 0; i < n; i++) {
    const c = r.int(4); y[i] = c;
    const oy = (c >> 1) * h, ox = (c & 1) * h;
    for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) {
      x[i * size * size + a * size + b] = 0.3 * r.normal() + (a >= oy && a < oy + h && b >= ox && b < ox + h ? 1 : 0);
    }
  }
  return { x, y, n, size };
}

/** A loader that yields fresh tensors each epoch, in a fixed order. */
function loader(d: ReturnType<typeof toy>, bs: number): Loader & { yielded: number } {
  const nb = Math.ceil(d.n / bs), s2 = d.size * d.size;
  const l = {
    length: nb, yielded: 0,
    *[Symbol.iterator]() {
      for (let i = 0; i < nb; i++) {
        const a = i * bs, b = Math.min(d.n, a + bs);
        l.yielded++;
        yield { x: tf.tensor4d(d.x.slice(a * s2, b * s2), [b - a, d.size, d.size, 1]), y: tf.tensor1d(d.y.slice(a, b), 'int32') } as Batch;
      }
    },
  };
  return l;
}

const tinyModel = (seed = 0) => simpleCnn({ inputShape: [8, 8, 1], numClasses: 4, width: 4, seed });

describe('softCrossEntropy', () => {
  it('matches a hand computation on soft labels', () => {
    const logits = [[2, 0, 1], [0, 0, 0], [10, -10, 3]];
    const y = [[0.5, 0.5, 0], [0, 0, 1], [0.2, 0.3, 0.5]];
    const expected = logits.map((z, i) => {
      const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
      return -y[i].reduce((s, w, c) => s + w * (z[c] - lse), 0);
    }).reduce((a, b) => a + b) / 3;
    const before = tf.memory().numTensors;
    const l = tf.tensor2d(logits), t = tf.tensor2d(y);
    const loss = softCrossEntropy(l, t);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([l, t, loss]);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('one-hot encodes integer labels', () => {
    const l = tf.tensor2d([[1, 2, 3], [3, 2, 1]]);
    const a = softCrossEntropy(l, tf.tensor1d([2, 0], 'int32')).dataSync()[0];
    const b = softCrossEntropy(l, tf.tensor2d([[0, 0, 1], [1, 0, 0]])).dataSync()[0];
    expect(a).toBeCloseTo(b, 6);
    expect(a).toBeCloseTo(-(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3))), 5);
  });
  it('stays finite for huge logits', () => {
    const v = softCrossEntropy(tf.tensor2d([[1000, -1000]]), tf.tensor2d([[0, 1]])).dataSync()[0];
    expect(v).toBeCloseTo(2000, 0);
  });
  it('rejects labels of the wrong shape with a clear message', () => {
    expect(() => softCrossEntropy(tf.zeros([2, 3]), tf.zeros([3, 3]))).toThrow(/softCrossEntropy: y must have the batch size of logits \(2\), got "batch size 3"/);
    expect(() => softCrossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/softCrossEntropy: y must have 3 columns/);
  });
});

describe('oneCycle', () => {
  const total = 1000, lrMax = 0.01;
  const lrs = Array.from({ length: total }, (_, i) => oneCycle(i, total, { lrMax }));
  it('starts at lrMax/25, peaks at lrMax after 25% of the steps, ends near lrMax/1e5', () => {
    expect(lrs[0]).toBeCloseTo(lrMax / 25, 10);
    expect(lrs[250]).toBeCloseTo(lrMax, 10);
    expect(Math.max(...lrs)).toBeCloseTo(lrMax, 10);
    expect(lrs[total - 1]).toBeLessThan(lrMax / 1000);
    expect(oneCycle(total, total, { lrMax })).toBeCloseTo(lrMax / 1e5, 12);
  });
  it('rises monotonically, then falls monotonically, along half-cosines', () => {
    for (let i = 1; i <= 250; i++) expect(lrs[i]).toBeGreaterThanOrEqual(lrs[i - 1]);
    for (let i = 251; i < total; i++) expect(lrs[i]).toBeLessThanOrEqual(lrs[i - 1]);
    // halfway through the warm-up the cosine is at the midpoint of start and peak
    expect(lrs[125]).toBeCloseTo((lrMax / 25 + lrMax) / 2, 10);
    // halfway through the annealing, the midpoint of peak and end
    expect(oneCycle(625, total, { lrMax })).toBeCloseTo((lrMax + lrMax / 1e5) / 2, 10);
  });
  it('rejects a bad lrMax', () => {
    expect(() => oneCycle(0, 10, { lrMax: -1 })).toThrow('oneCycle: lrMax must be a finite number > 0, got -1');
  });
});

describe('Learner', () => {
  it('trains a small CNN to separate the toy classes', async () => {
    const model = tinyModel();
    const learn = new Learner({ model, train: loader(toy(256, 1), 32), valid: loader(toy(64, 2), 32), lr: 1e-2 });
    const h = await learn.fit(3);
    expect(h.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(h[2].accuracy).toBeGreaterThan(0.9);
    expect(h[2].trainLoss).toBeLessThan(h[0].trainLoss);
    expect(h[0].top5).toBeUndefined(); // 4 classes: no top-5
    expect(learn.batchLosses).toHaveLength(24);
    model.dispose();
  });

  it('trains from a data DataLoader, calling batches(epoch) once per epoch', async () => {
    const d = toy(64, 4);
    const dl = arrayLoader({ x: d.x, y: d.y }, { imageShape: [8, 8, 1], batchSize: 16, shuffle: true, seed: 1, numClasses: 4 });
    const epochs: number[] = [];
    const orig = dl.batches.bind(dl);
    (dl as { batches: typeof dl.batches }).batches = (e?: number) => { epochs.push(e ?? 0); return orig(e); };
    const model = tinyModel();
    const learn = new Learner({ model, train: dl, valid: dl, lr: 1e-3 });
    await learn.fit(2);
    expect(epochs.filter((_, i) => i % 2 === 0)).toEqual([0, 1]); // training calls, each followed by validation
    expect(learn.batchLosses).toHaveLength(8);
    model.dispose();
  });

  it('feeds the model the batch a callback returns', async () => {
    const model = tinyModel(3);
    const d = toy(8, 5);
    const replacement = { x: tf.tensor4d(toy(8, 99).x, [8, 8, 8, 1]), y: tf.tensor1d([3, 3, 3, 3, 3, 3, 3, 3], 'int32') };
    // The loss of the replacement batch under the initial weights (batch norm in training mode).
    const expected = tf.tidy(() => softCrossEntropy(model.apply(replacement.x, { training: true }) as tf.Tensor, replacement.y).dataSync()[0]);
    const originalLoss = tf.tidy(() => {
      const x = tf.tensor4d(d.x, [8, 8, 8, 1]);
      return softCrossEntropy(model.apply(x, { training: true }) as tf.Tensor, tf.tensor1d(d.y, 'int32')).dataSync()[0];
    });
    const seen: number[] = [];
    const swap: Callback = { beforeBatch: () => replacement };
    const spy: Callback = { order: 5, afterLoss: (l) => { seen.push(l.loss); expect(l.batch!.x).toBe(replacement.x); } };
    const learn = new Learner({ model, train: loader(d, 8), lr: 1e-3, callbacks: [swap, spy] });
    await learn.fit(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeCloseTo(expected, 4);
    expect(Math.abs(seen[0] - originalLoss)).toBeGreaterThan(1e-3);
    // the learner owns what callbacks return: it disposed the replacement after the step
    expect(replacement.x.isDisposed).toBe(true);
    model.dispose();
  });

  it('runs MixCallback in training only; validation sees the loader batches as they are', async () => {
    const calls: boolean[] = [];
    const method = (batch: Batch, opts: Record<string, unknown>) => {
      calls.push(true);
      return mixup(batch, opts);
    };
    const model = tinyModel();
    const train = loader(toy(96, 1), 32), valid = loader(toy(64, 2), 32);
    const mix = new MixCallback(method, { alpha: 1, seed: 1 });
    const learn = new Learner({ model, train, valid, lr: 1e-2, callbacks: [mix] });
    const h = await learn.fit(2);
    expect(calls).toHaveLength(2 * 3); // 3 training batches per epoch, none of the 2 validation ones
    expect(mix.last?.k).toBe(2);
    // validation accuracy is the plain accuracy of the model on the unmixed validation data
    const d = toy(64, 2);
    const acc = tf.tidy(() => {
      const logits = model.apply(tf.tensor4d(d.x, [64, 8, 8, 1]), { training: false }) as tf.Tensor;
      const pred = logits.argMax(1).dataSync();
      return Array.from(pred).reduce((s: number, p: number, i: number) => s + (p === d.y[i] ? 1 : 0), 0) / 64;
    });
    expect(h[1].accuracy).toBeCloseTo(acc, 6);
    model.dispose();
  });

  it('runs afterFit after an error, restoring what beforeFit changed', async () => {
    const model = tinyModel();
    const original = softCrossEntropy;
    const swapLoss: Callback = {
      beforeFit: (l) => { l.lossFn = (a, b) => tf.mul(original(a, b), 2) as tf.Scalar; },
      afterFit: (l) => { l.lossFn = original; },
    };
    let sawError: unknown;
    const boom: Callback = { afterBatch: (l) => { if (l.iter === 2) throw new Error('boom'); }, afterFit: (_l, e) => { sawError = e; } };
    const before = tf.memory().numTensors;
    const learn = new Learner({ model, train: loader(toy(96, 1), 32), lr: 1e-3, callbacks: [swapLoss, boom] });
    await expect(learn.fit(2)).rejects.toThrow('boom');
    expect(learn.lossFn).toBe(original);
    expect((sawError as Error).message).toBe('boom');
    // the batches of the failed step were freed: only the optimizer's state remains
    const adamState = 2 * model.trainableWeights.length + 2;
    expect(tf.memory().numTensors - before).toBe(adamState);
    model.dispose();
  });

  it('stops after the current step on stop(), still running afterFit', async () => {
    const model = tinyModel();
    let fitDone = false;
    const stopper: Callback = { afterBatch: (l) => { if (l.step === 2) l.stop(); }, afterFit: () => { fitDone = true; } };
    const learn = new Learner({ model, train: loader(toy(128, 1), 32), lr: 1e-3, callbacks: [stopper] });
    await learn.fit(3);
    expect(learn.batchLosses).toHaveLength(2);
    expect(fitDone).toBe(true);
    model.dispose();
  });

  it('leaks no tensor across an epoch, with mixing', async () => {
    const model = tinyModel();
    const counts: number[] = [];
    const counter: Callback = { beforeEpoch: () => { counts.push(tf.memory().numTensors); } };
    const learn = new Learner({
      model, train: loader(toy(96, 1), 32), valid: loader(toy(32, 2), 16), lr: 1e-3,
      callbacks: [new MixCallback(mixup, { alpha: 0.4 }), counter, new Recorder()],
    });
    await learn.fit(3);
    const after = tf.memory().numTensors;
    // epoch 1 creates the optimizer's state; from then on the count does not move
    expect(counts[2]).toBe(counts[1]);
    expect(after).toBe(counts[1]);
    model.dispose();
  });

  it('records every epoch with Recorder', async () => {
    const model = tinyModel();
    const seen: number[] = [];
    const rec = new Recorder((r) => seen.push(r.epoch));
    const learn = new Learner({ model, train: loader(toy(64, 1), 32), valid: loader(toy(32, 2), 32), callbacks: [rec] });
    await learn.fit(2);
    expect(seen).toEqual([1, 2]);
    expect(rec.records).toEqual(learn.history);
    expect(rec.records[0].imagesPerSec).toBeGreaterThan(0);
    model.dispose();
  });

  it('reports top-5 accuracy with more than 5 classes', async () => {
    const model = simpleCnn({ inputShape: [8, 8, 1], numClasses: 10, width: 4 });
    const d = toy(32, 1);
    const learn = new Learner({ model, train: loader(d, 16), valid: loader(d, 16) });
    const h = await learn.fit(1);
    expect(h[0].top5).toBeGreaterThanOrEqual(h[0].accuracy);
    expect(h[0].top5).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('rejects bad arguments with clear messages', async () => {
    const model = tinyModel();
    const train = loader(toy(8, 1), 8);
    expect(() => new Learner({ model: {} as tf.LayersModel, train })).toThrow(/^Learner: model must be a tf.LayersModel/);
    expect(() => new Learner({ model, train: 5 as unknown as Loader })).toThrow('Learner: train must be a DataLoader or an iterable of batches {x, y}, got 5');
    expect(() => new Learner({ model, train, lr: 0 })).toThrow('Learner: lr must be a finite number > 0, got 0');
    await expect(new Learner({ model, train }).fit(0)).rejects.toThrow('Learner.fit: epochs must be an integer >= 1, got 0');
    await expect(new Learner({ model, train: [] as Batch[] }).fit(1)).rejects.toThrow('Learner.fit: train must have a length (batches per epoch) > 0, got 0');
    expect(() => new MixCallback(42 as unknown as typeof mixup)).toThrow('MixCallback: method must be a function (batch, opts) => {x, y}, got 42');
    model.dispose();
  });
});

describe('progress', () => {
  it('formats a line with the batch, loss, images/s and ETA', () => {
    const line = progressLine({ epoch: 2, epochs: 5, iter: 5, nIter: 10, loss: 0.51234, imagesPerSec: 850.4, etaSeconds: 69, done: false }, 10);
    expect(line).toBe('epoch 2/5 [#####-----] 5/10 loss 0.512 850 img/s ETA 1:09');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});

describe('mixDataset', () => {
  it('feeds model.fitDataset mixed batches with soft labels', async () => {
    const d = toy(64, 3);
    const xs = tf.tensor4d(d.x, [64, 8, 8, 1]), ys = tf.tensor1d(d.y, 'int32');
    const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) }).batch(16) as unknown as tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>;
    const mixed = mixDataset(ds, mixup, { alpha: 1, numClasses: 4, seed: 3 });
    // the batches it yields: mixed images and soft labels [B, 4] whose rows sum to 1
    const first = await (await mixed.iterator()).next();
    const { xs: mx, ys: my } = first.value as { xs: tf.Tensor; ys: tf.Tensor };
    expect(my.shape).toEqual([16, 4]);
    expect(Array.from(tf.tidy(() => my.sum(1)).dataSync()).every((s) => Math.abs(s - 1) < 1e-5)).toBe(true);
    expect(Array.from(my.dataSync()).some((v) => v > 0 && v < 1)).toBe(true);
    tf.dispose([mx, my]);

    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
    const before = tf.memory().numTensors;
    const h = await model.fitDataset(mixed, { epochs: 1, verbose: 0 });
    expect(h.history.loss).toHaveLength(1);
    expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    // a second epoch adds nothing: the map freed every input batch
    const mid = tf.memory().numTensors;
    await model.fitDataset(mixed, { epochs: 1, verbose: 0 });
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid).toBeGreaterThanOrEqual(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
  it('rejects what is not a dataset', () => {
    expect(() => mixDataset([] as unknown as tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>, mixup)).toThrow(/^mixDataset: ds must be a tf.data.Dataset/);
  });
});
