import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { Rng } from '../lib/core';
import {
  CopyRegion, MixPlan, MixRegion, TileGrid, boxLambda, checkBatch, drawLambdas, finishMix, identityPlan, mixLabels, paint, paintArray, paintTensor,
  lastPaintPath, randBox, randBoxMinMax, resolveMixOptions, tileRegions, useWasmKernels, validatePlan,
} from '../lib/plan';
import { gridCells, onCpuAndWasm } from './helpers';

/** A random tile grid for a [B, H, W] batch: some rows tiled, cell sizes ≥ 0 (some zero) summing to H and W. */
function randomTiles(rng: Rng, B: number, H: number, W: number): TileGrid {
  const rows = 1 + rng.int(3), cols = 1 + rng.int(3), k = rows * cols;
  const split = (n: number, parts: number, out: Int32Array, at: number) => {
    const cuts = Array.from({ length: parts - 1 }, () => rng.int(n + 1)).sort((u, v) => u - v);
    for (let j = 0, prev = 0; j < parts; j++) { const c = j < parts - 1 ? cuts[j] : n; out[at + j] = c - prev; prev = c; }
  };
  const t: TileGrid = {
    rows, cols, tiled: Uint8Array.from({ length: B }, () => (rng.bernoulli(0.6) ? 1 : 0)),
    heights: new Int32Array(B * rows), widths: new Int32Array(B * cols),
    src: new Int32Array(B * k), srcY: new Int32Array(B * k), srcX: new Int32Array(B * k),
  };
  for (let i = 0; i < B; i++) {
    split(H, rows, t.heights, i * rows);
    split(W, cols, t.widths, i * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      const n = i * k + r * cols + c;
      t.src[n] = rng.int(B);
      t.srcY[n] = rng.int(H - t.heights[i * rows + r] + 1);
      t.srcX[n] = rng.int(W - t.widths[i * cols + c] + 1);
    }
  }
  return t;
}

beforeAll(async () => { await tf.setBackend('cpu'); });

/** A random plan on a random small shape, drawn from `seed` (every region kind, overlapping regions, blends). */
function randomPlan(seed: number, dtype: 'float32' | 'int32'): { x: tf.Tensor4D; plan: MixPlan } {
  const rng = new Rng(seed);
  const B = 1 + rng.int(5), H = 1 + rng.int(9), W = 1 + rng.int(9), C = 1 + rng.int(3);
  const plan = identityPlan([B, H, W, C]);
  const bk = 1 + rng.int(3);
  plan.baseK = bk;
  plan.baseSources = new Int32Array(B * bk);
  plan.baseCoefs = new Float32Array(B * bk);
  for (let i = 0; i < B; i++) {
    const copy = rng.bernoulli(0.4);
    for (let j = 0; j < bk; j++) {
      plan.baseSources[i * bk + j] = rng.int(B);
      plan.baseCoefs[i * bk + j] = copy ? (j === 0 ? 1 : 0) : rng.uniform(-0.5, 1.5);
    }
  }
  const nReg = rng.int(7);
  for (let n = 0; n < nReg; n++) {
    const h = rng.int(H + 1), w = rng.int(W + 1);
    const r: Partial<MixRegion> = { dst: rng.int(B), y: rng.int(H - h + 1), x: rng.int(W - w + 1), h, w };
    const kind = rng.int(5);
    if (kind <= 1) Object.assign(r, { kind: 'copy', src: rng.int(B), srcY: rng.int(H - h + 1), srcX: rng.int(W - w + 1) });
    else if (kind === 2) Object.assign(r, { kind: 'fill', value: rng.uniform(-3, 300) });
    else if (kind === 3) Object.assign(r, { kind: 'fill', value: 'mean' });
    else Object.assign(r, { kind: 'fill', value: 'random', seed: rng.nextUint32(), range: dtype === 'int32' ? [0, 255] : [-1, 2] });
    plan.regions.push(r as MixRegion);
  }
  // Rows tiled by copies (RICAP, patchmix: the painter skips their base), some with a tile left out
  // (partly covered), some with a whole-image region (covered with overlaps), each inserted at a
  // random place in the region order, so earlier regions are hidden and later ones paint over them.
  for (let i = 0; i < B; i++) {
    const pick = rng.int(6);
    if (pick >= 3) continue;
    const tiles: MixRegion[] = [];
    if (pick === 2) {
      tiles.push(rng.bernoulli(0.5) ? { kind: 'copy', dst: i, y: 0, x: 0, h: H, w: W, src: rng.int(B), srcY: 0, srcX: 0 }
        : { kind: 'fill', dst: i, y: 0, x: 0, h: H, w: W, value: rng.uniform(-3, 300) });
    } else {
      const cuts = (n: number) => { // 0, n and up to two cut points between
        const pts = [0, n];
        for (let c = rng.int(3); c > 0; c--) pts.push(rng.int(n + 1));
        return Array.from(new Set(pts)).sort((u, v) => u - v);
      };
      const ys = cuts(H), xs = cuts(W);
      for (let a = 0; a + 1 < ys.length; a++) for (let b = 0; b + 1 < xs.length; b++) {
        const h = ys[a + 1] - ys[a], w = xs[b + 1] - xs[b];
        tiles.push({ kind: 'copy', dst: i, y: ys[a], x: xs[b], h, w, src: rng.int(B), srcY: rng.int(H - h + 1), srcX: rng.int(W - w + 1) });
      }
      if (pick === 1 && tiles.length > 1) tiles.splice(rng.int(tiles.length), 1); // a hole: the base shows there
    }
    plan.regions.splice(rng.int(plan.regions.length + 1), 0, ...tiles);
  }
  // A tile grid (RICAP, patchmix) on some plans: it replaces the base of the rows it tiles, and the
  // regions paint over it.
  if (rng.bernoulli(0.5)) plan.tiles = randomTiles(rng, B, H, W);
  const size = B * H * W * C;
  const vals = dtype === 'int32' ? Int32Array.from({ length: size }, () => rng.int(256)) : Float32Array.from({ length: size }, () => rng.uniform(-2, 2));
  return { x: tf.tensor4d(vals, [B, H, W, C], dtype), plan };
}

/** An independent, pixel-by-pixel reading of the plan contract (random fills are left out: NaN). */
function reference(xv: ArrayLike<number>, plan: MixPlan, isInt: boolean): Float64Array {
  const [B, H, W, C] = plan.shape;
  const out = new Float64Array(B * H * W * C);
  const at = (b: number, yy: number, xx: number, c: number) => xv[((b * H + yy) * W + xx) * C + c];
  const rne = (v: number) => { const f = Math.floor(v), d = v - f; return d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1); };
  for (let b = 0; b < B; b++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++) {
    let owner: MixRegion | null = null;
    for (const r of gridCells(plan)) if (r.dst === b && yy >= r.y && yy < r.y + r.h && xx >= r.x && xx < r.x + r.w) owner = r;
    for (const r of plan.regions) if (r.dst === b && yy >= r.y && yy < r.y + r.h && xx >= r.x && xx < r.x + r.w) owner = r;
    let v: number;
    if (owner === null) {
      const k = plan.baseK, coefs = Array.from(plan.baseCoefs.subarray(b * k, b * k + k));
      if (coefs[0] === 1 && coefs.slice(1).every((q) => q === 0)) v = at(plan.baseSources[b * k], yy, xx, c);
      else {
        v = Math.fround(at(plan.baseSources[b * k], yy, xx, c) * coefs[0]);
        for (let j = 1; j < k; j++) v = Math.fround(v + Math.fround(at(plan.baseSources[b * k + j], yy, xx, c) * coefs[j]));
        if (isInt) v = rne(v);
      }
    } else if (owner.kind === 'copy') v = at(owner.src, owner.srcY + yy - owner.y, owner.srcX + xx - owner.x, c);
    else if (typeof owner.value === 'number') v = isInt ? rne(Math.fround(owner.value)) : Math.fround(owner.value);
    else if (owner.value === 'mean') {
      let s = 0;
      for (let p = 0; p < H * W; p++) s += Math.fround(xv[(b * H * W + p) * C + c] / (H * W));
      v = isInt ? rne(Math.fround(s)) : Math.fround(s);
    } else v = NaN;
    out[((b * H + yy) * W + xx) * C + c] = isInt && v === 0 ? 0 : v; // an Int32Array holds no -0
  }
  return out;
}

describe('the two painters', () => {
  for (const [dtype, kernels] of [['float32', true], ['int32', true], ['float32', false], ['int32', false]] as const) {
    it(`give bit-identical ${dtype} results on many random plans, matching the pixel-by-pixel contract (${kernels ? 'wasm kernels' : 'JavaScript loops'})`, () => {
      const before = useWasmKernels(kernels);
      try {
        fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
          const { x, plan } = randomPlan(seed, dtype);
          const a = paintArray(x, plan), t = paintTensor(x, plan);
          expect(a.dtype).toBe(dtype);
          expect(t.dtype).toBe(dtype);
          expect(a.shape).toEqual(x.shape);
          const av = a.dataSync(), tv = t.dataSync();
          const ref = reference(x.dataSync(), plan, dtype === 'int32');
          for (let n = 0; n < av.length; n++) {
            if (!Object.is(av[n], tv[n])) throw new Error(`seed ${seed}: painters differ at ${n}: ${av[n]} vs ${tv[n]}`);
            if (!Number.isNaN(ref[n]) && !Object.is(av[n], ref[n])) throw new Error(`seed ${seed}: contract broken at ${n}: ${av[n]} vs ${ref[n]}`);
          }
          tf.dispose([x, a, t]);
        }), { numRuns: 400, seed: 42 });
      } finally {
        useWasmKernels(before);
      }
    });
  }

  it('give the same bits when every row starts as its own image (CutMix-style: copies from earlier, later and the same row)', () => {
    for (const kernels of [false, true]) {
      const before = useWasmKernels(kernels);
      try {
        fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom('float32' as const, 'int32' as const), (seed, dtype) => {
          const rng = new Rng(seed);
          const B = 1 + rng.int(6), H = 1 + rng.int(8), W = 1 + rng.int(8), C = 1 + rng.int(3);
          const plan = identityPlan([B, H, W, C]);
          for (let n = rng.int(12); n > 0; n--) { // copies from earlier, later and the same row, overlapping; some fills
            const h = 1 + rng.int(H), w = 1 + rng.int(W), dst = rng.int(B);
            const at = { dst, y: rng.int(H - h + 1), x: rng.int(W - w + 1), h, w };
            if (rng.bernoulli(0.2)) plan.regions.push({ kind: 'fill', ...at, value: rng.uniform(-3, 300) });
            else plan.regions.push({ kind: 'copy', ...at, src: rng.int(B), srcY: rng.int(H - h + 1), srcX: rng.int(W - w + 1) });
          }
          if (rng.bernoulli(0.5)) plan.regions.sort((a, b) => a.dst - b.dst); // as planners order them
          const vals = Float32Array.from({ length: B * H * W * C }, () => (dtype === 'int32' ? rng.int(256) : rng.uniform(-2, 2)));
          const x = tf.tensor4d(dtype === 'int32' ? Int32Array.from(vals) : vals, [B, H, W, C], dtype);
          const a = paintArray(x, plan), t = paintTensor(x, plan);
          const av = a.dataSync(), tv = t.dataSync(), ref = reference(x.dataSync(), plan, dtype === 'int32');
          for (let n = 0; n < av.length; n++) {
            if (!Object.is(av[n], tv[n]) || !Object.is(av[n], ref[n])) throw new Error(`seed ${seed}: differs at ${n}: ${av[n]} vs ${tv[n]} / ${ref[n]}`);
          }
          expect(Array.from(x.dataSync())).toEqual(Array.from(dtype === 'int32' ? Int32Array.from(vals) : vals)); // input untouched
          tf.dispose([x, a, t]);
        }), { numRuns: 300, seed: 7 });
      } finally {
        useWasmKernels(before);
      }
    }
  });

  it('fill random values inside the range, the same on every call', () => {
    const x = tf.zeros([2, 8, 8, 3], 'int32') as tf.Tensor4D;
    const plan = identityPlan([2, 8, 8, 3]);
    plan.regions.push({ kind: 'fill', dst: 1, y: 0, x: 0, h: 8, w: 8, value: 'random', seed: 123, range: [10, 20] });
    const a = paintArray(x, plan), b = paintArray(x, plan);
    const av = Array.from(a.dataSync().subarray(192));
    expect(av.every((v) => Number.isInteger(v) && v >= 10 && v <= 20)).toBe(true);
    expect(new Set(av).size).toBe(11);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
  });

  it('leave no tensors behind and do not dispose the input', () => {
    const { x, plan } = randomPlan(5, 'float32');
    const before = tf.memory().numTensors;
    for (let n = 0; n < 50; n++) {
      tf.dispose(paintArray(x, plan));
      tf.dispose(paintTensor(x, plan));
      tf.dispose(paint(x, plan));
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  it('give the same bits on the wasm backend (the array painter painting straight into the wasm heap)', async () => {
    const cases = Array.from({ length: 40 }, (_, n) => 11 + n).map((s) => randomPlan(s, s % 2 ? 'int32' : 'float32'));
    // Mixup-style plans (row i blends i and B-1-i: the pair kernel), with awkward values and widths.
    for (let s = 0; s < 12; s++) {
      const rng = new Rng(1000 + s);
      const B = 1 + rng.int(6), H = 1 + rng.int(5), W = 1 + rng.int(9), C = 1 + rng.int(3);
      const plan = identityPlan([B, H, W, C]);
      plan.baseK = 2;
      plan.baseSources = Int32Array.from({ length: 2 * B }, (_, n) => (n % 2 === 0 ? n >> 1 : B - 1 - (n >> 1)));
      plan.baseCoefs = Float32Array.from({ length: 2 * B }, (_, n) => (rng.bernoulli(0.1) ? [0, -0, 1][rng.int(3)] : rng.uniform(-1, 2)));
      const pick = [0, -0, 1e-40, -3e38, 3e38, 7e-20];
      const vals = Float32Array.from({ length: B * H * W * C }, () => (rng.bernoulli(0.3) ? pick[rng.int(pick.length)] : rng.uniform(-4, 4)));
      cases.push({ x: tf.tensor4d(vals, [B, H, W, C]), plan });
    }
    // CutMix-style rows (one image, one copied box: the wasm kernel that writes each value once):
    // boxes from other places, full-width, one-line, one-pixel, at the edges; own or other base.
    for (let s = 0; s < 16; s++) {
      const rng = new Rng(2000 + s);
      const B = 1 + rng.int(5), H = 1 + rng.int(7), W = 1 + rng.int(9), C = 1 + rng.int(3);
      const plan = identityPlan([B, H, W, C]);
      for (let i = 0; i < B; i++) {
        if (rng.bernoulli(0.3)) plan.baseSources[i] = rng.int(B);
        if (rng.bernoulli(0.15)) continue; // no box: the base alone
        const h = 1 + rng.int(H), w = rng.bernoulli(0.2) ? W : 1 + rng.int(W);
        plan.regions.push({ kind: 'copy', dst: i, y: rng.int(H - h + 1), x: rng.int(W - w + 1), h, w, src: rng.int(B), srcY: rng.int(H - h + 1), srcX: rng.int(W - w + 1) });
      }
      const dtype = s % 2 ? 'int32' : 'float32';
      const vals = Array.from({ length: B * H * W * C }, () => (dtype === 'int32' ? rng.int(256) : rng.uniform(-4, 4)));
      cases.push({ x: tf.tensor4d(vals, [B, H, W, C], dtype), plan });
    }
    // the reference: JavaScript loops on cpu; then the wasm kernels on the wasm backend's memory
    const before = useWasmKernels(false);
    const cpu = cases.map(({ x, plan }) => { const a = paintArray(x, plan); const v = Array.from(a.dataSync()); a.dispose(); return v; });
    useWasmKernels(before);
    const inputs = cases.map(({ x }) => ({ vals: x.dataSync().slice(), shape: x.shape, dtype: x.dtype }));
    tf.dispose(cases.map((c) => c.x));
    await tf.setBackend('wasm');
    try {
      cases.forEach(({ plan }, n) => {
        const x = tf.tensor4d(inputs[n].vals, inputs[n].shape as [number, number, number, number], inputs[n].dtype as 'float32');
        const before = tf.memory().numTensors;
        const a = paintArray(x, plan);
        const t = paintTensor(x, plan);
        expect(Array.from(a.dataSync())).toEqual(cpu[n]);
        // tensor ops too, except 'mean' fills: wasm sums in float32 in its own order
        if (!plan.regions.some((r) => r.kind === 'fill' && r.value === 'mean')) expect(Array.from(t.dataSync())).toEqual(cpu[n]);
        expect(tf.memory().numTensors).toBe(before + 2);
        tf.dispose([x, a, t]);
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('lastPaintPath', () => {
  it('says the kernels ran where they should: the wasm heap, the scratch memory on cpu, JavaScript when turned off', async () => {
    const copyPlan = (shape: [number, number, number, number]) => {
      const p = identityPlan(shape);
      p.regions.push({ kind: 'copy', dst: 0, y: 0, x: 0, h: 2, w: 2, src: 1, srcY: 1, srcX: 1 });
      return p;
    };
    const fillPlan = (shape: [number, number, number, number]) => {
      const p = identityPlan(shape);
      p.regions.push({ kind: 'fill', dst: 1, y: 1, x: 1, h: 2, w: 3, value: 0 });
      return p;
    };
    const blendPlan = (shape: [number, number, number, number]) => { // Mixup's: no regions at all
      const p = identityPlan(shape), B = shape[0];
      p.baseK = 2;
      p.baseSources = Int32Array.from({ length: 2 * B }, (_, n) => (n % 2 === 0 ? n >> 1 : B - 1 - (n >> 1)));
      p.baseCoefs = Float32Array.from({ length: 2 * B }, (_, n) => (n % 2 === 0 ? 0.3 : 0.7));
      return p;
    };
    const tilePlan = (shape: [number, number, number, number]) => {
      const p = identityPlan(shape);
      p.tiles = randomTiles(new Rng(2), shape[0], shape[1], shape[2]);
      return p;
    };
    await onCpuAndWasm((backend) => {
      const cases: [[number, number, number, number], (s: [number, number, number, number]) => MixPlan, string][] = [
        [[3, 4, 30, 3], copyPlan, 'js'], // lines of 90 values: boxes by set on cpu
        [[3, 4, 10, 1], copyPlan, 'scratch'], // lines under 64 values: the kernels in scratch memory
        [[3, 4, 30, 3], fillPlan, 'js'],
        [[3, 5, 6, 2], tilePlan, 'scratch'],
        [[4, 3, 30, 3], blendPlan, 'scratch'], // float blends: the SIMD kernels in scratch memory
      ];
      for (const [shape, make, onCpu] of cases) {
        const x = tf.randomUniform(shape) as tf.Tensor4D;
        const plan = make(shape);
        paintArray(x, plan).dispose();
        expect([backend, lastPaintPath()]).toEqual([backend, backend === 'wasm' ? 'heap' : onCpu]);
        const was = useWasmKernels(false);
        try {
          paintArray(x, plan).dispose();
          expect(lastPaintPath()).toBe('js');
        } finally { useWasmKernels(was); }
        x.dispose();
      }
    });
  });
});

describe('useWasmKernels', () => {
  it('returns the previous setting and rejects a non-boolean', () => {
    const before = useWasmKernels(false);
    expect(useWasmKernels(before)).toBe(false);
    expect(() => useWasmKernels('no' as unknown as boolean)).toThrow('useWasmKernels: on must be true or false, got "no"');
  });
});

describe('plans of own rows with copies and constant fills (CutMix, Cutout: painted in plan order, whole)', () => {
  it('match the pixel-by-pixel contract with overlapping regions, on cpu and wasm, kernels on and off', async () => {
    await onCpuAndWasm((backend) => {
      for (let seed = 0; seed < 60; seed++) {
        const rng = new Rng(500 + seed), dtype = seed % 3 === 0 ? 'int32' : 'float32';
        const B = 1 + rng.int(5), H = 1 + rng.int(8), W = 1 + rng.int(30), C = 1 + rng.int(3);
        const plan = identityPlan([B, H, W, C]);
        for (let n = rng.int(9); n > 0; n--) {
          const h = rng.int(H + 1), w = rng.bernoulli(0.2) ? W : rng.int(W + 1);
          const r = { dst: rng.int(B), y: rng.int(H - h + 1), x: rng.int(W - w + 1), h, w };
          plan.regions.push(rng.bernoulli(0.6)
            ? { kind: 'copy', ...r, src: rng.int(B), srcY: rng.int(H - h + 1), srcX: rng.int(W - w + 1) }
            : { kind: 'fill', ...r, value: rng.uniform(-3, 300) });
        }
        const vals = dtype === 'int32' ? Int32Array.from({ length: B * H * W * C }, () => rng.int(256)) : Float32Array.from({ length: B * H * W * C }, () => rng.uniform(-2, 2));
        const x = tf.tensor4d(vals, [B, H, W, C], dtype);
        const ref = reference(vals, plan, dtype === 'int32');
        for (const kernels of [true, false]) {
          const before = useWasmKernels(kernels);
          try {
            const out = paintArray(x, plan), v = out.dataSync();
            for (let n = 0; n < v.length; n++) if (!Object.is(v[n], ref[n])) throw new Error(`${backend} seed ${seed} kernels ${kernels}: ${v[n]} vs ${ref[n]} at ${n}`);
            out.dispose();
          } finally { useWasmKernels(before); }
        }
        x.dispose();
      }
    });
  });
});

describe('tile grids', () => {
  it('tileRegions lists the cells of the tiled rows as copy regions, row-major, without empty cells', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const rng = new Rng(seed);
      const B = 1 + rng.int(4), H = 1 + rng.int(7), W = 1 + rng.int(7);
      const plan = identityPlan([B, H, W, 1]);
      plan.tiles = randomTiles(rng, B, H, W);
      expect(tileRegions(plan)).toEqual(gridCells(plan));
    }), { numRuns: 200, seed: 7 });
    expect(tileRegions(identityPlan([2, 3, 3, 1]))).toEqual([]);
  });

  it('paint the cells straight from their sources, on wasm too, with regions on top', async () => {
    // x[b, y, x] = its own flat index: each output value names the input pixel it came from.
    const B = 5, H = 9, W = 11, C = 2, n = B * H * W * C;
    const x = tf.tensor4d(Float32Array.from({ length: n }, (_, v) => v), [B, H, W, C]);
    const plan = identityPlan([B, H, W, C]);
    plan.tiles = randomTiles(new Rng(3), B, H, W);
    plan.tiles.tiled.fill(1);
    plan.regions.push({ kind: 'fill', dst: 1, y: 2, x: 3, h: 2, w: 2, value: -1 });
    const want = new Float32Array(n);
    for (let b = 0; b < B; b++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++) {
      const cell = gridCells(plan).find((r) => r.dst === b && yy >= r.y && yy < r.y + r.h && xx >= r.x && xx < r.x + r.w)!;
      const inFill = b === 1 && yy >= 2 && yy < 4 && xx >= 3 && xx < 5;
      want[((b * H + yy) * W + xx) * C + c] = inFill ? -1 : (((cell.src * H + cell.srcY + yy - cell.y) * W + cell.srcX + xx - cell.x) * C + c);
    }
    await onCpuAndWasm(() => {
      const xb = tf.tensor4d(x.dataSync(), x.shape);
      const numTensors = tf.memory().numTensors;
      for (const kernels of [true, false]) {
        const was = useWasmKernels(kernels);
        try {
          const out = paintArray(xb, plan);
          expect(Array.from(out.dataSync())).toEqual(Array.from(want));
          out.dispose();
        } finally { useWasmKernels(was); }
      }
      const t = paintTensor(xb, plan);
      expect(Array.from(t.dataSync())).toEqual(Array.from(want));
      t.dispose();
      expect(tf.memory().numTensors).toBe(numTensors);
      xb.dispose();
    });
    x.dispose();
  });

  it('validatePlan names a bad grid: sizes that do not add up, a crop outside its source, short arrays', () => {
    const base = () => { const p = identityPlan([2, 4, 4, 1]); p.tiles = randomTiles(new Rng(1), 2, 4, 4); p.tiles.tiled.fill(1); return p; };
    let p = base();
    p.tiles!.heights[0] += 1;
    expect(() => validatePlan(p, 'ricap')).toThrow(/ricap: plan.tiles.heights of row 0 must sum to H = 4, got 5/);
    p = base();
    p.tiles!.widths[p.tiles!.cols] = -1;
    expect(() => validatePlan(p, 'ricap')).toThrow(/plan.tiles.widths\[\d+\] must be >= 0, got -1/);
    p = base();
    p.tiles!.srcX[0] = 4;
    expect(() => validatePlan(p, 'ricap')).toThrow(/plan.tiles cell 0 must crop \d+x\d+ from inside image 0..1 of 4x4/);
    p = base();
    p.tiles!.src = new Int32Array(1);
    expect(() => validatePlan(p, 'ricap')).toThrow(/plan.tiles.src must hold \d+ entries, got 1/);
    p = base();
    p.tiles!.tiled[1] = 2;
    expect(() => validatePlan(p, 'ricap')).toThrow(/plan.tiles.tiled\[1\] must be 0 or 1, got 2/);
    p = base();
    p.tiles!.tiled.fill(0);
    p.tiles!.srcX[0] = 99; // rows that are not tiled ignore the grid
    expect(() => validatePlan(p, 'ricap')).not.toThrow();
  });
});

describe('finishMix with a trusted plan', () => {
  it('skips the plan check, yet leaves no tensor behind when painting fails (cpu and wasm)', async () => {
    await onCpuAndWasm(() => {
      const x = tf.zeros([2, 3, 3, 1]) as tf.Tensor4D, y = tf.tensor1d([0, 1], 'int32');
      const o = resolveMixOptions('demo', { numClasses: 2, seed: 0 });
      const plan = identityPlan([2, 3, 3, 1]);
      // a 'random' fill without its range: validatePlan rejects it; trusted, the painter fails on it
      plan.regions.push({ kind: 'fill', dst: 0, y: 0, x: 0, h: 2, w: 2, value: 'random', seed: 1 });
      expect(() => finishMix({ x, y }, plan, 'demo', o)).toThrow(/paintArray: plan.regions\[0\].range must be/);
      const before = tf.memory().numTensors;
      expect(() => finishMix({ x, y }, plan, 'demo', o, { trusted: true })).toThrow(TypeError);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
    });
  });
});

describe('validatePlan', () => {
  it('names a region that leaves the image', () => {
    const plan = identityPlan([2, 4, 4, 1]);
    plan.regions.push({ kind: 'copy', dst: 0, y: 3, x: 0, h: 2, w: 2, src: 1, srcY: 0, srcX: 0 });
    expect(() => validatePlan(plan, 'ricap')).toThrow(/^ricap: plan.regions\[0\] must lie inside row 0..1 of a 4x4 image, got/);
  });
  it('names a copy source outside the batch', () => {
    const plan = identityPlan([2, 4, 4, 1]);
    plan.regions.push({ kind: 'copy', dst: 0, y: 0, x: 0, h: 2, w: 2, src: 2, srcY: 0, srcX: 0 });
    expect(() => validatePlan(plan)).toThrow(/paint: plan.regions\[0\] must copy from inside image 0..1 of 4x4/);
  });
  it('rejects label weights that do not sum to 1', () => {
    const plan = identityPlan([2, 4, 4, 1]);
    plan.weights[1] = 0.5;
    expect(() => validatePlan(plan, 'demo')).toThrow('demo: plan.weights of row 1 must sum to 1, got 0.5');
  });
  it('is called by paint when the plan does not match x', () => {
    const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    expect(() => paint(x, identityPlan([2, 4, 5, 1]))).toThrow('paintArray: plan.shape must equal x.shape [2,4,4,1], got [2,4,5,1]');
    x.dispose();
  });
});

describe('box geometry', () => {
  it('randBox stays inside the image and covers at most 1 - lam of it', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (H, W, lam, seed) => {
      const b = randBox(new Rng(seed), H, W, lam);
      expect(b.y >= 0 && b.x >= 0 && b.h >= 0 && b.w >= 0 && b.y + b.h <= H && b.x + b.w <= W).toBe(true);
      expect(b.h * b.w).toBeLessThanOrEqual((1 - lam) * H * W + 1e-9);
      expect(boxLambda(b, H, W)).toBeCloseTo(1 - (b.h * b.w) / (H * W), 12);
    }));
  });
  it('randBox gives the full-size box when its centre allows it', () => {
    const b = randBox(new Rng(3), 100, 100, 0.75); // sides 50 x 50
    const unclipped = b.h === 50 && b.w === 50;
    expect(b.h <= 50 && b.w <= 50).toBe(true);
    expect(unclipped || b.y === 0 || b.x === 0 || b.y + b.h === 100 || b.x + b.w === 100).toBe(true);
  });
  it('randBoxMinMax draws sides within [lo, hi) of the image and stays inside', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 2, max: 64 }), fc.integer(), (H, W, seed) => {
      const b = randBoxMinMax(new Rng(seed), H, W, [0.25, 0.75]);
      expect(b.h).toBeGreaterThanOrEqual(Math.floor(H * 0.25));
      expect(b.h).toBeLessThanOrEqual(Math.max(Math.floor(H * 0.25), Math.floor(H * 0.75) - 1));
      expect(b.y + b.h <= H && b.x + b.w <= W && b.y >= 0 && b.x >= 0).toBe(true);
    }));
  });
});

describe('drawLambdas', () => {
  it('draws one λ per batch, per pair or per element, and never mixes the middle row of an odd batch', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 17 }), fc.constantFrom('batch', 'pair', 'elem'), fc.integer(), (B, mode, seed) => {
      const rng = new Rng(seed);
      const { lam, applied } = drawLambdas(rng, B, 1, mode as 'batch', () => rng.uniform(0.01, 0.99));
      for (let i = 0; i < B; i++) {
        const j = B - 1 - i;
        if (i === j) { expect(applied[i]).toBe(0); expect(lam[i]).toBe(1); continue; }
        expect(applied[i]).toBe(1);
        if (mode !== 'elem') expect(lam[i]).toBe(lam[j]);
        if (mode === 'batch') expect(lam[i]).toBe(lam[0]);
      }
      if (mode === 'elem' && B >= 4) expect(lam[0]).not.toBe(lam[B - 1]);
    }));
  });
  it('numbers the draws: unit[i] says which draw row i uses, -1 when not mixed', () => {
    const rng = new Rng(4);
    const pair = drawLambdas(rng, 5, 1, 'pair', () => 0.5);
    expect(Array.from(pair.unit)).toEqual([0, 1, -1, 1, 0]);
    const self = drawLambdas(rng, 5, 1, 'pair', () => 0.5, { allowSelf: true });
    expect(Array.from(self.unit)).toEqual([0, 1, 2, 1, 0]);
    expect(Array.from(drawLambdas(rng, 3, 1, 'elem', () => 0.5, { allowSelf: true }).unit)).toEqual([0, 1, 2]);
    expect(Array.from(drawLambdas(rng, 3, 1, 'batch', () => 0.5).unit)).toEqual([0, -1, 0]);
  });
  it('applies nothing with prob 0', () => {
    const rng = new Rng(1);
    for (const mode of ['batch', 'pair', 'elem'] as const) {
      const { lam, applied } = drawLambdas(rng, 8, 0, mode, () => 0.5);
      expect(Array.from(applied)).toEqual(new Array(8).fill(0));
      expect(Array.from(lam)).toEqual(new Array(8).fill(1));
    }
  });
  it('applies per element with probability prob', () => {
    const rng = new Rng(2);
    const { applied } = drawLambdas(rng, 10000, 0.3, 'elem', () => 0.5);
    const rate = applied.reduce((a, b) => a + b, 0) / 10000;
    expect(Math.abs(rate - 0.3)).toBeLessThan(0.03);
  });
});

/** B random integer labels below C, and the same as one-hot soft labels (B·C values). */
function randomLabels(rng: Rng, B: number, C: number): { labels: Int32Array; soft: Float32Array } {
  const labels = Int32Array.from({ length: B }, () => rng.int(C));
  const soft = new Float32Array(B * C);
  labels.forEach((l, i) => { soft[i * C + l] = 1; });
  return { labels, soft };
}

describe('mixLabels', () => {
  it('gives the weighted sum of the sources\' labels', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (B, k, C, seed) => {
      const rng = new Rng(seed);
      const { labels, soft } = randomLabels(rng, B, C);
      const sources = Int32Array.from({ length: B * k }, () => rng.int(B));
      const weights = Float32Array.from({ length: B * k }, () => rng.next());
      const y = mixLabels(soft, C, sources, weights, k);
      for (let i = 0; i < B; i++) for (let c = 0; c < C; c++) {
        let want = 0;
        for (let j = 0; j < k; j++) if (labels[sources[i * k + j]] === c) want += weights[i * k + j];
        expect(y[i * C + c]).toBeCloseTo(want, 5);
      }
    }));
  });

  it('gives the same bits through finishMix for integer labels (the one-hot shortcut) as on one-hot soft labels', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (B, k, C, seed) => {
      const rng = new Rng(seed);
      const { labels, soft } = randomLabels(rng, B, C);
      const plan = identityPlan([B, 2, 2, 1]);
      plan.k = k;
      plan.sources = Int32Array.from({ length: B * k }, () => rng.int(B));
      plan.weights = new Float32Array(B * k);
      for (let i = 0; i < B; i++) { // weights >= 0 summing to 1, some exactly 0, some repeated sources
        const raw = Array.from({ length: k }, () => (rng.bernoulli(0.2) ? 0 : rng.next()));
        if (raw.every((v) => v === 0)) raw[0] = 1;
        const sum = raw.reduce((a, b) => a + b, 0);
        raw.forEach((v, j) => { plan.weights[i * k + j] = v / sum; });
      }
      const x = tf.zeros([B, 2, 2, 1]) as tf.Tensor4D, y = tf.tensor1d(labels, 'int32');
      const out = finishMix({ x, y }, plan, 'test', resolveMixOptions('test', { numClasses: C }));
      const want = mixLabels(soft, C, plan.sources, plan.weights, k);
      const got = out.y.dataSync();
      for (let n = 0; n < want.length; n++) if (!Object.is(got[n], want[n])) throw new Error(`seed ${seed}: differs at ${n}: ${got[n]} vs ${want[n]}`);
      tf.dispose([x, y, out.x, out.y]);
    }), { numRuns: 300 });
  });
});

describe('option and batch checks', () => {
  let x: tf.Tensor4D, y: tf.Tensor1D;
  beforeAll(() => { x = tf.zeros([4, 8, 8, 3]); y = tf.tensor1d([0, 1, 2, 3], 'int32'); });
  afterAll(() => tf.dispose([x, y]));

  it.each([
    [{ alpha: -1 }, 'cutmix: alpha must be a finite number > 0, got -1'],
    [{ alpha: 0 }, 'cutmix: alpha must be a finite number > 0, got 0'],
    [{ alpha: NaN }, 'cutmix: alpha must be a finite number > 0, got NaN'],
    [{ prob: 1.5 }, 'cutmix: prob must be in [0, 1], got 1.5'],
    [{ prob: NaN }, 'cutmix: prob must be in [0, 1], got NaN'],
    [{ mode: 'pairs' }, 'cutmix: mode must be one of "batch" | "pair" | "elem", got "pairs"'],
    [{ seed: NaN }, 'cutmix: seed must be a finite number or an Rng, got NaN'],
    [{ numClasses: 2.5 }, 'cutmix: numClasses must be an integer >= 1, got 2.5'],
    [{ labelSmoothing: -0.1 }, 'cutmix: labelSmoothing must be in [0, 1], got -0.1'],
    [{ training: 'yes' }, 'cutmix: training must be true or false, got "yes"'],
    [{ painter: 'gpu' }, 'cutmix: painter must be one of "auto" | "array" | "tensor", got "gpu"'],
    [{ alfa: 1 }, 'cutmix: option "alfa" is unknown; known options: alpha, prob, mode, seed, numClasses, labelSmoothing, training, painter, minMax, got 1'],
  ])('rejects %j with a clear message', (opts, msg) => {
    expect(() => resolveMixOptions('cutmix', opts, ['minMax'])).toThrow(msg);
  });

  it('fills in the defaults', () => {
    const o = resolveMixOptions('mixup', {});
    expect([o.alpha, o.prob, o.mode, o.labelSmoothing, o.training, o.painter]).toEqual([1, 1, 'batch', 0, true, 'auto']);
  });

  it.each([
    [() => ({ x: tf.zeros([4, 8, 8]), y }), 'mixup: x must have rank 4, got "rank 3 (shape [4,8,8])"'],
    [() => ({ x: tf.zeros([4, 8, 8, 3], 'bool'), y }), 'mixup: x must have dtype float32 or int32, got "bool"'],
    [() => ({ x: tf.zeros([0, 8, 8, 3]), y: tf.zeros([0], 'int32') }), 'mixup: x must not be an empty batch, got "shape [0,8,8,3]"'],
    [() => ({ x: tf.zeros([2, 0, 8, 3]), y: tf.zeros([2], 'int32') }), 'mixup: x must not be empty, got "shape [2,0,8,3]"'],
    [() => ({ x, y: tf.zeros([3], 'int32') }), 'mixup: y must have the batch size of x: 3 != 4, got "shape [3]"'],
    [() => ({ x, y: tf.zeros([4, 2, 2]) }), 'mixup: y must have rank 1 or 2, got "rank 3 (shape [4,2,2])"'],
    [() => ({ x: [1, 2], y }), 'mixup: x must be a tf.Tensor, got [1,2]'],
    [() => null, 'mixup: batch must be an object {x, y}, got null'],
  ])('rejects a bad batch (%#) with a clear message', (make, msg) => {
    const batch = make() as any;
    expect(() => checkBatch(batch, 'mixup')).toThrow(msg);
    if (batch) for (const t of [batch.x, batch.y]) if (t instanceof tf.Tensor && t !== x && t !== y) t.dispose();
  });
});
