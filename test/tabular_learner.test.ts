import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { softCrossEntropy } from '../lib/learner';
import { tabularMixup } from '../lib/tabular';
import { fitPreprocessor, Prepared, tableFromRows } from '../lib/tabular_data';
import {
  balancedClassWeights, compareTabular, compareTabularHelp, daeLoss, parseCompareTabularArgs, evaluateTabular, layoutOf, pack, packedMethod,
  packRows, TabularEmbedding, tabularClassifier, tabularDae, tabularLoader, trainTabular, unpack, weightedSoftCrossEntropy,
} from '../lib/tabular_learner';

beforeAll(async () => { await tf.setBackend('cpu'); });

function prepared(n: number, seed: number): Prepared {
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, () => ({ a: rng.normal(), b: rng.int(3) === 0 ? null : rng.uniform(0, 5), k: 'abcd'[rng.int(4)], m: 'xy'[rng.int(2)], t: String(rng.int(3)) }));
  const t = tableFromRows(rows, { columns: { a: 'continuous', b: 'continuous', k: 'categorical', m: 'categorical' }, target: 't' });
  return fitPreprocessor(t).transform(t);
}

/** A table where the class is the categorical column `k` (learnable), plus noise columns. */
function learnableRows(n: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => { const k = rng.int(3); return { noise: rng.normal(), k: `level${k}`, z: 'pq'[rng.int(2)], t: `c${k}` }; });
}

describe('packing', () => {
  it('packs continuous columns then codes, and unpack/pack invert each other', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
      const p = prepared(n, seed);
      const x = packRows(p);
      const D = p.contNames.length + p.catNames.length;
      expect(x.length).toBe(n * D);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p.contNames.length; j++) expect(x[i * D + j]).toBe(p.cont[i * p.contNames.length + j]);
        for (let j = 0; j < p.catNames.length; j++) expect(x[i * D + p.contNames.length + j]).toBe(p.cat[i * p.catNames.length + j]);
      }
      const before = tf.memory().numTensors;
      const xt = tf.tensor2d(x, [n, D]);
      const parts = unpack(xt, layoutOf(p));
      expect(parts.cat!.dtype).toBe('int32');
      expect(Array.from(parts.cat!.dataSync())).toEqual(Array.from(p.cat));
      const back = pack(parts);
      expect(Array.from(back.dataSync())).toEqual(Array.from(x));
      tf.dispose([xt, parts.cont!, parts.cat!, back]);
      expect(tf.memory().numTensors).toBe(before);
    }), { numRuns: 30 });
  });

  it('packedMethod gives what the method gives on the unpacked batch', () => {
    const p = prepared(20, 1);
    const layout = layoutOf(p), D = p.contNames.length + p.catNames.length;
    const x = tf.tensor2d(packRows(p), [20, D]);
    const y = tf.tensor1d(p.y!, 'int32');
    const before = tf.memory().numTensors;
    const viaPack = packedMethod(tabularMixup, layout)({ x, y }, { numClasses: 3, seed: 5, alpha: 1 });
    expect(tf.memory().numTensors).toBe(before + 2);
    const parts = unpack(x, layout);
    const direct = tabularMixup({ ...parts, y }, { numClasses: 3, seed: 5, alpha: 1 });
    const directPacked = pack(direct);
    expect(Array.from(viaPack.x.dataSync())).toEqual(Array.from(directPacked.dataSync()));
    expect(Array.from(viaPack.y.dataSync())).toEqual(Array.from(direct.y.dataSync()));
    expect(Array.from(viaPack.weights)).toEqual(Array.from(direct.weights));
    tf.dispose([x, y, viaPack.x, viaPack.y, parts.cont!, parts.cat!, direct.cont!, direct.cat!, direct.y, directPacked]);
  });

  it('the loader visits every row once per epoch, reshuffled by epoch, the same for the same seed', async () => {
    const n = 37, D = 2;
    const x = Float32Array.from({ length: n * D }, (_, i) => i);
    const y = Int32Array.from({ length: n }, (_, i) => i % 3);
    const loader = tabularLoader(x, y, { batchSize: 8, seed: 4 });
    expect(loader.length).toBe(5);
    const orders: number[][] = [];
    for (const epoch of [0, 1, 0]) {
      const seen: number[] = [];
      for await (const b of loader.batches(epoch)) {
        const v = b.x.dataSync();
        for (let r = 0; r < b.x.shape[0]; r++) { seen.push(v[r * D] / D); expect(b.y.dataSync()[r]).toBe((v[r * D] / D) % 3); }
        tf.dispose([b.x, b.y]);
      }
      expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      orders.push(seen);
    }
    expect(orders[0]).toEqual(orders[2]);
    expect(orders[0]).not.toEqual(orders[1]);
  });
});

describe('models and losses', () => {
  it('TabularEmbedding returns the continuous columns then each code\'s embedding row', () => {
    const layer = new TabularEmbedding({ dCont: 1, cardinalities: [3, 2], dims: [2, 1], seed: 0 });
    const x = tf.tensor2d([[0.5, 2, 1], [-1, 0, 0]]);
    const out = layer.apply(x) as tf.Tensor2D;
    const [t0, t1] = layer.getWeights().map((w) => w.arraySync() as number[][]);
    const o = out.arraySync();
    expect(o[0]).toEqual([0.5, ...t0[2], ...t1[1]].map(Math.fround));
    expect(o[1]).toEqual([-1, ...t0[0], ...t1[0]].map(Math.fround));
    tf.dispose([x, out]);
    layer.dispose();
  });

  it('daeLoss is MSE over continuous columns plus each categorical column\'s cross-entropy, averaged over columns', () => {
    const layout = { contNames: ['a'], catNames: ['k'], cardinalities: [3] };
    const out = tf.tensor2d([[1.5, 0, 1, 2], [0, 2, 0, 0]]);
    const clean = tf.tensor2d([[1, 2], [1, 0]]);
    const loss = daeLoss(layout)(out, clean).arraySync() as number;
    const lse = (v: number[]) => Math.log(v.reduce((s, z) => s + Math.exp(z), 0));
    const mse = ((1.5 - 1) ** 2 + (0 - 1) ** 2) / 2;
    const ce = ((lse([0, 1, 2]) - 2) + (lse([2, 0, 0]) - 2)) / 2;
    expect(loss).toBeCloseTo((mse + ce) / 2, 5);
    tf.dispose([out, clean]);
  });

  it('weighted soft cross-entropy equals the Learner\'s with equal weights, and balanced weights are n / (C·n_c)', () => {
    const w = balancedClassWeights(Int32Array.of(0, 0, 0, 1), 3);
    expect(Array.from(w)).toEqual([4 / 9, 4 / 3, 0].map(Math.fround));
    const logits = tf.tensor2d([[1, 2, 0], [0.5, -1, 3]]), y = tf.tensor2d([[0.3, 0.7, 0], [0, 0, 1]]);
    const a = weightedSoftCrossEntropy(new Float32Array([1, 1, 1]))(logits, y).arraySync() as number;
    const b = softCrossEntropy(logits, y).arraySync() as number;
    expect(a).toBeCloseTo(b, 6);
    const c = weightedSoftCrossEntropy(new Float32Array([1, 0, 0]))(logits, tf.tensor1d([0, 2], 'int32')).arraySync() as number;
    expect(c).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + 1) - 1, 5);
    tf.dispose([logits, y]);
  });

  it('the classifier and the DAE have the shapes their layouts ask for, and do not leak', () => {
    const p = prepared(16, 2);
    const layout = layoutOf(p), D = p.contNames.length + p.catNames.length;
    const model = tabularClassifier(layout, 3, { hidden: [8] });
    const dae = tabularDae(layout, { hidden: [8, 8] });
    const x = tf.tensor2d(packRows(p), [16, D]);
    const before = tf.memory().numTensors;
    const logits = model.predict(x) as tf.Tensor;
    const rec = dae.model.predict(x) as tf.Tensor, feats = dae.features.predict(x) as tf.Tensor;
    expect(logits.shape).toEqual([16, 3]);
    expect(rec.shape).toEqual([16, p.contNames.length + layout.cardinalities.reduce((s, c) => s + c, 0)]);
    expect(feats.shape).toEqual([16, 16]);
    tf.dispose([logits, rec, feats]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x); model.dispose(); dae.model.dispose();
  });

  it('balanced accuracy is the mean recall over the classes present', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) })] });
    model.layers[0].setWeights([tf.zeros([2, 3]), tf.tensor1d([1, 0, 0])]);
    const m = evaluateTabular(model, new Float32Array(8), Int32Array.of(0, 0, 0, 1), 3);
    expect(m.accuracy).toBe(0.75);
    expect(m.balancedAccuracy).toBe(0.5);
    expect(m.confusion).toEqual([[3, 0, 0], [1, 0, 0], [0, 0, 0]]);
    model.dispose();
  });
});

describe('trainTabular and compareTabular', () => {
  it('learn a class that a categorical column determines, baseline and DAE alike', async () => {
    const table = tableFromRows(learnableRows(600, 3), { columns: { noise: 'continuous', k: 'categorical', z: 'categorical' }, target: 't' });
    const before = tf.memory().numTensors;
    const base = await trainTabular('baseline', 0, { table, epochs: 6, batchSize: 64, lr: 1e-2 });
    expect(base.accuracy).toBeGreaterThan(0.95);
    expect(base.balancedAccuracy).toBeGreaterThan(0.95);
    const dae = await trainTabular('dae', 0, { table, epochs: 6, daeEpochs: 3, batchSize: 64, lr: 1e-2 });
    expect(dae.balancedAccuracy).toBeGreaterThan(0.9);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('report mean ± sd per method in the image compare job\'s format, and reject unknown methods', async () => {
    const table = tableFromRows(learnableRows(200, 1), { columns: { noise: 'continuous', k: 'categorical', z: 'categorical' }, target: 't' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabular-report-'));
    const res = await compareTabular({ table, methods: ['baseline', 'swap-0.1', 'cutmix'], seeds: [0, 1], epochs: 2, batchSize: 64, backend: 'cpu', outDir: dir });
    expect(res.runs.length).toBe(6);
    expect(res.rows.map((r) => [r.method, r.n])).toEqual([['baseline', 2], ['swap-0.1', 2], ['cutmix', 2]]);
    for (const r of res.runs) {
      expect(r.history.length).toBe(2);
      expect(r.accuracy).toBe(r.history[1].accuracy);
      expect(r.accuracy).toBeGreaterThanOrEqual(0); expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    const accs = res.runs.filter((r) => r.method === 'cutmix').map((r) => r.accuracy);
    const mean = (accs[0] + accs[1]) / 2, sd = Math.abs(accs[0] - accs[1]) / Math.sqrt(2);
    expect(res.rows[2].metrics.accuracy[0]).toBeCloseTo(mean, 10);
    expect(res.rows[2].metrics.accuracy[1]).toBeCloseTo(sd, 10);
    expect(res.table.split('\n')[0]).toMatch(/^method\s+accuracy %\s+balanced accuracy %\s+Δ accuracy/);
    const md = fs.readFileSync(res.markdown!, 'utf8');
    expect(md).toContain('| method | accuracy % | balanced accuracy % | Δ accuracy |');
    expect(md).toContain('| tabular CutMix p=0.1 |');
    await expect(compareTabular({ table, methods: ['dropout'] })).rejects.toThrow('compareTabular: methods[0] must be one of "baseline" | "swap-0.1" | "swap-0.15" | "mixup" | "cutmix" | "gaussian" | "dae", got "dropout"');
  });

  it('parse the command line\'s flags, with clear errors', () => {
    expect(parseCompareTabularArgs(['--seeds', '0,1', '--methods=baseline,mixup', '--epochs', '3', '--lr=0.01', '--out', 'r', '--quiet']))
      .toEqual({ seeds: [0, 1], methods: ['baseline', 'mixup'], epochs: 3, lr: 0.01, outDir: 'r', quiet: true });
    expect(parseCompareTabularArgs(['-h']).help).toBe(true);
    expect(compareTabularHelp()).toContain('--dae-epochs');
    expect(() => parseCompareTabularArgs(['--epoch', '3'])).toThrow('batchmix compare-tabular: --epoch is not an option (did you mean --epochs?); see --help, got "--epoch"');
    expect(() => parseCompareTabularArgs(['--seeds', 'a,b'])).toThrow('batchmix compare-tabular: --seeds must be comma-separated integers >= 0, got "a,b"');
    expect(() => parseCompareTabularArgs(['--epochs'])).toThrow('batchmix compare-tabular: --epochs needs a value, got "nothing"');
    expect(() => parseCompareTabularArgs(['--normalize', 'minmax'])).toThrow('batchmix compare-tabular: --normalize must be one of "standard" | "rankgauss", got "minmax"');
  });
});
