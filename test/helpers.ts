// Helpers shared by the image-method tests. Independent of the painters they check.
import * as tf from '@tensorflow/tfjs';
import { CopyRegion, MixPlan } from '../lib/plan';

export type Shape = [number, number, number, number];

/** Images whose every value is its own flat index (exact in float32 and int32 for these sizes). */
export function addressImages(shape: Shape, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => i) : Float32Array.from({ length: n }, (_, i) => i);
  return tf.tensor4d(v, shape, dtype);
}

/**
 * A plan's tile grid read independently of the library: every cell with area of every tiled row,
 * as a copy region (row by row, cell by cell), by summing the cell sizes.
 */
export function gridCells(plan: MixPlan): CopyRegion[] {
  const t = plan.tiles, cells: CopyRegion[] = [];
  if (!t) return cells;
  const k = t.rows * t.cols;
  for (let i = 0; i < plan.shape[0]; i++) {
    if (t.tiled[i] !== 1) continue;
    for (let r = 0; r < t.rows; r++) {
      let y = 0;
      for (let q = 0; q < r; q++) y += t.heights[i * t.rows + q];
      for (let c = 0; c < t.cols; c++) {
        let x = 0;
        for (let q = 0; q < c; q++) x += t.widths[i * t.cols + q];
        const h = t.heights[i * t.rows + r], w = t.widths[i * t.cols + c], n = i * k + r * t.cols + c;
        if (h > 0 && w > 0) cells.push({ kind: 'copy', dst: i, y, x, h, w, src: t.src[n], srcY: t.srcY[n], srcX: t.srcX[n] });
      }
    }
  }
  return cells;
}

/** An independent reading of a copy-region plan: for each output pixel, the last region (grid cells first) covering it, else the row itself. */
export function naivePaint(x: ArrayLike<number>, plan: MixPlan): Float64Array {
  const [B, H, W, C] = plan.shape;
  const out = new Float64Array(B * H * W * C);
  const copies = [...gridCells(plan), ...(plan.regions as CopyRegion[])]; // grid cells first, then regions
  for (let b = 0; b < B; b++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
    let src = b, sy = yy, sx = xx;
    for (const r of copies) {
      if (r.dst === b && yy >= r.y && yy < r.y + r.h && xx >= r.x && xx < r.x + r.w) {
        src = r.src; sy = r.srcY + yy - r.y; sx = r.srcX + xx - r.x;
      }
    }
    for (let c = 0; c < C; c++) out[((b * H + yy) * W + xx) * C + c] = x[((src * H + sy) * W + sx) * C + c];
  }
  return out;
}

/** Expects two method results to agree bit for bit: images, labels and weights. */
export function expectSameMixed(a: { x: tf.Tensor; y: tf.Tensor; weights: Float32Array }, b: { x: tf.Tensor; y: tf.Tensor; weights: Float32Array }): void {
  expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
  expect(Array.from(b.y.dataSync())).toEqual(Array.from(a.y.dataSync()));
  expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
}

/** Runs `f` on the cpu backend, then on wasm, and restores the backend that was set. */
export async function onCpuAndWasm(f: (backend: string) => void | Promise<void>): Promise<void> {
  const was = tf.getBackend();
  try {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      await f(backend);
    }
  } finally {
    await tf.setBackend(was);
  }
}
