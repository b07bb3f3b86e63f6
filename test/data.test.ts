import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  arrayLoader, parseIdx, readIdx, fashionMnist, fashionMnistSubset, imageFolder, readImage, resizeBilinear, initResize, clearImageCache,
  jpegTurboAvailable, closeDecoders,
  FASHION_MNIST_CLASSES, IMAGENETTE_CLASSES, DataLoader, DataBatch,
} from '../lib/data';

async function collect(dl: DataLoader, epoch = 0): Promise<{ x: Float32Array[]; y: number[]; sizes: number[] }> {
  const out = { x: [] as Float32Array[], y: [] as number[], sizes: [] as number[] };
  for await (const b of dl.batches(epoch)) {
    const [n, ...rest] = b.x.shape;
    const per = rest.reduce((a, d) => a * d, 1);
    const v = b.x.dataSync() as Float32Array;
    for (let i = 0; i < n; i++) out.x.push(v.slice(i * per, (i + 1) * per));
    out.y.push(...Array.from(b.y.dataSync()));
    out.sizes.push(n);
    expect(b.x.dtype).toBe('float32');
    expect(b.y.dtype).toBe('int32');
    tf.dispose([b.x, b.y]);
  }
  return out;
}

function idxBytes(type: number, shape: number[], body: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = type; head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

describe('arrayLoader', () => {
  const n = 10, shape: [number, number, number] = [2, 2, 1];
  const x = new Uint8Array(n * 4).map((_, i) => i * 5);
  const y = Array.from({ length: n }, (_, i) => i % 3);

  it('yields every example exactly once per epoch, in batches of batchSize', async () => {
    const dl = arrayLoader({ x, y }, { imageShape: shape, batchSize: 4, shuffle: true, seed: 3 });
    expect([dl.length, dl.size, dl.numClasses]).toEqual([3, 10, 3]);
    const got = await collect(dl, 0);
    expect(got.sizes).toEqual([4, 4, 2]);
    const firsts = got.x.map((v) => Math.round(v[0] * 255 / 20)).sort((a, b) => a - b);
    expect(firsts).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    got.x.forEach((v, i) => expect(got.y[i]).toBe(y[Math.round(v[0] * 255 / 20)]));
  });

  it('shuffles by (seed, epoch): same seed and epoch same order, other epoch or seed another', async () => {
    const order = async (seed: number, epoch: number) =>
      (await collect(arrayLoader({ x, y }, { imageShape: shape, batchSize: 3, shuffle: true, seed }), epoch)).x.map((v) => Math.round(v[0] * 255 / 20)).join();
    expect(await order(1, 2)).toBe(await order(1, 2));
    expect(await order(1, 2)).not.toBe(await order(1, 3));
    expect(await order(1, 2)).not.toBe(await order(2, 2));
  });

  it('keeps the order when not shuffling, and drops the last batch when asked', async () => {
    const got = await collect(arrayLoader({ x, y }, { imageShape: shape, batchSize: 4, dropLast: true }));
    expect(got.sizes).toEqual([4, 4]);
    expect(got.x.map((v) => Math.round(v[0] * 255 / 20))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('is a permutation for any size, batch size and seed (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), fc.nat(1000), async (m, bs, seed) => {
      const xs = new Float32Array(m).map((_, i) => i);
      const dl = arrayLoader({ x: xs, y: new Int32Array(m) }, { imageShape: [1, 1, 1], batchSize: bs, shuffle: true, seed });
      const got = await collect(dl, seed % 5);
      expect(got.x.map((v) => v[0]).sort((a, b) => a - b)).toEqual(Array.from(xs));
      expect(got.sizes.length).toBe(dl.length);
    }), { numRuns: 30 });
  });

  it('normalises bytes with mean and std, and copies a tensor input', async () => {
    const got = await collect(arrayLoader({ x: new Uint8Array([0, 255, 51, 102, 153, 204]), y: [0, 1] },
      { imageShape: [1, 1, 3], normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } }));
    expect(Array.from(got.x[0])).toEqual([-1, 1, -0.6000000238418579]);
    const t = tf.tensor4d([1, 2, 3, 4], [2, 1, 1, 2]);
    const dl = arrayLoader({ x: t, y: tf.tensor1d([1, 0], 'int32') }, { classNames: ['a', 'b'] });
    t.dispose();
    const got2 = await collect(dl);
    expect(got2.x.map((v) => Array.from(v))).toEqual([[1, 2], [3, 4]]);
    expect(dl.imageShape).toEqual([1, 1, 2]);
  });

  it('leaves no tensors behind once the consumer disposes the batches', async () => {
    const before = tf.memory().numTensors;
    await collect(arrayLoader({ x, y }, { imageShape: shape, batchSize: 3, shuffle: true }));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad inputs with clear messages', () => {
    expect(() => arrayLoader({ x, y }, { imageShape: shape, batchSize: 0 })).toThrow('arrayLoader: batchSize must be an integer >= 1, got 0');
    expect(() => arrayLoader({ x, y })).toThrow('arrayLoader: imageShape must be [H, W, C] (positive integers) when x is a typed array, got undefined');
    expect(() => arrayLoader({ x, y: y.slice(1) }, { imageShape: shape })).toThrow('arrayLoader: x must hold 9 images of [2,2,1] (one per label), got "10 images"');
    expect(() => arrayLoader({ x, y: [...y.slice(1), -1] }, { imageShape: shape })).toThrow('arrayLoader: y must hold integer labels >= 0, got -1');
    expect(() => arrayLoader({ x, y }, { imageShape: shape, numClasses: 2 })).toThrow('arrayLoader: numClasses must be an integer >= 3, got 2');
    expect(() => arrayLoader({ x: [1, 2] as unknown as Uint8Array, y })).toThrow('arrayLoader: x must be a tf.Tensor4D, a Uint8Array or a Float32Array');
  });
});

describe('IDX files and Fashion-MNIST', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-idx-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses uint8 IDX, gzipped or raw, to the same shape and data', () => {
    const body = Buffer.from(Array.from({ length: 2 * 3 * 4 }, (_, i) => i));
    const raw = idxBytes(0x08, [2, 3, 4], body);
    for (const b of [raw, zlib.gzipSync(raw)]) {
      const a = parseIdx(b);
      expect(a.shape).toEqual([2, 3, 4]);
      expect(a.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(a.data)).toEqual(Array.from(body));
    }
  });

  it('reads big-endian int32 and float32 IDX', () => {
    const i32 = Buffer.alloc(8); i32.writeInt32BE(-7, 0); i32.writeInt32BE(70000, 4);
    expect(Array.from(parseIdx(idxBytes(0x0c, [2], i32)).data)).toEqual([-7, 70000]);
    const f32 = Buffer.alloc(4); f32.writeFloatBE(1.5, 0);
    expect(Array.from(parseIdx(idxBytes(0x0d, [1, 1], f32)).data)).toEqual([1.5]);
  });

  it('rejects broken IDX with clear messages', () => {
    expect(() => parseIdx(Buffer.from([1, 2, 3, 4]))).toThrow('parseIdx: buffer must start with an IDX magic number (0x00 0x00 type ndim), got [1,2,3,4]');
    expect(() => parseIdx(idxBytes(0x07, [1], Buffer.alloc(1)))).toThrow('parseIdx: buffer must have an IDX type code 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e, got "0x7"');
    expect(() => parseIdx(idxBytes(0x08, [2, 2], Buffer.alloc(3)))).toThrow('parseIdx: buffer must hold 4 data bytes for shape [2,2], got "3 bytes"');
    expect(() => parseIdx(Buffer.from([0x1f, 0x8b, 0, 0]))).toThrow(/parseIdx: buffer must be a valid gzip stream/);
    expect(() => readIdx(path.join(dir, 'nope'))).toThrow(`readIdx: file must exist, got "${path.join(dir, 'nope')}"`);
  });

  it('reads a Fashion-MNIST folder with mixed .gz and raw files', async () => {
    const img = (n: number) => idxBytes(0x08, [n, 28, 28], Buffer.from(Array.from({ length: n * 784 }, (_, i) => (i % 784 === 0 ? 255 : 0))));
    const lab = (n: number) => idxBytes(0x08, [n], Buffer.from(Array.from({ length: n }, (_, i) => i % 10)));
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(img(12)));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), lab(12));
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), img(5));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(lab(5)));
    const { train, test } = fashionMnist(dir, { batchSize: 4 });
    expect([train.size, train.length, test.size, test.length]).toEqual([12, 3, 5, 2]);
    expect(train.imageShape).toEqual([28, 28, 1]);
    expect(train.classNames).toEqual(FASHION_MNIST_CLASSES);
    const got = await collect(test);
    expect(got.y).toEqual([0, 1, 2, 3, 4]);
    expect(got.x[0][0]).toBe(1);
    expect(got.x[0][1]).toBe(0);
  });

  it('names the missing files when a folder is not Fashion-MNIST', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-empty-'));
    try {
      expect(() => fashionMnist(empty)).toThrow(`fashionMnist: dir must hold train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz], got "${empty} (holds: nothing)"`);
      expect(() => fashionMnist(path.join(empty, 'x'))).toThrow('fashionMnist: dir must be an existing folder');
    } finally { fs.rmSync(empty, { recursive: true }); }
  });

  it('loads the embedded subset: 10,000 + 2,000 images, balanced', async () => {
    const { train, test } = fashionMnistSubset({ batchSize: 500 });
    expect([train.size, test.size, train.numClasses]).toEqual([10000, 2000, 10]);
    const counts = new Array(10).fill(0);
    for await (const b of test.batches()) { for (const k of b.y.dataSync()) counts[k]++; tf.dispose([b.x, b.y]); }
    expect(counts).toEqual(new Array(10).fill(200));
  });
});

describe('resizeBilinear and readImage', () => {
  it('keeps a constant image constant and maps gray to RGB', () => {
    const out = resizeBilinear(new Uint8Array(10 * 7).fill(77), 10, 7, 1, 4, 3);
    expect(out.length).toBe(4 * 3 * 3);
    expect(new Set(out)).toEqual(new Set([77]));
  });

  // an independent reference: Pillow's triangle filter written directly in 2-D, in doubles
  function reference(src: Uint8Array, H: number, W: number, C: number, oh: number, ow: number): number[] {
    const axis = (n: number, o: number, i: number) => {
      const s = n / o, sup = Math.max(1, s), c = (i + 0.5) * s;
      const w: [number, number][] = [];
      for (let k = 0; k < n; k++) { const t = 1 - Math.abs((k + 0.5 - c) / sup); if (t > 0) w.push([k, t]); }
      const tot = w.reduce((a, [, t]) => a + t, 0);
      return w.map(([k, t]) => [k, t / tot] as [number, number]);
    };
    const out: number[] = [];
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let ch = 0; ch < 3; ch++) {
      let v = 0;
      for (const [ky, wy] of axis(H, oh, y)) for (const [kx, wx] of axis(W, ow, x)) v += wy * wx * src[(ky * W + kx) * C + (C === 1 ? 0 : ch)];
      out.push(Math.min(255, Math.round(v)));
    }
    return out;
  }

  it('compiles the WebAssembly SIMD kernel once', async () => {
    expect(await initResize()).toBe(true);
    expect(await initResize()).toBe(true);
  });

  it.each(['js', 'wasm'] as const)('matches a direct 2-D triangle filter within 1 level, shrinking and enlarging (%s, property)', async (impl) => {
    await initResize();
    fc.assert(fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }),
      fc.constantFrom(1, 3, 4), fc.nat(1000), (H, W, oh, ow, C, seed) => {
        const src = new Uint8Array(H * W * C).map((_, i) => (Math.imul(i + 1, 2654435761 + seed) >>> 24) & 255);
        const got = Array.from(resizeBilinear(src, H, W, C, oh, ow, impl));
        const want = reference(src, H, W, C, oh, ow);
        got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(1));
      }), { numRuns: 40 });
  });

  it('gives the same bytes in JavaScript and WebAssembly, to within one level', async () => {
    await initResize();
    for (const [H, W, C, oh, ow] of [[224, 224, 3, 128, 128], [224, 224, 1, 146, 146], [128, 96, 4, 73, 55], [7, 9, 3, 30, 31]]) {
      const src = new Uint8Array(H * W * C).map((_, i) => (Math.imul(i + 1, 2654435761) >>> 24));
      const a = resizeBilinear(src, H, W, C, oh, ow, 'js'), b = resizeBilinear(src, H, W, C, oh, ow, 'wasm');
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('rejects bad resize arguments with clear messages', () => {
    expect(() => resizeBilinear(new Uint8Array(5), 2, 2, 1, 1, 1)).toThrow('resizeBilinear: src must hold inH*inW*channels = 4 bytes, got 5');
    expect(() => resizeBilinear(new Uint8Array(4), 2, 2, 1, 0, 1)).toThrow('resizeBilinear: outH must be an integer >= 1, got 0');
    expect(() => resizeBilinear(new Uint8Array(4), 2, 2, 1, 1, 1, 'gpu' as 'js')).toThrow('resizeBilinear: impl must be one of "auto" | "js" | "wasm", got "gpu"');
  });

  it('averages a checkerboard when halving (weights 3/7, 3/7, 1/7 per axis)', () => {
    const src = new Uint8Array(16).map((_, i) => (((i >> 2) + (i & 3)) % 2 ? 200 : 0));
    expect(resizeBilinear(src, 4, 4, 1, 2, 2)[0]).toBe(Math.round(200 * 24 / 49));
  });

  it('is exact for same-size resizes and matches a linear ramp when upscaling', () => {
    const src = new Uint8Array(3 * 5 * 3).map((_, i) => (i * 17) % 256);
    expect(Array.from(resizeBilinear(src, 3, 5, 3, 3, 5))).toEqual(Array.from(src));
    const ramp = resizeBilinear(new Uint8Array([0, 100]), 1, 2, 1, 1, 4); // centres at 0.25, 0.75 of each source px
    expect(Array.from(ramp.filter((_, i) => i % 3 === 0))).toEqual([0, 25, 75, 100]);
  });

  it('matches Pillow-style resizing closely on a smooth image', () => {
    // downscale a smooth gradient: result stays the gradient sampled at output centres
    const H = 224, W = 224, src = new Uint8Array(H * W * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) { const o = (y * W + x) * 3; src[o] = x; src[o + 1] = y; src[o + 2] = 128; }
    const out = resizeBilinear(src, H, W, 3, 128, 128);
    for (const [ox, oy] of [[10, 20], [64, 64], [100, 120]]) {
      const o = (oy * 128 + ox) * 3;
      expect(Math.abs(out[o] - ((ox + 0.5) * 1.75 - 0.5))).toBeLessThanOrEqual(1);
      expect(Math.abs(out[o + 1] - ((oy + 0.5) * 1.75 - 0.5))).toBeLessThanOrEqual(1);
    }
  });

  it('decodes files to RGB at the requested short side, keeping the aspect', async () => {
    const png = await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
    const im = await readImage(png, 20);
    expect([im.height, im.width, im.data.length]).toEqual([20, 30, 20 * 30 * 3]);
    expect(Array.from(im.data.subarray(0, 3))).toEqual([10, 200, 30]);
    const big = await sharp({ create: { width: 100, height: 80, channels: 3, background: { r: 200, g: 50, b: 100 } } }).jpeg({ quality: 95 }).toBuffer();
    const small = await readImage(big, 20);
    expect([small.height, small.width]).toEqual([20, 25]);
    [200, 50, 100].forEach((v, c) => expect(Math.abs(small.data[c] - v)).toBeLessThanOrEqual(3));
    const gray = await sharp(Buffer.alloc(32 * 32, 90), { raw: { width: 32, height: 32, channels: 1 } }).jpeg().toBuffer();
    const g = await readImage(gray);
    expect([g.height, g.width]).toEqual([32, 32]);
    expect(Math.abs(g.data[0] - 90)).toBeLessThanOrEqual(2);
    expect(g.data[0]).toBe(g.data[1]);
  });
});

describe('imageFolder', () => {
  let root: string;
  const warnings: string[] = [];
  const classes = ['n01440764', 'n02102040', 'n02979186'];
  const colour = (k: number, i: number) => ({ r: 40 + 80 * k, g: 10 * i, b: 200 - 60 * k });

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-imgf-'));
    for (const split of ['train', 'val']) {
      for (const [k, c] of classes.entries()) {
        const d = path.join(root, split, c);
        fs.mkdirSync(d, { recursive: true });
        const count = split === 'train' ? 4 : 2;
        for (let i = 0; i < count; i++) {
          // a left/right gradient so flips and crops are visible, one colour per class
          const w = 40, h = 32, px = Buffer.alloc(w * h * 3);
          const c0 = colour(k, i);
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const o = (y * w + x) * 3; px[o] = c0.r; px[o + 1] = c0.g; px[o + 2] = Math.round(x * 6); }
          await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(d, `img${i}.JPEG`));
        }
      }
    }
    // a grayscale JPEG and a corrupt one in train/
    await sharp(Buffer.alloc(32 * 32, 128), { raw: { width: 32, height: 32, channels: 1 } }).jpeg().toFile(path.join(root, 'train', classes[0], 'gray.JPEG'));
    fs.writeFileSync(path.join(root, 'train', classes[1], 'broken.JPEG'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]));
    fs.writeFileSync(path.join(root, 'train', classes[1], 'notes.txt'), 'not an image');
  });
  afterAll(async () => { await closeDecoders(); fs.rmSync(root, { recursive: true, force: true }); });
  beforeEach(() => clearImageCache());

  it('lists classes and files, naming Imagenette classes from the wnid table', async () => {
    const dl = await imageFolder(root, { size: 16, batchSize: 4 });
    expect(dl.classIds).toEqual(classes);
    expect(dl.classNames).toEqual(classes.map((c) => IMAGENETTE_CLASSES[c]));
    expect([dl.size, dl.numClasses, dl.length]).toEqual([14, 3, 3]);
    expect(dl.imageShape).toEqual([16, 16, 3]);
  });

  it('streams float32 NHWC batches, skipping and counting the corrupt image with one warning', async () => {
    warnings.length = 0;
    const dl = await imageFolder(root, { size: 16, batchSize: 14, dropLast: false, normalize: false, onWarning: (s) => warnings.push(s) });
    const got = await collect(dl, 0);
    expect(got.sizes).toEqual([13]);
    expect(got.x[0].length).toBe(16 * 16 * 3);
    expect(dl.lastEpoch).toEqual({ decoded: 13, cached: 0, skipped: 1 });
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/imageFolder: skipped 1 unreadable image\(s\) in epoch 0 of .*train \(first: .*broken\.JPEG/);
    // labels match the class colour of each image (red channel encodes the class)
    got.x.forEach((v, i) => {
      if (v[0] === v[2] && Math.abs(v[0] - 128 / 255) < 0.02) return; // the gray image
      expect(Math.round((v[0] * 255 - 40) / 80) + 0).toBe(got.y[i]);
    });
  });

  it('turns a grayscale JPEG into three equal channels', async () => {
    const dl = await imageFolder(root, { size: 16, batchSize: 64, dropLast: false, normalize: false, shuffle: false, onWarning: () => undefined });
    const got = await collect(dl);
    const gray = got.x.find((v) => Math.abs(v[0] - 128 / 255) < 0.03 && v[0] === v[1] && v[1] === v[2]);
    expect(gray).toBeDefined();
  });

  it('decodes each image once: the second epoch is served from the cache', async () => {
    const dl = await imageFolder(root, { size: 16, batchSize: 4, dropLast: false, onWarning: () => undefined });
    await collect(dl, 0);
    const first = { ...dl.lastEpoch };
    await collect(dl, 1);
    expect(first.decoded).toBeGreaterThan(0);
    expect(dl.lastEpoch.decoded).toBe(0);
    expect(dl.lastEpoch.cached).toBeGreaterThan(0);
    expect(dl.cacheInfo.images).toBe(13);
    expect(dl.cacheInfo.bytes).toBeGreaterThanOrEqual(13 * 18 * 18 * 3);
    // another loader of the same images (a second run of a comparison) decodes nothing
    const warned: string[] = [];
    const again = await imageFolder(root, { size: 16, batchSize: 4, seed: 9, dropLast: false, onWarning: (m) => warned.push(m) });
    await collect(again, 0);
    expect(again.lastEpoch).toEqual({ decoded: 0, cached: 13, skipped: 1 });
    expect(warned.pop()).toMatch(/skipped 1 unreadable image\(s\) in epoch 0 .*broken\.JPEG: .*(unsupported|corrupt|premature|format)/i);
    // ... unless it resizes to another short side
    const other = await imageFolder(root, { size: 16, resize: 20, batchSize: 4, dropLast: false, onWarning: () => undefined });
    await collect(other, 0);
    expect(other.lastEpoch.decoded).toBe(13);
    expect(clearImageCache()).toBe(28);
    const noCache = await imageFolder(root, { size: 16, batchSize: 4, cache: false, onWarning: () => undefined });
    await collect(noCache, 0); await collect(noCache, 1);
    expect(noCache.lastEpoch.decoded).toBeGreaterThan(0);
  });

  it('gives the same batches for the same (seed, epoch), different crops/order otherwise', async () => {
    const mk = (seed: number) => imageFolder(root, { size: 16, batchSize: 4, seed, onWarning: () => undefined });
    const a = await mk(5), b = await mk(5);
    const sig = (g: { x: Float32Array[]; y: number[] }) => g.x.map((v) => v.slice(0, 48).join()).join('|') + g.y.join();
    const a1 = sig(await collect(a, 1));
    await collect(b, 0);
    expect(sig(await collect(b, 1))).toBe(a1);
    expect(sig(await collect(a, 2))).not.toBe(a1);
  });

  it('centre-crops validation images without flipping, in order', async () => {
    const dl = await imageFolder(root, { split: 'val', size: 16, resize: 32, normalize: false });
    expect([dl.size, dl.length]).toEqual([6, 1]);
    const got = await collect(dl);
    expect(got.y).toEqual([0, 0, 1, 1, 2, 2]);
    // blue encodes x (6 per source pixel): resized 40x32 -> 40x32 (short side 32), centre crop 16 starts at x = 12
    const v = got.x[0];
    expect(Math.abs(v[2] * 255 - (12 * 6 + 3))).toBeLessThanOrEqual(6);
    expect(v[15 * 3 + 2]).toBeGreaterThan(v[2]); // increasing left to right: not flipped
  });

  it('flips about half of the training images when flip is on', async () => {
    const dl = await imageFolder(root, { size: 16, resize: 16, batchSize: 64, dropLast: false, normalize: false, randomCrop: false, onWarning: () => undefined });
    let flipped = 0, total = 0;
    for (let e = 0; e < 4; e++) {
      for (const v of (await collect(dl, e)).x) {
        if (v[2] === v[0]) continue; // gray
        total++;
        if (v[2] > v[15 * 3 + 2]) flipped++;
      }
    }
    expect(flipped / total).toBeGreaterThan(0.2);
    expect(flipped / total).toBeLessThan(0.8);
  });

  it('normalises with ImageNet statistics by default', async () => {
    const dl = await imageFolder(root, { split: 'val', size: 16 });
    const got = await collect(dl);
    const r = colour(0, 0).r / 255;
    expect(Math.abs(got.x[0][0] - (r - 0.485) / 0.229)).toBeLessThan(0.1);
  });

  it('frees everything when the consumer stops early, and leaks no tensors', async () => {
    const dl = await imageFolder(root, { size: 16, batchSize: 2, prefetch: 3, onWarning: () => undefined });
    const before = tf.memory().numTensors;
    for await (const b of dl.batches(0)) { tf.dispose([b.x, b.y]); break; }
    await new Promise((r) => setTimeout(r, 200));
    expect(tf.memory().numTensors).toBe(before);
    await collect(dl, 1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('prefetches: images of the next batches are decoded before the consumer asks for them', async () => {
    const dl = await imageFolder(root, { size: 16, batchSize: 3, prefetch: 2, dropLast: false, onWarning: () => undefined });
    const it = dl.batches(0);
    const first = (await it.next()).value as DataBatch;
    tf.dispose([first.x, first.y]);
    // no further next() call: the decodes of batches 2 and 3 proceed on their own
    for (let i = 0; i < 100 && dl.lastEpoch.decoded + dl.lastEpoch.skipped < 9; i++) await new Promise((r) => setTimeout(r, 50));
    expect(dl.lastEpoch.decoded + dl.lastEpoch.skipped).toBe(9);
    await it.return!(undefined);
  });

  it('names Imagewoof classes from the built-in table, and keeps unknown folder names', async () => {
    const woof = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-woof-'));
    try {
      for (const c of ['n02086240', 'n02115641']) {
        fs.mkdirSync(path.join(woof, 'val', c), { recursive: true });
        await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).jpeg().toFile(path.join(woof, 'val', c, 'a.jpg'));
      }
      expect((await imageFolder(woof, { split: 'val', size: 8 })).classNames).toEqual(['Shih-Tzu', 'Dingo']);
      fs.mkdirSync(path.join(woof, 'val', 'cats'));
      expect((await imageFolder(woof, { split: 'val', size: 8 })).classNames).toEqual(['cats', 'n02086240', 'n02115641']);
    } finally { fs.rmSync(woof, { recursive: true }); }
  });

  it('explains an empty or wrongly laid out folder', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-bad-'));
    try {
      await expect(imageFolder(bad)).rejects.toThrow(`imageFolder: root must hold a 'train' folder (ImageFolder layout: train/<class>/*.JPEG), got "${bad} (holds: nothing)"`);
      fs.mkdirSync(path.join(bad, 'train'));
      fs.writeFileSync(path.join(bad, 'train', 'a.JPEG'), 'x');
      await expect(imageFolder(bad)).rejects.toThrow(`imageFolder: root must hold class folders under train/ (ImageFolder layout: train/<class>/*.JPEG), got "${path.join(bad, 'train')} (holds: a.JPEG)"`);
      fs.mkdirSync(path.join(bad, 'train', 'cls'));
      await expect(imageFolder(bad)).rejects.toThrow('imageFolder: root must hold images in train/<class>/ folders (.JPEG, .jpg, .png, .webp)');
      await expect(imageFolder(path.join(bad, 'nope'))).rejects.toThrow('imageFolder: root must be an existing folder');
      await expect(imageFolder(root, { split: 'test' as 'val' })).rejects.toThrow(`imageFolder: split must be one of "train" | "val", got "test"`);
      await expect(imageFolder(root, { size: 64, resize: 32 })).rejects.toThrow('imageFolder: resize must be an integer in [64, 8192], got 32');
    } finally { fs.rmSync(bad, { recursive: true }); }
  });
});

describe('the WebAssembly libjpeg-turbo decoder (optional: @cwasm/jpeg-turbo)', () => {
  let dir: string;
  const files: string[] = [];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-jt-'));
    for (let i = 0; i < 6; i++) {
      const w = 50 + 7 * i, h = 40 + 3 * i, px = Buffer.alloc(w * h * 3);
      for (let k = 0; k < px.length; k++) px[k] = (Math.imul(k + i, 2654435761) >>> 26) * 4 + (k % 3) * 50;
      const f = path.join(dir, `c${i}.jpg`);
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 80 + i }).toFile(f);
      files.push(f);
    }
    const g = path.join(dir, 'gray.jpg');
    await sharp(Buffer.alloc(30 * 20).map((_, k) => k % 251), { raw: { width: 30, height: 20, channels: 1 } }).jpeg().toFile(g);
    files.push(g);
    const p = path.join(dir, 'img.png');
    await sharp({ create: { width: 9, height: 9, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toFile(p);
    files.push(p);
    fs.writeFileSync(path.join(dir, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 67, 0, 1, 2, 3]));
  });
  afterAll(async () => { await closeDecoders(); fs.rmSync(dir, { recursive: true, force: true }); });

  if (!jpegTurboAvailable()) {
    it('is not installed here, and asking for it by name is a clear error', async () => {
      await expect(readImage(files[0], 10, { decoder: 'jpeg-turbo' })).rejects.toThrow("readImage: decoder must not be 'jpeg-turbo' unless @cwasm/jpeg-turbo is installed, got \"jpeg-turbo\"");
      await expect(imageFolder(dir, { decoder: 'jpeg-turbo' })).rejects.toThrow("imageFolder: decoder must not be 'jpeg-turbo' unless @cwasm/jpeg-turbo is installed");
    });
    return;
  }

  it('gives the same pixels as sharp (both are libjpeg-turbo), colour and gray, resized or not', async () => {
    for (const f of files) {
      for (const side of [undefined, 16]) {
        const a = await readImage(f, side, { decoder: 'sharp' });
        const b = await readImage(f, side, { decoder: 'jpeg-turbo' });
        expect([b.height, b.width]).toEqual([a.height, a.width]);
        expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
      }
    }
  });

  it('hands non-JPEG files to sharp, and fails on a corrupt JPEG like sharp does', async () => {
    const png = await readImage(files[files.length - 1], undefined, { decoder: 'jpeg-turbo' });
    expect(Array.from(png.data.subarray(0, 3))).toEqual([1, 2, 3]);
    await expect(readImage(path.join(dir, 'broken.jpg'), 8, { decoder: 'jpeg-turbo' })).rejects.toThrow();
    // the pool replaced the worker that failed: decoding goes on
    const again = await readImage(files[0], 8, { decoder: 'jpeg-turbo' });
    expect(again.height).toBe(8);
  });

  it('resizes in the worker to the bytes of sharp + the main-thread kernel, within one level of the float path', async () => {
    // photo-like sizes and ratios: 224 -> 128 (the yardstick), 146 (imageFolder's default for 128), upscaling, odd sizes
    const f = path.join(dir, 'photo.jpg'), g = path.join(dir, 'wide.jpg');
    const smooth = (w: number, h: number) => Buffer.alloc(w * h * 3).map((_, k) => {
      const p = Math.floor(k / 3), x = p % w, y = Math.floor(p / w);
      return Math.round(127 + 100 * Math.sin(x / 9 + (k % 3)) * Math.cos(y / 13)) + ((Math.imul(k, 2654435761) >>> 29) - 4);
    });
    await sharp(smooth(224, 224), { raw: { width: 224, height: 224, channels: 3 } }).jpeg({ quality: 90 }).toFile(f);
    await sharp(smooth(301, 199), { raw: { width: 301, height: 199, channels: 3 } }).jpeg({ quality: 75 }).toFile(g);
    for (const [file, side] of [[f, 128], [f, 146], [f, 300], [g, 128], [g, 57]] as [string, number][]) {
      const a = await readImage(file, side, { decoder: 'sharp' });
      const b = await readImage(file, side, { decoder: 'jpeg-turbo' });
      expect([b.height, b.width]).toEqual([a.height, a.width]);
      expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
      // the float (JavaScript) resize of the same decoded pixels: integer weights and a 1/128-level
      // intermediate move a result by at most one level, and only near a rounding boundary
      const full = await readImage(file, undefined, { decoder: 'sharp' });
      const ref = resizeBilinear(full.data, full.height, full.width, 3, a.height, a.width, 'js');
      let worst = 0, off = 0;
      for (let i = 0; i < ref.length; i++) { const d = Math.abs(ref[i] - b.data[i]); worst = Math.max(worst, d); off += d ? 1 : 0; }
      expect(worst).toBeLessThanOrEqual(1);
      expect(off / ref.length).toBeLessThan(0.02);
    }
  });

  it('answers every queued job when corrupt JPEGs retire workers mid-queue', async () => {
    const broken = path.join(dir, 'broken.jpg');
    // two jobs in flight per worker: a job queued behind a corrupt file goes to a fresh worker
    const list = Array.from({ length: 30 }, (_, i) => (i % 4 === 1 ? broken : files[i % 6]));
    const want = await Promise.all(files.slice(0, 6).map((f) => readImage(f, 24, { decoder: 'sharp' })));
    const got = await Promise.allSettled(list.map((f) => readImage(f, 24, { decoder: 'jpeg-turbo' })));
    got.forEach((r, i) => {
      if (list[i] === broken) { expect(r.status).toBe('rejected'); return; }
      expect(r.status).toBe('fulfilled');
      const im = (r as PromiseFulfilledResult<{ data: Uint8Array }>).value;
      expect(Buffer.from(im.data).equals(Buffer.from(want[i % 6].data))).toBe(true);
    });
  });

  it('hands CMYK and truncated JPEGs to sharp, with the same outcome as sharp', async () => {
    const px = Buffer.alloc(40 * 30 * 3).map((_, k) => (k * 13) % 251);
    const cmyk = path.join(dir, 'cmyk.jpg'), cut = path.join(dir, 'cut.jpg');
    await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).toColourspace('cmyk').jpeg().toFile(cmyk);
    const whole = await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer();
    fs.writeFileSync(cut, whole.subarray(0, whole.length >> 1));
    const a = await readImage(cmyk, 16, { decoder: 'sharp' }), b = await readImage(cmyk, 16, { decoder: 'jpeg-turbo' });
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    await expect(readImage(cut, 16, { decoder: 'sharp' })).rejects.toThrow('premature end');
    await expect(readImage(cut, 16, { decoder: 'jpeg-turbo' })).rejects.toThrow('premature end');
  });

  it('decodes many files concurrently through the pool, each answer matching its file', async () => {
    const many = Array.from({ length: 40 }, (_, i) => files[i % 6]);
    const got = await Promise.all(many.map((f) => readImage(f, undefined, { decoder: 'jpeg-turbo' })));
    got.forEach((im, i) => expect(im.width).toBe(50 + 7 * (i % 6)));
  });
});
