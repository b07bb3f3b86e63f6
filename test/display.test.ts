import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import * as fc from 'fast-check';
import { imageGrid, showImages, renderChart, showChart, gridLayout, inKernel } from '../lib/display';

async function rawOf(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function px(r: { data: Buffer; width: number; channels: number }, x: number, y: number): number[] {
  const o = (y * r.width + x) * r.channels;
  return Array.from(r.data.subarray(o, o + 3));
}

describe('imageGrid', () => {
  it('lays images out in rows of cols with padding between and around them', async () => {
    const x = tf.zeros([5, 4, 6, 3]) as tf.Tensor4D;
    const r = await rawOf(await imageGrid(x, { cols: 2, scale: 1, padding: 1 }));
    expect([r.width, r.height]).toEqual([1 + 2 * (6 + 1), 1 + 3 * (4 + 1)]);
    expect(px(r, 0, 0)).toEqual([255, 255, 255]); // padding is background
    expect(px(r, 1, 1)).toEqual([0, 0, 0]); // first image
    expect(px(r, 8, 11)).toEqual([255, 255, 255]); // the empty sixth slot
    x.dispose();
  });

  it('keeps 0..255 int32 pixel values exactly and places each image in its cell', async () => {
    const vals = new Int32Array(2 * 2 * 3 * 3);
    for (let i = 0; i < vals.length; i++) vals[i] = (i * 37) % 256;
    const x = tf.tensor4d(vals, [2, 2, 3, 3], 'int32');
    const r = await rawOf(await imageGrid(x, { cols: 2, scale: 1, padding: 0 }));
    expect([r.width, r.height]).toEqual([6, 2]);
    for (let n = 0; n < 2; n++) for (let yy = 0; yy < 2; yy++) for (let xx = 0; xx < 3; xx++) {
      const o = ((n * 2 + yy) * 3 + xx) * 3;
      expect(px(r, n * 3 + xx, yy)).toEqual([vals[o], vals[o + 1], vals[o + 2]]);
    }
    x.dispose();
  });

  it('puts pixel (n, y, x) of a 0..255 batch at its grid position, for any shape and column count (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }),
      fc.constantFrom(1, 3), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.nat(1000),
      async (n, h, w, c, cols, padding, seed) => {
        const vals = Int32Array.from({ length: n * h * w * c }, (_, i) => (Math.imul(i + seed, 2654435761) >>> 24));
        const x = tf.tensor4d(vals, [n, h, w, c], 'int32');
        const r = await rawOf(await imageGrid(x, { cols, scale: 1, padding }));
        x.dispose();
        const L = gridLayout(n, h, w, { cols, scale: 1, padding });
        expect([r.width, r.height]).toEqual([L.width, L.height]);
        for (let i = 0; i < n; i++) for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
          const left = padding + (i % L.cols) * (w + padding), top = padding + Math.floor(i / L.cols) * (h + padding);
          const o = ((i * h + yy) * w + xx) * c;
          const want = c === 1 ? [vals[o], vals[o], vals[o]] : [vals[o], vals[o + 1], vals[o + 2]];
          expect(px(r, left + xx, top + yy)).toEqual(want);
        }
      }), { numRuns: 40 });
  });

  it('reads float images in [0, 1] as [0, 1] and float 0..255 images as bytes', async () => {
    const a = tf.fill([1, 1, 1, 3], 0.5) as tf.Tensor4D;
    const b = tf.fill([1, 1, 1, 3], 200) as tf.Tensor4D;
    expect(px(await rawOf(await imageGrid(a, { scale: 1, padding: 0 })), 0, 0)).toEqual([128, 128, 128]);
    expect(px(await rawOf(await imageGrid(b, { scale: 1, padding: 0 })), 0, 0)).toEqual([200, 200, 200]);
    tf.dispose([a, b]);
  });

  it('min-max scales normalised images and honours an explicit range', async () => {
    const x = tf.tensor4d([-2, 0, 2], [1, 1, 3, 1]);
    const r = await rawOf(await imageGrid(x, { scale: 1, padding: 0 }));
    expect([px(r, 0, 0)[0], px(r, 1, 0)[0], px(r, 2, 0)[0]]).toEqual([0, 128, 255]);
    const r2 = await rawOf(await imageGrid(x, { scale: 1, padding: 0, range: [0, 2] }));
    expect([px(r2, 0, 0)[0], px(r2, 1, 0)[0], px(r2, 2, 0)[0]]).toEqual([0, 0, 255]);
    x.dispose();
  });

  it('undoes a mean/std normalisation when told the statistics', async () => {
    const x = tf.tensor4d([(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225], [1, 1, 1, 3]);
    const r = await rawOf(await imageGrid(x, { scale: 1, padding: 0, normalized: 'imagenet' }));
    expect(px(r, 0, 0)).toEqual([51, 102, 153]);
    const g = tf.tensor4d([-1, 1], [1, 1, 2, 1]);
    const r2 = await rawOf(await imageGrid(g, { scale: 1, padding: 0, normalized: { mean: [0.5], std: [0.25] } }));
    expect([px(r2, 0, 0)[0], px(r2, 1, 0)[0]]).toEqual([64, 191]);
    await expect(imageGrid(g, { normalized: { mean: [0.5, 0.5], std: [1] } })).rejects.toThrow("imageGrid: normalized must be 'imagenet' or {mean, std} with 1 or 1 values");
    tf.dispose([x, g]);
  });

  it('shows one-channel images as gray', async () => {
    const x = tf.tensor4d([0.2, 0.8], [1, 1, 2, 1]);
    const r = await rawOf(await imageGrid(x, { scale: 1, padding: 0 }));
    expect(r.channels).toBe(3);
    expect(px(r, 0, 0)).toEqual([51, 51, 51]);
    expect(px(r, 1, 0)).toEqual([204, 204, 204]);
    x.dispose();
  });

  it('upscales by whole factors with nearest neighbour', async () => {
    const x = tf.tensor4d([0, 255], [1, 1, 2, 1], 'int32');
    const r = await rawOf(await imageGrid(x, { scale: 3, padding: 0 }));
    expect([r.width, r.height]).toEqual([6, 3]);
    expect([0, 1, 2].map((i) => px(r, i, 2)[0])).toEqual([0, 0, 0]);
    expect([3, 4, 5].map((i) => px(r, i, 0)[0])).toEqual([255, 255, 255]);
    x.dispose();
  });

  it('picks a default scale that makes small images at least 64 px', () => {
    expect(gridLayout(1, 28, 28).scale).toBe(3);
    expect(gridLayout(1, 128, 128).scale).toBe(1);
    expect(gridLayout(20, 8, 8).cols).toBe(8);
  });

  it('draws captions in a band below the images without touching the pixels', async () => {
    const x = tf.fill([3, 16, 16, 3], 0) as tf.Tensor4D;
    const png = await imageGrid(x, { labels: ['cat', '<dog & "fox">', 'a very long caption that will not fit'], scale: 4, padding: 2 });
    const r = await rawOf(png);
    const L = gridLayout(3, 16, 16, { scale: 4, padding: 2, hasLabels: true });
    expect([r.width, r.height]).toEqual([L.width, L.height]);
    // image pixels are untouched black
    expect(px(r, 2 + 32, 2 + 32)).toEqual([0, 0, 0]);
    // the caption band holds some dark text pixels
    let dark = 0;
    for (let yy = 2 + 64; yy < L.height; yy++) for (let xx = 0; xx < L.width; xx++) if (px(r, xx, yy)[0] < 128) dark++;
    expect(dark).toBeGreaterThan(20);
    x.dispose();
  });

  it('captions from integer labels and class names, and from soft labels', async () => {
    const x = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    const y = tf.tensor1d([1, 0], 'int32');
    const soft = tf.tensor2d([[0.7, 0.3], [0, 1]]);
    const before = tf.memory().numTensors;
    const a = await imageGrid({ x, y }, { classNames: ['cat', 'dog'] });
    const b = await imageGrid({ x, y: soft });
    const c = await imageGrid({ x, y }, { labels: false });
    expect((await sharp(a).metadata()).height).toBeGreaterThan((await sharp(c).metadata()).height as number);
    expect((await sharp(b).metadata()).height).toBe((await sharp(a).metadata()).height);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, soft]);
  });

  it('leaves no tensors behind and does not dispose its input', async () => {
    const x = tf.randomUniform([4, 10, 10, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    await imageGrid(x);
    await showImages(x);
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  it('rejects bad inputs with clear messages', async () => {
    const x3 = tf.zeros([2, 4, 4]);
    const x2c = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const xb = tf.zeros([1, 4, 4, 1], 'bool') as unknown as tf.Tensor4D;
    const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const empty = tf.zeros([0, 4, 4, 1]) as tf.Tensor4D;
    await expect(imageGrid(x3 as tf.Tensor4D)).rejects.toThrow('imageGrid: x must have rank 4, got "rank 3 (shape [2,4,4])"');
    await expect(imageGrid(x2c)).rejects.toThrow('imageGrid: x must have 1 or 3 channels (NHWC), got "shape [1,4,4,2]"');
    await expect(imageGrid(xb)).rejects.toThrow('imageGrid: x must have dtype float32 or int32, got "bool"');
    await expect(imageGrid(empty)).rejects.toThrow('imageGrid: x must not be an empty batch');
    await expect(imageGrid(x, { cols: 0 })).rejects.toThrow('imageGrid: cols must be an integer >= 1, got 0');
    await expect(imageGrid(x, { labels: ['a'] })).rejects.toThrow('imageGrid: labels must be an array of 2 captions (one per image), got "1 captions"');
    await expect(imageGrid(x, { range: [1, 0] })).rejects.toThrow("imageGrid: range must be 'auto' or [lo, hi] with lo < hi, got [1,0]");
    await expect(imageGrid({ x, y: tf.zeros([3], 'int32') })).rejects.toThrow('imageGrid: y must have one label per image (2)');
    await expect(imageGrid([] as unknown as tf.Tensor4D)).rejects.toThrow('imageGrid: x must be a tf.Tensor');
    const d = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D; d.dispose();
    await expect(imageGrid(d)).rejects.toThrow('imageGrid: x must not be disposed');
    tf.dispose([x3, x2c, xb, x, empty]);
  });
});

describe('compact grids: palette and maxWidth', () => {
  it('palette: true writes a palette PNG, exact when the grid has at most 256 colours', async () => {
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => (i * 37) % 256), [2, 5, 7, 1]).toInt() as tf.Tensor4D;
    const exact = await imageGrid(x, { scale: 1, padding: 1 });
    const pal = await imageGrid(x, { scale: 1, padding: 1, palette: true });
    expect((await sharp(pal).metadata()).isPalette).toBe(true);
    expect((await sharp(exact).metadata()).isPalette).toBe(false);
    expect((await rawOf(pal)).data).toEqual((await rawOf(exact)).data);
    x.dispose();
  });

  it('palette: true stays close to the exact grid on a many-colour image, and is smaller', async () => {
    const x = tf.tidy(() => tf.randomUniform([4, 48, 48, 3], 0, 1, 'float32', 3).mul(0.3)
      .add(tf.linspace(0, 0.7, 48).reshape([1, 1, 48, 1])) as tf.Tensor4D);
    const a = await rawOf(await imageGrid(x, { scale: 1 }));
    const palPng = await imageGrid(x, { scale: 1, palette: true });
    const b = await rawOf(palPng);
    let err = 0;
    for (let i = 0; i < a.data.length; i++) err += Math.abs(a.data[i] - b.data[i]);
    expect(err / a.data.length).toBeLessThan(12);
    expect(palPng.length).toBeLessThan((await imageGrid(x, { scale: 1 })).length);
    x.dispose();
  });

  it('gridLayout with maxWidth lowers the whole scale first, then shrinks the cells', () => {
    const big = gridLayout(8, 224, 224, { maxWidth: 1024 });
    expect([big.cellWidth, big.cellHeight, big.width]).toEqual([125, 125, 2 + 8 * 127]);
    expect(big.scale).toBeCloseTo(125 / 224);
    const lower = gridLayout(8, 28, 28, { maxWidth: 500 }); // default scale 3 is 690 px wide
    expect([lower.scale, lower.cellWidth, lower.width]).toEqual([2, 56, 2 + 8 * 58]);
    const fits = gridLayout(8, 28, 28, { maxWidth: 2000 });
    expect([fits.scale, fits.cellWidth]).toEqual([3, 84]);
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 60, max: 3000 }), (n, h, w, maxWidth) => {
        const L = gridLayout(n, h, w, { maxWidth, padding: 2 });
        expect(L.width).toBeLessThanOrEqual(Math.max(maxWidth, 2 + L.cols * 3));
        expect(L.width).toBe(2 + L.cols * (L.cellWidth + 2));
        expect(Math.abs(L.cellHeight / L.cellWidth - h / w)).toBeLessThanOrEqual(1 / L.cellWidth + 1e-9 + (L.cellHeight === 1 ? h / w : 0));
      }), { numRuns: 200 });
  });

  it('imageGrid with maxWidth shrinks the images into the smaller cells', async () => {
    // left half black, right half white, 40 px wide, shrunk into 2 columns within 50 px
    const x = tf.tidy(() => tf.concat([tf.zeros([2, 40, 20, 1]), tf.ones([2, 40, 20, 1])], 2) as tf.Tensor4D);
    const r = await rawOf(await imageGrid(x, { maxWidth: 50, padding: 2, labels: false }));
    const L = gridLayout(2, 40, 40, { maxWidth: 50, padding: 2 });
    expect([r.width, r.height]).toEqual([L.width, L.height]);
    expect(L.cellWidth).toBe(22);
    expect(px(r, 2, 2)).toEqual([0, 0, 0]);
    expect(px(r, 2 + 21, 2 + 10)).toEqual([255, 255, 255]);
    expect(px(r, 2 + 22 + 2 + 21, 2 + 20)).toEqual([255, 255, 255]);
    expect(px(r, 2 + 22 + 2, 2 + 20)).toEqual([0, 0, 0]);
    expect(px(r, 2 + 22, 2)).toEqual([255, 255, 255]); // padding between cells stays background
    x.dispose();
  });

  it('showImages is compact by default and exact on request', async () => {
    const x = tf.tidy(() => tf.linspace(0, 1, 224).reshape([1, 1, 224, 1]).tile([8, 224, 1, 3]) as tf.Tensor4D);
    const shown = await showImages(x, { labels: false });
    const meta = await sharp(shown).metadata();
    expect(meta.isPalette).toBe(true);
    expect(meta.width).toBe(2 + 8 * 127);
    const full = await showImages(x, { labels: false, palette: false, maxWidth: Infinity });
    expect(full).toEqual(await imageGrid(x, { labels: false }));
    x.dispose();
  });

  it('rejects bad compact options', async () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    await expect(imageGrid(x, { maxWidth: 4 })).rejects.toThrow('imageGrid: maxWidth must be an integer >= 8, got 4');
    await expect(imageGrid(x, { palette: 'yes' as unknown as boolean })).rejects.toThrow('imageGrid: palette must be true or false, got "yes"');
    x.dispose();
  });
});

describe('showImages and showChart outside a kernel', () => {
  it('reports no kernel and returns the picture instead of throwing', async () => {
    expect(inKernel()).toBe(false);
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const png = await showImages(x, { scale: 1, padding: 0 });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const c = await showChart({ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } });
    expect(c.svg.startsWith('<svg')).toBe(true);
    x.dispose();
  });

  it('displays through the kernel channel when one is present', async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const jupyter = require('tslab/dist/jupyter');
    const seen: Record<string, unknown>[] = [];
    jupyter.lastWriteDisplayData = (d: { data: Record<string, unknown> }) => seen.push(d.data);
    try {
      expect(inKernel()).toBe(true);
      const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
      const png = await showImages(x, { scale: 1, padding: 0 });
      await showChart({ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } });
      x.dispose();
      expect(seen.length).toBe(2);
      expect(seen[0]['image/png']).toBe(png.toString('base64'));
      expect(Object.keys(seen[1]).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/png', 'image/svg+xml', 'text/plain']);
      expect((seen[1]['application/vnd.vegalite.v5+json'] as { mark: string }).mark).toBe('point');
      // a spec with many inline rows is left out of the bundle: the SVG and PNG show the same chart
      const many = { data: { values: Array.from({ length: 10000 }, (_, i) => ({ a: i / 10000 })) }, mark: 'bar',
        encoding: { x: { field: 'a', type: 'quantitative', bin: true }, y: { aggregate: 'count', type: 'quantitative' } } };
      await showChart(many);
      expect(Object.keys(seen[2]).sort()).toEqual(['image/png', 'image/svg+xml', 'text/plain']);
      await showChart(many, { maxSpecChars: 1e7 });
      expect(Object.keys(seen[3])).toContain('application/vnd.vegalite.v5+json');
    } finally {
      jupyter.lastWriteDisplayData = null;
    }
  });
});

describe('renderChart', () => {
  const spec = {
    width: 200, height: 100,
    data: { values: [{ epoch: 1, acc: 0.5, m: 'mixup' }, { epoch: 2, acc: 0.7, m: 'mixup' }, { epoch: 1, acc: 0.55, m: 'cutmix' }, { epoch: 2, acc: 0.75, m: 'cutmix' }] },
    mark: 'line',
    encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'acc', type: 'quantitative' }, color: { field: 'm', type: 'nominal' } },
  };

  it('renders an SVG holding the marks and the legend, and a PNG of its size', async () => {
    const { svg, png, width, height } = await renderChart(spec);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('mark-line');
    expect(svg).toContain('cutmix');
    const w = Number(/width="(\d+(\.\d+)?)"/.exec(svg)![1]);
    const h = Number(/height="(\d+(\.\d+)?)"/.exec(svg)![1]);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([Math.ceil(w), Math.ceil(h)]);
    expect([width, height]).toEqual([meta.width, meta.height]);
    expect(width).toBeGreaterThan(200);
    expect(height).toBeGreaterThan(100);
  });

  it('scales the PNG', async () => {
    const a = await renderChart(spec);
    const b = await renderChart(spec, { scale: 2 });
    expect(Math.abs(b.width - 2 * a.width)).toBeLessThanOrEqual(1);
  });

  it('rejects bad specs with clear messages', async () => {
    await expect(renderChart(null as unknown as Record<string, unknown>)).rejects.toThrow('renderChart: spec must be a vega-lite spec object, got null');
    await expect(renderChart({ mark: 'nonsense' })).rejects.toThrow(/renderChart: spec must be a valid vega-lite spec/);
    await expect(renderChart(spec, { scale: 0 })).rejects.toThrow('renderChart: scale must be a number in (0, 16], got 0');
  });
});
