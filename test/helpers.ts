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

/** An independent reading of a copy-region plan: for each output pixel, the last region covering it, else the row itself. */
export function naivePaint(x: ArrayLike<number>, plan: MixPlan): Float64Array {
  const [B, H, W, C] = plan.shape;
  const out = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
    let src = b, sy = yy, sx = xx;
    for (const r of plan.regions as CopyRegion[]) {
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
