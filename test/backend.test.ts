import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import '@tensorflow/tfjs-backend-wasm';
import { setupBackend, registerKernels, unregisterKernels, kernelsRegistered, KERNEL_NAMES, BACKENDS } from '../lib/backend';
import { Rng } from '../lib/core';

type Inputs = Record<string, [Float32Array, number[]]>;

function randn(rng: Rng, shape: number[], opts: { zeros?: number; ints?: number } = {}): Float32Array {
  const a = new Float32Array(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < a.length; i++) {
    a[i] = opts.ints ? rng.int(opts.ints) - Math.floor(opts.ints / 2) : rng.normal();
    if (opts.zeros && rng.next() < opts.zeros) a[i] = 0;
  }
  return a;
}

/** Runs a kernel on `backend` with our kernels (or the stock ones when `stock`), checking for leaks. */
async function runOn(backend: string, stock: boolean, kernel: string, inputs: Inputs, attrs: object, simd = true): Promise<Float32Array> {
  await tf.setBackend(backend);
  if (stock) unregisterKernels(backend); else await registerKernels(backend, { simd });
  const tensors0 = tf.memory().numTensors;
  const ids0 = tf.backend().numDataIds();
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, [v, s]] of Object.entries(inputs)) ts[k] = tf.tensor(v, s);
  const out = tf.engine().runKernel(kernel, ts as any, attrs as any) as tf.Tensor;
  const data = Float32Array.from(out.dataSync() as Float32Array);
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  expect(tf.memory().numTensors).toBe(tensors0);
  expect(tf.backend().numDataIds()).toBe(ids0);
  return data;
}

function relErr(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) return Infinity;
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-6);
}

const BES = ['cpu', 'wasm'];

beforeAll(async () => {
  tf.env().set('PROD', true);
  process.env.BATCHMIX_QUIET = '1';
  await tf.setBackend('wasm');
});

afterAll(() => { for (const be of BES) unregisterKernels(be); });

describe('setupBackend', () => {
  const saved = process.env.BATCHMIX_BACKEND;
  afterEach(() => { if (saved == null) delete process.env.BATCHMIX_BACKEND; else process.env.BATCHMIX_BACKEND = saved; });

  it('picks wasm when tfjs-node is not installed, and registers the kernels there', async () => {
    delete process.env.BATCHMIX_BACKEND;
    const info = await setupBackend();
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.kernels.every((n) => KERNEL_NAMES.includes(n))).toBe(true);
    expect(info.kernels).not.toContain('Conv2D'); // wasm's own (XNNPACK) is kept
    expect(info.kernels).toContain('Conv2DBackpropFilter');
    expect(kernelsRegistered('wasm')).toBe(true);
  });
  it('is idempotent', async () => {
    delete process.env.BATCHMIX_BACKEND;
    const a = await setupBackend();
    const k = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    const b = await setupBackend();
    expect(b).toEqual(a);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(k);
  });
  it('follows BATCHMIX_BACKEND and the backend option', async () => {
    process.env.BATCHMIX_BACKEND = 'cpu';
    expect((await setupBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await setupBackend({ backend: 'wasm' })).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
  it('names an unknown BATCHMIX_BACKEND in its error', async () => {
    process.env.BATCHMIX_BACKEND = 'gpu';
    await expect(setupBackend()).rejects.toThrow(
      `setupBackend: BATCHMIX_BACKEND must be one of ${BACKENDS.join(', ')}, got "gpu"`);
  });
  it('names a backend that is not installed in its error', async () => {
    process.env.BATCHMIX_BACKEND = 'tfjs-node';
    await expect(setupBackend()).rejects.toThrow(/setupBackend: BATCHMIX_BACKEND must name an installed backend that loads, got "tfjs-node"/);
    await expect(setupBackend({ backend: 'tfjs-node-gpu' })).rejects.toThrow(/setupBackend: backend .*got "tfjs-node-gpu"/);
  });
  it('logs its choice once, and not when quiet', async () => {
    jest.resetModules();
    const fresh = require('../lib/backend');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await fresh.setupBackend({ backend: 'cpu', quiet: true });
      expect(log).not.toHaveBeenCalled();
      await fresh.setupBackend({ backend: 'cpu', quiet: false });
      await fresh.setupBackend({ backend: 'wasm', quiet: false });
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0][0])).toMatch(/^batchmix: backend cpu/);
    } finally {
      log.mockRestore();
      fresh.unregisterKernels('cpu');
      fresh.unregisterKernels('wasm');
      await setupBackend({ backend: 'wasm' });
    }
  });
});

describe('registerKernels / unregisterKernels', () => {
  it('replaces the stock kernels and puts them back', async () => {
    unregisterKernels('cpu');
    const stock = tf.getKernel('MaxPoolGrad', 'cpu');
    await registerKernels('cpu');
    expect(tf.getKernel('MaxPoolGrad', 'cpu')).not.toBe(stock);
    unregisterKernels('cpu');
    expect(tf.getKernel('MaxPoolGrad', 'cpu')).toBe(stock);
    expect(kernelsRegistered('cpu')).toBe(false);
  });
  it('removes again a kernel the backend did not have', async () => {
    unregisterKernels('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    await registerKernels('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
  it('rejects other backends by name', async () => {
    await expect(async () => registerKernels('webgl')).rejects.toThrow(
      `registerKernels: backendName must be 'wasm' or 'cpu', got "webgl"`);
  });
});

// A random convolution: shapes, strides and paddings ('same', 'valid', a number, explicit pads).
const convArb = fc.record({
  b: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }),
  ci: fc.integer({ min: 1, max: 6 }), co: fc.integer({ min: 1, max: 6 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
  pad: fc.oneof(fc.constant('same'), fc.constant('valid'), fc.integer({ min: 0, max: 2 }),
    fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2))),
  // dy with 90% zeros takes the sparse SIMD kernels on wasm, with 30% the dense ones
  dyZeros: fc.constantFrom(0.3, 0.9), simd: fc.boolean(),
  seed: fc.nat(),
}).filter((c) => {
  const pt = typeof c.pad === 'object' ? c.pad[0] + c.pad[1] : typeof c.pad === 'number' ? 2 * c.pad : 0;
  const pl = typeof c.pad === 'object' ? c.pad[2] + c.pad[3] : typeof c.pad === 'number' ? 2 * c.pad : 0;
  return c.pad === 'same' || (c.h + pt >= c.kh && c.w + pl >= c.kw);
});

describe('convolution gradients match the stock cpu kernels', () => {
  it.each([
    ['Conv2DBackpropFilter'], ['Conv2DBackpropInput'],
  ])('%s on random shapes, strides and paddings, on cpu and wasm', async (kernel) => {
    await fc.assert(fc.asyncProperty(convArb, async (c) => {
      const rng = new Rng(c.seed);
      const pad = typeof c.pad === 'object' ? [[0, 0], [c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]], [0, 0]] : c.pad;
      const xShape = [c.b, c.h, c.w, c.ci], fShape = [c.kh, c.kw, c.ci, c.co], strides: [number, number] = [c.sh, c.sw];
      const info = tf.backend_util.computeConv2DInfo(xShape as any, fShape as any, strides, 1, pad as any);
      if (info.outHeight <= 0 || info.outWidth <= 0) return;
      const dy = randn(rng, info.outShape, { zeros: c.dyZeros });
      const [inputs, attrs] = kernel === 'Conv2DBackpropFilter'
        ? [{ x: [randn(rng, xShape, { zeros: 0.3 }), xShape], dy: [dy, info.outShape] } as Inputs,
          { strides, pad, dataFormat: 'NHWC', filterShape: fShape }]
        : [{ dy: [dy, info.outShape], filter: [randn(rng, fShape), fShape] } as Inputs,
          { strides, pad, dataFormat: 'NHWC', inputShape: xShape }];
      const ref = await runOn('cpu', true, kernel, inputs, attrs);
      for (const be of BES) expect(relErr(await runOn(be, false, kernel, inputs, attrs, c.simd), ref)).toBeLessThan(1e-4);
    }), { numRuns: 60, seed: 7 });
  });

  it.each([[0.85], [0.2]])('on the shapes of the small CNN (batch 2, %p of dy zero), SIMD and not', async (zeros) => {
    const rng = new Rng(3);
    for (const [xShape, fShape] of [[[2, 28, 28, 1], [3, 3, 1, 32]], [[2, 13, 13, 32], [3, 3, 32, 64]], [[2, 9, 9, 6], [3, 3, 6, 10]]]) {
      const info = tf.backend_util.computeConv2DInfo(xShape as any, fShape as any, 1, 1, 'valid');
      const dy = randn(rng, info.outShape, { zeros }), x = randn(rng, xShape, { zeros: 0.5 }), w = randn(rng, fShape);
      const fIn = { x: [x, xShape], dy: [dy, info.outShape] } as Inputs;
      const fAttrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: fShape };
      const iIn = { dy: [dy, info.outShape], filter: [w, fShape] } as Inputs;
      const iAttrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: xShape };
      const refF = await runOn('cpu', true, 'Conv2DBackpropFilter', fIn, fAttrs);
      const refI = await runOn('cpu', true, 'Conv2DBackpropInput', iIn, iAttrs);
      for (const [be, simd] of [['cpu', true], ['wasm', true], ['wasm', false]] as [string, boolean][]) {
        expect(relErr(await runOn(be, false, 'Conv2DBackpropFilter', fIn, fAttrs, simd), refF)).toBeLessThan(1e-4);
        expect(relErr(await runOn(be, false, 'Conv2DBackpropInput', iIn, iAttrs, simd), refI)).toBeLessThan(1e-4);
      }
    }
  });

  it('splits a large batch into chunks on wasm (dense paths) with the same result', async () => {
    // K·OH·OW per sample = 3·3·8 · 39·39 = 109512 floats: 8M-float chunks hold 76 samples, so 80 take two
    // (and 69 for the strided input gradient). Reference: our cpu kernels, checked against stock above.
    const rng = new Rng(53);
    const xShape = [80, 41, 41, 8], fShape = [3, 3, 8, 4];
    const info = tf.backend_util.computeConv2DInfo(xShape as any, fShape as any, 1, 1, 'valid');
    const x = randn(rng, xShape), dy = randn(rng, info.outShape), w = randn(rng, fShape);
    const fIn = { x: [x, xShape], dy: [dy, info.outShape] } as Inputs;
    const fAttrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: fShape };
    const refF = await runOn('cpu', false, 'Conv2DBackpropFilter', fIn, fAttrs);
    expect(relErr(await runOn('wasm', false, 'Conv2DBackpropFilter', fIn, fAttrs), refF)).toBeLessThan(1e-4);
    const xShape2 = [80, 81, 81, 8];
    const info2 = tf.backend_util.computeConv2DInfo(xShape2 as any, fShape as any, 2, 1, 'same');
    const iIn = { dy: [randn(rng, info2.outShape), info2.outShape], filter: [w, fShape] } as Inputs;
    const iAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: xShape2 };
    const refI = await runOn('cpu', false, 'Conv2DBackpropInput', iIn, iAttrs);
    expect(relErr(await runOn('wasm', false, 'Conv2DBackpropInput', iIn, iAttrs), refI)).toBeLessThan(1e-4);
  });

  it('handles an empty batch (zeros for the filter gradient, empty input gradient)', async () => {
    for (const be of BES) {
      const dw = await runOn(be, false, 'Conv2DBackpropFilter', { x: [new Float32Array(0), [0, 5, 5, 4]], dy: [new Float32Array(0), [0, 3, 3, 8]] },
        { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 4, 8] });
      expect(Array.from(dw)).toEqual(new Array(3 * 3 * 4 * 8).fill(0));
      const dx = await runOn(be, false, 'Conv2DBackpropInput', { dy: [new Float32Array(0), [0, 3, 3, 8]], filter: [new Float32Array(288).fill(1), [3, 3, 4, 8]] },
        { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [0, 5, 5, 4] });
      expect(dx.length).toBe(0);
    }
  });

  it('tf.grad of a strided convolution agrees between stock cpu and our kernels', async () => {
    const rng = new Rng(5);
    const x = randn(rng, [2, 9, 9, 3]), w = randn(rng, [3, 3, 3, 4]);
    const grads = async (be: string, stock: boolean) => {
      await tf.setBackend(be);
      if (stock) unregisterKernels(be); else await registerKernels(be);
      return tf.tidy(() => {
        const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, 2, 'same').square().sum();
        const [gx, gw] = tf.grads(f as any)([tf.tensor4d(x, [2, 9, 9, 3]), tf.tensor4d(w, [3, 3, 3, 4])]);
        return [Float32Array.from(gx.dataSync()), Float32Array.from(gw.dataSync())];
      });
    };
    const [rx, rw] = await grads('cpu', true);
    for (const be of BES) {
      const [gx, gw] = await grads(be, false);
      expect(relErr(gx, rx)).toBeLessThan(1e-4);
      expect(relErr(gw, rw)).toBeLessThan(1e-4);
    }
  });
});

/** avgPool's gradient from its definition: dy/n over the in-image cells of each window. */
function avgPoolGradDirect(dy: Float32Array, xShape: number[], filterSize: any, strides: any, pad: any): Float32Array {
  const c = tf.backend_util.computePool2DInfo(xShape as any, filterSize, strides, 1, pad);
  const [B, H, W, C] = xShape, dx = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++) for (let oh = 0; oh < c.outHeight; oh++) for (let ow = 0; ow < c.outWidth; ow++) {
    const cells: [number, number][] = [];
    for (let i = 0; i < c.filterHeight; i++) for (let j = 0; j < c.filterWidth; j++) {
      const h = oh * c.strideHeight - c.padInfo.top + i, w = ow * c.strideWidth - c.padInfo.left + j;
      if (h >= 0 && h < H && w >= 0 && w < W) cells.push([h, w]);
    }
    for (let ch = 0; ch < C; ch++) {
      const g = dy[((b * c.outHeight + oh) * c.outWidth + ow) * C + ch] / cells.length;
      for (const [h, w] of cells) dx[((b * H + h) * W + w) * C + ch] += g;
    }
  }
  return dx;
}

const poolArb = fc.record({
  b: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }),
  c: fc.constantFrom(1, 3, 4, 8, 9), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
  sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
  pad: fc.constantFrom('same', 'valid', 0, 1) as fc.Arbitrary<'same' | 'valid' | number>,
  kind: fc.constantFrom('normal', 'ties', 'negative'), simd: fc.boolean(), seed: fc.nat(),
}).filter((p) => p.pad === 'same' || (p.h + 2 * (p.pad === 'valid' ? 0 : p.pad) >= p.kh
  && p.w + 2 * (p.pad === 'valid' ? 0 : p.pad) >= p.kw && (p.pad === 'valid' || p.pad < Math.min(p.kh, p.kw))));

// The forward max pool runs on cpu: stock wasm MaxPool writes out of bounds for some numeric pads
// (e.g. window [1,2], strides [2,1], pad 0), which corrupts the wasm heap.
async function poolInputs(p: any): Promise<{ x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[]; dy: Float32Array }> {
  await tf.setBackend('cpu');
  const rng = new Rng(p.seed);
  const xShape = [p.b, p.h, p.w, p.c];
  const x = p.kind === 'ties' ? randn(rng, xShape, { ints: 3 })
    : p.kind === 'negative' ? randn(rng, xShape).map((v) => -Math.abs(v) - 0.5) : randn(rng, xShape);
  const [y, yShape] = tf.tidy(() => {
    const t = tf.maxPool(tf.tensor4d(x, xShape as any), [p.kh, p.kw], [p.sh, p.sw], p.pad);
    return [Float32Array.from(t.dataSync()), t.shape] as [Float32Array, number[]];
  });
  return { x, xShape, y, yShape, dy: randn(rng, yShape) };
}

describe('pooling gradients', () => {
  it('MaxPoolGrad matches the stock cpu kernel (first maximum wins; ties; all-negative windows)', async () => {
    await fc.assert(fc.asyncProperty(poolArb, async (p) => {
      const { x, xShape, y, yShape, dy } = await poolInputs(p);
      if (yShape.some((d) => d <= 0)) return;
      const inputs = { dy: [dy, yShape], input: [x, xShape], output: [y, yShape] } as Inputs;
      const attrs = { filterSize: [p.kh, p.kw], strides: [p.sh, p.sw], pad: p.pad };
      const ref = await runOn('cpu', true, 'MaxPoolGrad', inputs, attrs);
      for (const be of BES) expect(relErr(await runOn(be, false, 'MaxPoolGrad', inputs, attrs, p.simd), ref)).toBeLessThan(1e-6);
    }), { numRuns: 60, seed: 11 });
  });

  it('MaxPool on cpu matches the stock kernel (ties, negative values, NaN)', async () => {
    await fc.assert(fc.asyncProperty(poolArb, fc.boolean(), async (p, withNaN) => {
      const { x, xShape, yShape } = await poolInputs(p);
      if (yShape.some((d) => d <= 0)) return;
      if (withNaN) for (let i = 0; i < x.length; i += 3) x[i] = NaN;
      const inputs = { x: [x, xShape] } as Inputs;
      const attrs = { filterSize: [p.kh, p.kw], strides: [p.sh, p.sw], pad: p.pad };
      const ref = await runOn('cpu', true, 'MaxPool', inputs, attrs);
      expect(Array.from(await runOn('cpu', false, 'MaxPool', inputs, attrs))).toEqual(Array.from(ref));
    }), { numRuns: 40, seed: 47 });
  });

  it('MaxPoolGrad passes each gradient to the first maximum of a window of ties', async () => {
    const x = new Float32Array([-2, -2, -2, -2]); // one 2x2 window, all equal and negative
    const inputs = { dy: [new Float32Array([5]), [1, 1, 1, 1]], input: [x, [1, 2, 2, 1]], output: [new Float32Array([-2]), [1, 1, 1, 1]] } as Inputs;
    for (const be of BES) {
      expect(Array.from(await runOn(be, false, 'MaxPoolGrad', inputs, { filterSize: 2, strides: 2, pad: 'valid' }))).toEqual([5, 0, 0, 0]);
    }
  });

  it('AvgPoolGrad matches the stock cpu kernel with valid padding and the formula with any padding', async () => {
    await fc.assert(fc.asyncProperty(poolArb, async (p) => {
      const { x, xShape, yShape, dy } = await poolInputs(p);
      if (yShape.some((d) => d <= 0)) return;
      const inputs = { dy: [dy, yShape], input: [x, xShape] } as Inputs;
      const attrs = { filterSize: [p.kh, p.kw], strides: [p.sh, p.sw], pad: p.pad };
      const direct = avgPoolGradDirect(dy, xShape, [p.kh, p.kw], [p.sh, p.sw], p.pad);
      if (p.pad === 'valid') expect(relErr(await runOn('cpu', true, 'AvgPoolGrad', inputs, attrs), direct)).toBeLessThan(1e-5);
      for (const be of BES) expect(relErr(await runOn(be, false, 'AvgPoolGrad', inputs, attrs), direct)).toBeLessThan(1e-5);
    }), { numRuns: 40, seed: 13 });
  });

  it('AvgPoolGrad is the gradient of the forward avgPool at same-padded borders', async () => {
    for (const be of BES) {
      await tf.setBackend(be);
      await registerKernels(be);
      const g = tf.tidy(() => Array.from(tf.grad((a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, 3, 2, 'same').sum())(tf.ones([1, 5, 5, 1]) as tf.Tensor4D).dataSync()));
      // x[0,0] lies only in the corner window, which holds 2x2 in-image cells: 1/4
      expect(g[0]).toBeCloseTo(0.25, 6);
    }
  });
});

describe('Conv2D (cpu) and Identity (wasm)', () => {
  it('Conv2D on cpu matches the stock kernel on random shapes, strides, dilations and paddings', async () => {
    await fc.assert(fc.asyncProperty(convArb, fc.constantFrom(1, 2), async (c, dil) => {
      const rng = new Rng(c.seed);
      const pad = typeof c.pad === 'object' ? [[0, 0], [c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]], [0, 0]] : c.pad;
      const xShape = [c.b, c.h, c.w, c.ci], fShape = [c.kh, c.kw, c.ci, c.co];
      const strides: [number, number] = dil > 1 ? [1, 1] : [c.sh, c.sw]; // TF.js: strides or dilations > 1, not both
      let info;
      try { info = tf.backend_util.computeConv2DInfo(xShape as any, fShape as any, strides, dil, pad as any); } catch { return; }
      if (info.outHeight <= 0 || info.outWidth <= 0) return;
      const inputs = { x: [randn(rng, xShape, { zeros: 0.3 }), xShape], filter: [randn(rng, fShape), fShape] } as Inputs;
      const attrs = { strides, pad, dataFormat: 'NHWC', dilations: dil };
      const ref = await runOn('cpu', true, 'Conv2D', inputs, attrs);
      expect(relErr(await runOn('cpu', false, 'Conv2D', inputs, attrs), ref)).toBeLessThan(1e-4);
    }), { numRuns: 40, seed: 19 });
  });
  it('Identity on wasm shares the data and frees it with the last tensor', async () => {
    await setupBackend({ backend: 'wasm', quiet: true });
    const ids0 = tf.backend().numDataIds();
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.engine().runKernel('Identity', { x: a }) as tf.Tensor;
    expect(tf.backend().numDataIds()).toBe(ids0 + 1);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(tf.backend().numDataIds()).toBe(ids0);
  });
});

describe('cpu element-wise kernels, Mean and FusedConv2D', () => {
  const shapes = fc.constantFrom<[number[], number[]]>(
    [[2, 3, 4, 5], [5]], [[2, 3, 4, 5], [1, 1, 1, 5]], [[2, 3, 4, 5], [2, 3, 4, 5]], [[5], [2, 3, 4, 5]],
    [[3, 4], []], [[], [3, 4]], [[2, 3, 4], [3, 4]], [[2, 3, 4], [3, 1]], [[2, 1, 4], [3, 1]], [[4, 1], [1, 4]]);
  it.each([['Add'], ['Sub'], ['Multiply'], ['RealDiv']])('%s matches the stock cpu kernel with and without broadcasting', async (kernel) => {
    await fc.assert(fc.asyncProperty(shapes, fc.boolean(), fc.nat(), async ([sa, sb], swap, seed) => {
      const rng = new Rng(seed);
      const [aShape, bShape] = swap ? [sb, sa] : [sa, sb];
      const inputs = { a: [randn(rng, aShape), aShape], b: [randn(rng, bShape).map((v) => v + 3), bShape] } as Inputs;
      const ref = await runOn('cpu', true, kernel, inputs, {});
      expect(Array.from(await runOn('cpu', false, kernel, inputs, {}))).toEqual(Array.from(ref));
    }), { numRuns: 25, seed: 31 });
  });
  it('Relu and Step match the stock cpu kernels, NaN included', async () => {
    const x = new Float32Array([-2, -0, 0, 0.5, 3, NaN, -Infinity, Infinity]);
    for (const [kernel, attrs] of [['Relu', {}], ['Step', { alpha: 0 }], ['Step', { alpha: 0.25 }]] as [string, object][]) {
      const inputs = { x: [x, [8]] } as Inputs;
      const ref = await runOn('cpu', true, kernel, inputs, attrs);
      expect(Array.from(await runOn('cpu', false, kernel, inputs, attrs))).toEqual(Array.from(ref));
    }
  });
  it('Mean matches the stock cpu kernel (bit for bit on cpu)', async () => {
    const rng = new Rng(37);
    for (const [shape, axis, keepDims] of [[[4, 5, 6, 8], [0, 1, 2], true], [[6, 3], 0, false], [[3, 4, 5], [1], false]] as [number[], number | number[], boolean][]) {
      const inputs = { x: [randn(rng, shape), shape] } as Inputs;
      const ref = await runOn('cpu', true, 'Mean', inputs, { axis, keepDims });
      expect(Array.from(await runOn('cpu', false, 'Mean', inputs, { axis, keepDims }))).toEqual(Array.from(ref));
      for (const simd of [true, false]) expect(relErr(await runOn('wasm', false, 'Mean', inputs, { axis, keepDims }, simd), ref)).toBeLessThan(1e-6);
    }
  });
  it('FusedConv2D matches the stock cpu kernel (bias, relu, linear, none)', async () => {
    const rng = new Rng(41);
    for (const [activation, withBias] of [['relu', true], ['linear', true], ['relu', false], ['elu', true]] as [string, boolean][]) {
      const xShape = [2, 7, 6, 3], fShape = [3, 3, 3, 4];
      const inputs = { x: [randn(rng, xShape), xShape], filter: [randn(rng, fShape), fShape] } as Inputs;
      if (withBias) inputs.bias = [randn(rng, [4]), [4]];
      const attrs = { strides: [2, 1], pad: 'same', dataFormat: 'NHWC', dilations: 1, activation, leakyreluAlpha: 0.2 };
      const ref = await runOn('cpu', true, 'FusedConv2D', inputs, attrs);
      expect(relErr(await runOn('cpu', false, 'FusedConv2D', inputs, attrs), ref)).toBeLessThan(1e-5);
    }
  });
});

describe('Tile', () => {
  it('matches the stock cpu kernel when repeating whole blocks, and for other tilings', async () => {
    const rng = new Rng(23);
    for (const [shape, reps] of [[[1, 1, 1, 5], [3, 4, 2, 1]], [[1, 7], [6, 1]], [[1, 1, 3, 2], [2, 3, 1, 1]],
      [[2, 3], [2, 2]], [[3, 1, 4], [1, 5, 1]], [[1, 1], [1, 1]]] as [number[], number[]][]) {
      const inputs = { x: [randn(rng, shape), shape] } as Inputs;
      const ref = await runOn('cpu', true, 'Tile', inputs, { reps });
      for (const be of BES) expect(Array.from(await runOn(be, false, 'Tile', inputs, { reps }))).toEqual(Array.from(ref));
    }
  });
  it('makes batch-norm gradients agree with the stock kernels', async () => {
    const rng = new Rng(29);
    const x = randn(rng, [4, 3, 3, 5]), scale = randn(rng, [5]);
    const grads = async (be: string, stock: boolean) => {
      await tf.setBackend(be);
      if (stock) unregisterKernels(be); else await registerKernels(be);
      return tf.tidy(() => {
        const f = (a: tf.Tensor4D, s: tf.Tensor1D) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.batchNorm(a, mean, variance, tf.zeros([5]) as tf.Tensor1D, s, 1e-3).square().sum();
        };
        return tf.grads(f as any)([tf.tensor4d(x, [4, 3, 3, 5]), tf.tensor1d(scale)]).map((g) => Float32Array.from(g.dataSync()));
      });
    };
    const [rx, rs] = await grads('cpu', true);
    for (const be of BES) {
      const [gx, gs] = await grads(be, false);
      expect(relErr(gx, rx)).toBeLessThan(1e-4);
      expect(relErr(gs, rs)).toBeLessThan(1e-4);
    }
  });
});

describe('Sum', () => {
  it('matches the stock cpu kernel over leading axes, with keepDims, and for other axes', async () => {
    const rng = new Rng(17);
    for (const [shape, axis, keepDims] of [[[4, 5, 6, 7], [0, 1, 2], false], [[64, 9, 9, 32], [0, 1, 2], false], [[128, 3], [0], true], [[3, 4, 5], [0, 2], false],
      [[6, 5], -1, false], [[2, 3, 4], [1, 0], true]] as [number[], number | number[], boolean][]) {
      const inputs = { x: [randn(rng, shape), shape] } as Inputs;
      const ref = await runOn('cpu', true, 'Sum', inputs, { axis, keepDims });
      for (const [be, simd] of [['cpu', true], ['wasm', true], ['wasm', false]] as [string, boolean][]) {
        const got = await runOn(be, false, 'Sum', inputs, { axis, keepDims }, simd);
        // leading axes in order: our kernel, the same float64 sums in the same order as stock cpu
        if (Array.isArray(axis) && axis.length === shape.length - 1 && axis.every((a, i) => a === i)) expect(Array.from(got)).toEqual(Array.from(ref));
        else expect(relErr(got, ref)).toBeLessThan(1e-6);
      }
    }
  });
});

function smallCnn(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', padding: 'same', strides: 2 }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 3 }));
  return m;
}

describe('whole-model gradients', () => {
  it('of a small CNN and a residual block with batch norm match the stock cpu kernels', async () => {
    const build = () => {
      const inp = tf.input({ shape: [14, 14, 2] }); // even sizes: the avg pool needs no padding (where stock AvgPoolGrad is wrong)
      let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(inp) as tf.SymbolicTensor;
      x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
      let y = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
      y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
      y = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add().apply([y, x]) as tf.SymbolicTensor) as tf.SymbolicTensor;
      y = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(y) as tf.SymbolicTensor;
      y = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(y) as tf.SymbolicTensor;
      y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(y) as tf.SymbolicTensor;
      return tf.model({ inputs: inp, outputs: out });
    };
    const rng = new Rng(43);
    const xData = randn(rng, [4, 14, 14, 2]);
    const grads = async (be: string, stock: boolean, simd = true) => {
      await tf.setBackend(be);
      if (stock) unregisterKernels(be); else await registerKernels(be, { simd });
      const model = build();
      const x = tf.tensor4d(xData, [4, 14, 14, 2]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3).toFloat());
      const vars = model.trainableWeights.map((w) => (w as any).val as tf.Variable);
      const { grads: g, value } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
      const out = vars.map((v) => Float32Array.from(g[v.name].dataSync()));
      tf.dispose([x, y, value, ...Object.values(g)]);
      model.dispose();
      return out;
    };
    const ref = await grads('cpu', true);
    expect(ref.length).toBe(9);
    for (const [be, simd] of [['cpu', true], ['wasm', true], ['wasm', false]] as [string, boolean][]) {
      const got = await grads(be, false, simd);
      got.forEach((g, i) => expect(relErr(g, ref[i])).toBeLessThan(1e-4));
    }
  });
});

describe('training', () => {
  it.each(BES)('a small convnet trains on %s without leaking tensors', async (be) => {
    await setupBackend({ backend: be as any, quiet: true });
    tf.setBackend(be);
    const model = smallCnn();
    const opt = tf.train.adam(0.01);
    const x = tf.randomNormal([16, 12, 12, 1], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 3), 'int32'), 3).toFloat());
    const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true) as tf.Scalar;
    step().dispose();
    const tensors0 = tf.memory().numTensors, ids0 = tf.backend().numDataIds();
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) { const l = step(); losses.push(l.dataSync()[0]); l.dispose(); }
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(tf.backend().numDataIds()).toBe(ids0);
    expect(losses[14]).toBeLessThan(losses[0] * 0.7);
    tf.dispose([x, y]); model.dispose(); opt.dispose();
  });
});
