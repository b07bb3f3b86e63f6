import * as tf from '@tensorflow/tfjs';
import { simpleCnn, xresnet, makeModel, modelMacs, BatchNorm } from '../lib/models';

beforeAll(async () => { tf.env().set('PROD', true); await tf.setBackend('cpu'); });

describe('models', () => {
  it('map NHWC images to logits of the right shape', () => {
    const cnn = simpleCnn({ inputShape: [12, 12, 1], numClasses: 7, width: 4 });
    const res = xresnet({ inputShape: [16, 16, 3], numClasses: 5, width: 4, layers: [1, 1] });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      expect((cnn.predict(tf.zeros([2, 12, 12, 1])) as tf.Tensor).shape).toEqual([2, 7]);
      expect((res.predict(tf.zeros([3, 16, 16, 3])) as tf.Tensor).shape).toEqual([3, 5]);
    });
    expect(tf.memory().numTensors).toBe(before);
    cnn.dispose(); res.dispose();
  });
  it('start from the same weights for the same seed, other weights for another', () => {
    const w = (seed: number) => Array.from(simpleCnn({ inputShape: [8, 8, 1], numClasses: 3, width: 4, seed }).getWeights()[0].dataSync());
    expect(w(5)).toEqual(w(5));
    expect(w(5)).not.toEqual(w(6));
  });
  it('counts xresnet18 layers: 3 stem + 16 block convolutions + 3 shortcut convolutions + 1 dense', () => {
    const res = xresnet({ inputShape: [64, 64, 3], numClasses: 10, width: 8 });
    const n = res.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName())).length;
    expect(n).toBe(23);
    expect(modelMacs(res)).toBeGreaterThan(0);
    res.dispose();
  });
  it('builds models by name and rejects unknown names', () => {
    const m = makeModel('resnet10:8', { inputShape: [16, 16, 3], numClasses: 3 });
    expect(m.layers.filter((l) => l.getClassName() === 'Conv2D').length).toBe(3 + 8 + 3);
    m.dispose();
    expect(() => makeModel('vgg', { inputShape: [8, 8, 1], numClasses: 3 })).toThrow('makeModel: spec must name one of cnn | resnet | resnet10 (optionally ":width"), got "vgg"');
    expect(() => makeModel('cnn:0', { inputShape: [8, 8, 1], numClasses: 3 })).toThrow('makeModel: width must be an integer >= 1, got 0');
    expect(() => simpleCnn({ inputShape: [8, 8] as unknown as [number, number, number], numClasses: 3 })).toThrow(/^simpleCnn: inputShape must be \[height, width, channels\]/);
  });
});

describe('BatchNorm', () => {
  it('matches tf.layers.batchNormalization forward and backward in training mode, and in inference', () => {
    const x = tf.randomNormal([4, 5, 5, 3], 1, 2, 'float32', 1);
    const dyW = tf.randomNormal([4, 5, 5, 3], 0, 1, 'float32', 2);
    const ours = new BatchNorm({ momentum: 0.9, epsilon: 1e-5 });
    const ref = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });
    ours.apply(x); ref.apply(x);
    const gamma = tf.tensor1d([0.5, 2, -1]), beta = tf.tensor1d([0.1, 0, -0.3]);
    for (const l of [ours, ref]) l.setWeights([gamma, beta, tf.zeros([3]), tf.ones([3])]);
    const run = (layer: tf.layers.Layer) => {
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const f = (xIn: tf.Tensor) => tf.sum(tf.mul(layer.apply(xIn, { training: true }) as tf.Tensor, dyW)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(() => f(x), vars);
      const dx = tf.grad(f)(x);
      return { y: value.dataSync()[0], grads: vars.map((v) => Array.from(grads[v.name].dataSync())), dx: Array.from(dx.dataSync()) };
    };
    const a = run(ours), b = run(ref);
    expect(a.y).toBeCloseTo(b.y, 3);
    a.grads.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(b.grads[i][j], 3)));
    a.dx.forEach((v, i) => expect(v).toBeCloseTo(b.dx[i], 3));
    // the moving statistics moved the same way (three training calls each)
    const mo = ours.getWeights().slice(2).map((t) => Array.from(t.dataSync()));
    const mr = ref.getWeights().slice(2).map((t) => Array.from(t.dataSync()));
    mo.forEach((v, i) => v.forEach((u, j) => expect(u).toBeCloseTo(mr[i][j], 4)));
    const yi = (ours.apply(x, { training: false }) as tf.Tensor).dataSync();
    const ri = (ref.apply(x, { training: false }) as tf.Tensor).dataSync();
    yi.forEach((v, i) => expect(v).toBeCloseTo(ri[i], 4));
  });
  it('rejects a bad momentum', () => {
    expect(() => new BatchNorm({ momentum: 1 })).toThrow('BatchNorm: momentum must be in [0, 1), got 1');
  });
});
